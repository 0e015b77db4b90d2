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
    std::uint64_t host_serial = 0;
    bool host_png = false;        // the host's offer has an image
    bool png_wanted = false;      // a paste here waits for it
    bool fetching = false;        // ... asked for from the host
    std::uint32_t host_asks = 0;  // the host's request for our image (ids are never 0)
    while (!stop.stop_requested()) {
        auto ev = endpoint_.step();
        for (const auto& e : ev.errors)
            spdlog::warn("clipboard: from the host: {}", e);
        if (ev.offer) {
            host_serial = ev.offer->serial;
            host_png = ev.offer->find(ClipboardMime::image_png) != nullptr;
            if (png_wanted || fetching) backend_->provide_png(std::nullopt);  // gone
            png_wanted = fetching = false;
            // The host's text is fetched at once, its image when pasted here.
            if (ev.offer->find(ClipboardMime::text_utf8) != nullptr) {
                if (auto ok =
                        endpoint_.request(ev.offer->serial, ClipboardMime::text_utf8, kMaxFromHost);
                    !ok)
                    spdlog::warn("clipboard: {}", ok.error().message);
            } else if (host_png) {
                if (auto ok = backend_->own_formats(std::nullopt, true); !ok)
                    spdlog::warn("clipboard: {}", ok.error().message);
            }
        }
        if (ev.request) {
            if (ev.request->mime == ClipboardMime::image_png) {
                host_asks = ev.request->id;
                backend_->fetch_png();
            } else {
                endpoint_.refuse(ev.request->id);  // the text offered holds its data
            }
        }
        if (ev.request_failed) {
            spdlog::warn("clipboard: {}", *ev.request_failed);
            if (fetching) backend_->provide_png(std::nullopt);
            fetching = false;
        }
        if (ev.received && ev.received->mime == ClipboardMime::text_utf8) {
            const bool png = host_png && ev.received->serial == host_serial;
            if (auto ok = backend_->own_formats(std::move(ev.received->bytes), png); !ok)
                spdlog::warn("clipboard: {}", ok.error().message);
        } else if (ev.received && ev.received->mime == ClipboardMime::image_png) {
            fetching = false;
            backend_->provide_png(std::move(ev.received->bytes));
        }
        // The backend never reports what it was given: no echo from here.
        // While a transfer is under way it is served without a long wait.
        const bool busy = ev.active || endpoint_.requesting() || host_asks != 0 || png_wanted;
        auto st =
            backend_->step(busy ? std::chrono::milliseconds(1) : std::chrono::milliseconds(20));
        if (st.copy_seen) {
            std::vector<protocol::ClipboardEndpoint::Format> formats;
            if (st.copied) {
                const auto size = st.copied->size();
                formats.push_back({ClipboardMime::text_utf8, size, std::move(*st.copied)});
            }
            if (st.copied_png) formats.push_back({ClipboardMime::image_png, 0, std::nullopt});
            host_asks = 0;
            if (auto ok = endpoint_.offer(std::move(formats)); !ok)
                spdlog::warn("clipboard: not offered to the host: {}", ok.error().message);
        }
        if ((st.png || st.png_failed) && host_asks != 0) {
            if (st.png)
                (void)endpoint_.answer(host_asks, std::move(*st.png));
            else
                endpoint_.refuse(host_asks);
            host_asks = 0;
        }
        if (st.png_wanted) {
            if (host_png)
                png_wanted = true;
            else
                backend_->provide_png(std::nullopt);
        }
        if (png_wanted && !fetching && !endpoint_.requesting()) {
            png_wanted = false;
            if (endpoint_.request(host_serial, ClipboardMime::image_png, kMaxFromHost))
                fetching = true;
            else
                backend_->provide_png(std::nullopt);
        }
    }
}

}  // namespace porthole::agent::clipboard
