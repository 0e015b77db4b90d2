#include "clipboard/pump.hpp"

#include <spdlog/spdlog.h>

namespace porthole::agent::clipboard {

ClipboardPump::ClipboardPump(std::unique_ptr<ClipboardBackend> backend,
                             protocol::ClipboardReader& from_host,
                             protocol::ClipboardWriter& to_host)
    : backend_(std::move(backend)), from_host_(from_host), to_host_(to_host) {
    thread_ = std::jthread([this](const std::stop_token& stop) { run(stop); });
}

ClipboardPump::~ClipboardPump() {
    thread_.request_stop();
    if (thread_.joinable()) thread_.join();
}

void ClipboardPump::run(const std::stop_token& stop) {
    while (!stop.stop_requested()) {
        if (auto in = from_host_.poll(); !in) {
            spdlog::warn("clipboard: bad text from the host: {}", in.error().message);
        } else if (*in) {
            if (auto ok = backend_->set_text(std::move(**in)); !ok)
                spdlog::warn("clipboard: {}", ok.error().message);
        }
        // The backend never reports the text it was given: no echo from here.
        if (auto copied = backend_->wait(std::chrono::milliseconds(20))) {
            if (auto ok = to_host_.publish(*copied); !ok)
                spdlog::warn("clipboard: not offered to the host: {}", ok.error().message);
        }
    }
}

}  // namespace porthole::agent::clipboard
