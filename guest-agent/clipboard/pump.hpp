#pragma once
// Moves clipboard text between the region's two clipboard channels and a
// backend, on its own thread (a slow X client never delays capture): the
// backend's copies are offered with their data held here; the host's text
// offers are fetched at once, its images when a program here pastes them.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "clipboard/backend.hpp"
#include "porthole/protocol/clipboard_channel.hpp"

namespace porthole::agent::clipboard {

class ClipboardPump {
  public:
    // Starts the thread; `from_host` and `to_host` must outlive the pump.
    // `render_timeout` bounds a paste that waits for the host's image.
    ClipboardPump(std::unique_ptr<ClipboardBackend> backend, protocol::ClipboardReader& from_host,
                  protocol::ClipboardWriter& to_host,
                  std::chrono::milliseconds render_timeout = kRenderTimeout);
    ~ClipboardPump();  // stops and joins the thread
    ClipboardPump(const ClipboardPump&) = delete;
    ClipboardPump& operator=(const ClipboardPump&) = delete;

    // As long as SPICE's Windows agent waits for its client (VD_CLIPBOARD_TIMEOUT_MS).
    static constexpr std::chrono::milliseconds kRenderTimeout{3000};

  private:
    void run(const std::stop_token& stop);
    void handle(protocol::ClipboardEvents& ev);
    // Delayed rendering: the host's image now, stepping the channel until it
    // completes or render_timeout_ passes (events seen meanwhile are deferred).
    std::optional<std::string> fetch_png_now();
    std::unique_ptr<ClipboardBackend> backend_;
    std::chrono::milliseconds render_timeout_;
    std::vector<protocol::ClipboardEvents> deferred_;
    std::uint64_t host_serial_ = 0;
    bool host_png_ = false;        // the host's offer has an image
    bool png_wanted_ = false;      // a paste here waits for it (x11)
    bool fetching_ = false;        // ... asked for from the host
    std::uint32_t host_asks_ = 0;  // the host's request for our image (ids are never 0)
    // The host's data is read up to this (the host refuses more than its own limit anyway).
    static constexpr std::uint64_t kMaxFromHost = std::uint64_t{16} << 20;
    protocol::ClipboardEndpoint endpoint_;
    std::jthread thread_;
};

}  // namespace porthole::agent::clipboard
