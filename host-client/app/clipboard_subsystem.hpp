#pragma once
// The client's clipboard: the desktop's text offered to the guest through the
// host->guest channel (its data sent when the guest asks), the guest's
// offered text fetched (bounded by the limit), checked and put on the desktop.

#include <cstdint>
#include <memory>
#include <optional>

#include "app/options.hpp"
#include "app/subsystem.hpp"
#include "clipboard/desktop.hpp"
#include "clipboard/sync.hpp"

namespace porthole::client {

class ClipboardSubsystem final : public SessionSubsystem {
  public:
    // Null when --clipboard off, or (with a warning) when there is no window.
    static std::unique_ptr<ClipboardSubsystem> create(const Options& o);

    void attach(protocol::HostChannels& channels, const protocol::HostSession& session) override;
    void detach() override;
    bool tick(std::uint64_t now_ns) override;

  private:
    ClipboardSubsystem(clipboard::ClipboardSync sync,
                       std::unique_ptr<clipboard::DesktopClipboard> desktop)
        : sync_(std::move(sync)), desktop_(std::move(desktop)) {}
    // One line per refusal, at most one every 5 s (a hostile guest can offer fast).
    void refuse(const std::string& why, std::uint64_t now_ns);
    clipboard::ClipboardSync sync_;
    std::unique_ptr<clipboard::DesktopClipboard> desktop_;  // never null
    // Writes clipboard_to_guest, reads (and checks) clipboard_to_host.
    std::optional<protocol::ClipboardEndpoint> endpoint_;
    std::optional<std::string> pending_;  // the desktop's text waiting for a session
    std::uint64_t next_refusal_log_ns_ = 0;
    std::uint64_t refusals_unsaid_ = 0;
};

}  // namespace porthole::client
