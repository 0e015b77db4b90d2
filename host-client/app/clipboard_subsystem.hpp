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
    void main_thread_round(std::uint64_t now_ns) override { desktop_->serve_main_thread(now_ns); }

  private:
    ClipboardSubsystem(clipboard::ClipboardSync sync,
                       std::unique_ptr<clipboard::DesktopClipboard> desktop,
                       std::uint64_t max_image)
        : sync_(std::move(sync)), desktop_(std::move(desktop)), max_image_(max_image) {}
    void images(std::uint64_t now_ns);
    // One line per refusal, at most one every 5 s (a hostile guest can offer fast).
    void refuse(const std::string& why, std::uint64_t now_ns);
    clipboard::ClipboardSync sync_;
    std::unique_ptr<clipboard::DesktopClipboard> desktop_;  // never null
    // Writes clipboard_to_guest, reads (and checks) clipboard_to_host.
    std::optional<protocol::ClipboardEndpoint> endpoint_;
    std::optional<clipboard::DesktopCopy> pending_;  // the desktop's copy waiting for a session
    std::uint64_t max_image_;
    // The guest's offer last taken: its serial, and whether it has an image.
    std::uint64_t guest_serial_ = 0;
    bool guest_png_ = false;
    bool png_wanted_ = false;                      // a desktop paste waits for the guest's image
    bool fetching_png_ = false;                    // ... asked for from the guest
    std::optional<std::uint32_t> guest_asks_png_;  // the guest's request for the desktop's image
    std::optional<std::string> desktop_png_;       // ... once read (for the offer under way)
    std::uint64_t next_refusal_log_ns_ = 0;
    std::uint64_t refusals_unsaid_ = 0;
};

}  // namespace porthole::client
