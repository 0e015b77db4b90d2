#include "clipboard/pump.hpp"

#include <spdlog/spdlog.h>

namespace porthole::agent::clipboard {

ClipboardPump::ClipboardPump(std::unique_ptr<ClipboardBackend> backend,
                             protocol::ClipboardReader& from_host,
                             protocol::ClipboardWriter& to_host)
    : backend_(std::move(backend)), endpoint_(to_host, from_host) {
    thread_ = std::jthread([this](const std::stop_token& stop) { run(stop); });
}

ClipboardPump::~ClipboardPump() {
    thread_.request_stop();
    if (thread_.joinable()) thread_.join();
}

void ClipboardPump::run(const std::stop_token& stop) {
    using protocol::ClipboardMime;
    while (!stop.stop_requested()) {
        auto ev = endpoint_.step();
        for (const auto& e : ev.errors)
            spdlog::warn("clipboard: from the host: {}", e);
        if (ev.offer) {
            // The host's text is fetched at once (the backend owns text only).
            if (ev.offer->find(ClipboardMime::text_utf8) != nullptr) {
                if (auto ok =
                        endpoint_.request(ev.offer->serial, ClipboardMime::text_utf8, kMaxFromHost);
                    !ok)
                    spdlog::warn("clipboard: {}", ok.error().message);
            }
        }
        if (ev.request) endpoint_.refuse(ev.request->id);  // offers here always hold their data
        if (ev.request_failed) spdlog::warn("clipboard: {}", *ev.request_failed);
        if (ev.received && ev.received->mime == ClipboardMime::text_utf8) {
            if (auto ok = backend_->set_text(std::move(ev.received->bytes)); !ok)
                spdlog::warn("clipboard: {}", ok.error().message);
        }
        // The backend never reports the text it was given: no echo from here.
        // While a transfer is under way it is served without a long wait.
        const auto wait = ev.active || endpoint_.requesting() ? std::chrono::milliseconds(1)
                                                              : std::chrono::milliseconds(20);
        if (auto copied = backend_->wait(wait)) {
            std::vector<protocol::ClipboardEndpoint::Format> formats;
            formats.push_back({ClipboardMime::text_utf8, copied->size(), std::move(*copied)});
            if (auto ok = endpoint_.offer(std::move(formats)); !ok)
                spdlog::warn("clipboard: not offered to the host: {}", ok.error().message);
        }
    }
}

}  // namespace porthole::agent::clipboard
