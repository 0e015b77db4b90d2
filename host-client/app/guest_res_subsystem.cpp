#include "app/guest_res_subsystem.hpp"

#include <spdlog/spdlog.h>

#include "porthole/protocol/guest_res.hpp"

namespace porthole::client {

std::optional<PixelSize> ResizeSettle::update(PixelSize size, std::uint64_t now_ns) {
    if (size != seen_) {
        seen_ = size;
        seen_since_ns_ = now_ns;
    }
    if (size.first == 0 || size.second == 0) return std::nullopt;
    if (!resend_ && (now_ns - seen_since_ns_ < settle_ns_ || size == sent_)) return std::nullopt;
    resend_ = false;
    sent_ = size;
    return size;
}

GuestResSubsystem::GuestResSubsystem(std::span<std::byte> region, std::function<PixelSize()> size)
    : region_(region), size_(std::move(size)) {}

void GuestResSubsystem::attach(protocol::HostChannels&, const protocol::HostSession& session) {
    attached_ = true;
    settle_.resend();
    if ((session.agent_capabilities() & protocol::cap::guest_res) == 0)
        spdlog::info(
            "guest resolution: this agent does not set display modes (porthole-agent "
            "--guest-res, and a display that offers modes)");
}

bool GuestResSubsystem::tick(std::uint64_t now_ns) {
    if (!attached_) return false;
    const auto want = settle_.update(size_(), now_ns);
    if (!want) return false;
    const auto [w, h] = *want;
    if (w > protocol::kMaxGuestResDimension || h > protocol::kMaxGuestResDimension) return false;
    protocol::write_guest_res_request(region_, ++serial_, w, h);
    spdlog::info("guest resolution: asking for {}x{}", w, h);
    return true;
}

}  // namespace porthole::client
