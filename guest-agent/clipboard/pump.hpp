#pragma once
// Moves clipboard text between the region's two clipboard channels and a
// backend, on its own thread (a slow X client never delays capture): the
// backend's copies are offered with their data held here; the host's text
// offers are fetched at once.

#include <cstdint>
#include <memory>
#include <thread>

#include "clipboard/backend.hpp"
#include "porthole/protocol/clipboard_channel.hpp"

namespace porthole::agent::clipboard {

class ClipboardPump {
  public:
    // Starts the thread; `from_host` and `to_host` must outlive the pump.
    ClipboardPump(std::unique_ptr<ClipboardBackend> backend, protocol::ClipboardReader& from_host,
                  protocol::ClipboardWriter& to_host);
    ~ClipboardPump();  // stops and joins the thread
    ClipboardPump(const ClipboardPump&) = delete;
    ClipboardPump& operator=(const ClipboardPump&) = delete;

  private:
    void run(const std::stop_token& stop);
    std::unique_ptr<ClipboardBackend> backend_;
    // The host's data is read up to this (the host refuses more than its own limit anyway).
    static constexpr std::uint64_t kMaxFromHost = std::uint64_t{16} << 20;
    protocol::ClipboardEndpoint endpoint_;
    std::jthread thread_;
};

}  // namespace porthole::agent::clipboard
