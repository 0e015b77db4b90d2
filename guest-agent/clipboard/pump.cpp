#include "clipboard/pump.hpp"

#include <spdlog/spdlog.h>

namespace porthole::agent::clipboard {

using protocol::ClipboardMime;

ClipboardPump::ClipboardPump(std::unique_ptr<ClipboardBackend> backend,
                             protocol::ClipboardReader& from_host,
                             protocol::ClipboardWriter& to_host,
                             std::chrono::milliseconds render_timeout)
    : backend_(std::move(backend)), render_timeout_(render_timeout), endpoint_(to_host, from_host) {
    backend_->set_host_png_fetch([this] { return fetch_png_now(); });
    thread_ = std::jthread([this](const std::stop_token& stop) { run(stop); });
}

ClipboardPump::~ClipboardPump() {
    thread_.request_stop();
    if (thread_.joinable()) thread_.join();
}

std::optional<std::string> ClipboardPump::fetch_png_now() {
    // A request under way is the text of a newer offer: this image is gone.
    if (!host_png_ || endpoint_.requesting()) return std::nullopt;
    if (auto ok = endpoint_.request(host_serial_, ClipboardMime::image_png, kMaxFromHost); !ok) {
        spdlog::warn("clipboard: {}", ok.error().message);
        return std::nullopt;
    }
    // Inside the paste (WM_RENDERFORMAT): no messages are dispatched here, the
    // pasting program waits for this answer anyway.
    const auto deadline = std::chrono::steady_clock::now() + render_timeout_;
    while (std::chrono::steady_clock::now() < deadline) {
        auto ev = endpoint_.step();
        std::optional<std::string> png;
        if (ev.received && ev.received->mime == ClipboardMime::image_png) {
            png = std::move(ev.received->bytes);
            ev.received.reset();
        }
        const bool failed = ev.request_failed.has_value();
        const bool active = ev.active;
        if (failed) spdlog::warn("clipboard: image not pasted: {}", *ev.request_failed);
        ev.request_failed.reset();
        if (ev.offer || ev.request || ev.received || !ev.errors.empty())
            deferred_.push_back(std::move(ev));
        if (png) return png;
        if (failed) return std::nullopt;
        if (!active) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    endpoint_.cancel();
    spdlog::warn("clipboard: the host did not send its image within {} ms: nothing pasted",
                 render_timeout_.count());
    return std::nullopt;
}

void ClipboardPump::handle(protocol::ClipboardEvents& ev) {
    for (const auto& e : ev.errors)
        spdlog::warn("clipboard: from the host: {}", e);
    if (ev.offer) {
        host_serial_ = ev.offer->serial;
        host_png_ = ev.offer->find(ClipboardMime::image_png) != nullptr;
        if (png_wanted_ || fetching_) backend_->provide_png(std::nullopt);  // gone
        png_wanted_ = fetching_ = false;
        // The host's text is fetched at once, its image when pasted here.
        if (ev.offer->find(ClipboardMime::text_utf8) != nullptr) {
            if (auto ok =
                    endpoint_.request(ev.offer->serial, ClipboardMime::text_utf8, kMaxFromHost);
                !ok)
                spdlog::warn("clipboard: {}", ok.error().message);
        } else if (host_png_) {
            if (auto ok = backend_->own_formats(std::nullopt, true); !ok)
                spdlog::warn("clipboard: {}", ok.error().message);
        }
    }
    if (ev.request) {
        if (ev.request->mime == ClipboardMime::image_png) {
            host_asks_ = ev.request->id;
            backend_->fetch_png();
        } else {
            endpoint_.refuse(ev.request->id);  // the text offered holds its data
        }
    }
    if (ev.request_failed) {
        spdlog::warn("clipboard: {}", *ev.request_failed);
        if (fetching_) backend_->provide_png(std::nullopt);
        fetching_ = false;
    }
    if (ev.received && ev.received->mime == ClipboardMime::text_utf8) {
        const bool png = host_png_ && ev.received->serial == host_serial_;
        if (auto ok = backend_->own_formats(std::move(ev.received->bytes), png); !ok)
            spdlog::warn("clipboard: {}", ok.error().message);
    } else if (ev.received && ev.received->mime == ClipboardMime::image_png) {
        fetching_ = false;
        backend_->provide_png(std::move(ev.received->bytes));
    }
}

void ClipboardPump::run(const std::stop_token& stop) {
    while (!stop.stop_requested()) {
        // What a paste's fetch saw first, in order, then this turn's step.
        std::vector<protocol::ClipboardEvents> batch = std::exchange(deferred_, {});
        batch.push_back(endpoint_.step());
        bool active = false;
        for (auto& ev : batch) {
            handle(ev);
            active = active || ev.active;
        }
        // The backend never reports what it was given: no echo from here.
        // While a transfer is under way it is served without a long wait.
        const bool busy = active || endpoint_.requesting() || host_asks_ != 0 || png_wanted_;
        auto st =
            backend_->step(busy ? std::chrono::milliseconds(1) : std::chrono::milliseconds(20));
        if (st.copy_seen) {
            std::vector<protocol::ClipboardEndpoint::Format> formats;
            if (st.copied) {
                const auto size = st.copied->size();
                formats.push_back({ClipboardMime::text_utf8, size, std::move(*st.copied)});
            }
            if (st.copied_png) formats.push_back({ClipboardMime::image_png, 0, std::nullopt});
            host_asks_ = 0;
            if (auto ok = endpoint_.offer(std::move(formats)); !ok)
                spdlog::warn("clipboard: not offered to the host: {}", ok.error().message);
        }
        if ((st.png || st.png_failed) && host_asks_ != 0) {
            if (st.png)
                (void)endpoint_.answer(host_asks_, std::move(*st.png));
            else
                endpoint_.refuse(host_asks_);
            host_asks_ = 0;
        }
        if (st.png_wanted) {
            if (host_png_)
                png_wanted_ = true;
            else
                backend_->provide_png(std::nullopt);
        }
        if (png_wanted_ && !fetching_ && !endpoint_.requesting()) {
            png_wanted_ = false;
            if (endpoint_.request(host_serial_, ClipboardMime::image_png, kMaxFromHost))
                fetching_ = true;
            else
                backend_->provide_png(std::nullopt);
        }
    }
    // Still on this thread: what the desktop holds only as an announcement is
    // rendered now (bounded by render_timeout_), while the channel is served.
    backend_->close();
}

}  // namespace porthole::agent::clipboard
