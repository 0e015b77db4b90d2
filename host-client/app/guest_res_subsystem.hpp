#pragma once
// --set-guest-res (Looking Glass's win:setGuestRes): the guest's resolution
// follows the window. The window's drawable size in pixels goes to the agent
// (GuestResRequest in the region) on every new session and after a resize
// has settled, so that dragging a window edge does not switch the guest's
// mode dozens of times; the agent picks the closest mode its display offers.

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <utility>

#include "app/subsystem.hpp"

namespace porthole::client {

using PixelSize = std::pair<std::uint32_t, std::uint32_t>;

// When a size is worth sending: once it has held for `settle_ns` and differs
// from the last one sent; right away after resend() (a new agent session).
class ResizeSettle {
  public:
    explicit ResizeSettle(std::uint64_t settle_ns) : settle_ns_(settle_ns) {}
    std::optional<PixelSize> update(PixelSize size, std::uint64_t now_ns);
    void resend() { resend_ = true; }

  private:
    std::uint64_t settle_ns_;
    PixelSize seen_{0, 0};
    std::uint64_t seen_since_ns_ = 0;
    std::optional<PixelSize> sent_;
    bool resend_ = false;
};

inline constexpr std::uint64_t kGuestResSettleNs = 250'000'000;

class GuestResSubsystem final : public SessionSubsystem {
  public:
    // `size`: the window's drawable size in pixels now ({0, 0}: none, e.g. minimised).
    GuestResSubsystem(std::span<std::byte> region, std::function<PixelSize()> size);
    void attach(protocol::HostChannels& channels, const protocol::HostSession& session) override;
    void detach() override { attached_ = false; }
    bool tick(std::uint64_t now_ns) override;

  private:
    std::span<std::byte> region_;
    std::function<PixelSize()> size_;
    ResizeSettle settle_{kGuestResSettleNs};
    bool attached_ = false;
    std::uint64_t serial_ = 0;
};

}  // namespace porthole::client
