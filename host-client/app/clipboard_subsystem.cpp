#include "app/clipboard_subsystem.hpp"

#include <spdlog/spdlog.h>

#include "clipboard/png_check.hpp"

namespace porthole::client {

using protocol::ClipboardMime;

std::unique_ptr<ClipboardSubsystem> ClipboardSubsystem::create(const Options& o) {
    const auto mode = clipboard::parse_mode(o.clipboard).value_or(clipboard::Mode::off);
    if (mode == clipboard::Mode::off) return nullptr;
    // --clipboard to-host: the desktop's copies are not even read.
    auto desktop = clipboard::open_desktop_clipboard(
        o.clipboard_limit, mode == clipboard::Mode::both || mode == clipboard::Mode::to_guest,
        o.clipboard_max_size);
    if (!desktop) {
        spdlog::warn("clipboard off: {}", desktop.error().message);
        return nullptr;
    }
    spdlog::info("clipboard: {} (text up to {} bytes, images up to {}, the desktop's through {})",
                 o.clipboard, o.clipboard_limit, o.clipboard_max_size, (*desktop)->name());
    return std::unique_ptr<ClipboardSubsystem>(
        new ClipboardSubsystem(clipboard::ClipboardSync(mode, o.clipboard_limit),
                               std::move(*desktop), o.clipboard_max_size));
}

void ClipboardSubsystem::attach(protocol::HostChannels& channels, const protocol::HostSession&) {
    if (channels.clipboard_in && channels.clipboard_out)
        endpoint_.emplace(*channels.clipboard_out, *channels.clipboard_in);
    channels.clipboard_in.reset();
    channels.clipboard_out.reset();
    sync_.forget_guest();
    guest_serial_ = 0;
    guest_png_ = png_wanted_ = fetching_png_ = false;
    guest_asks_png_.reset();
    // A new agent starts with an empty clipboard: offer the desktop's text again.
    if (!sync_.to_guest()) return;
    if (auto text = desktop_->text_now()) pending_ = clipboard::DesktopCopy{std::move(text), false};
}

void ClipboardSubsystem::detach() {
    endpoint_.reset();
    if (png_wanted_ || fetching_png_) desktop_->provide_png(std::nullopt);
    png_wanted_ = fetching_png_ = false;
}

void ClipboardSubsystem::refuse(const std::string& why, std::uint64_t now_ns) {
    if (now_ns < next_refusal_log_ns_) {
        ++refusals_unsaid_;
        return;
    }
    if (refusals_unsaid_ != 0)
        spdlog::warn("clipboard: {} ({} more refused since the last line)", why, refusals_unsaid_);
    else
        spdlog::warn("clipboard: {}", why);
    refusals_unsaid_ = 0;
    next_refusal_log_ns_ = now_ns + 5'000'000'000;
}

bool ClipboardSubsystem::tick(std::uint64_t now_ns) {
    bool active = false;
    if (!sync_.to_guest()) {
        // nothing read from the desktop
    } else if (auto copy = desktop_->take_copy(now_ns)) {
        pending_ = std::move(copy);
    }
    if (!endpoint_) return false;
    if (pending_) {
        std::vector<protocol::ClipboardEndpoint::Format> formats;
        if (auto& text = pending_->text; !text) {
            // an image alone
        } else if (text->size() > sync_.limit()) {
            spdlog::warn("clipboard: the desktop's text of {} bytes is over --clipboard-limit {}",
                         text->size(), sync_.limit());
        } else if (auto send = sync_.desktop_changed(std::move(*text))) {
            const auto size = send->size();
            formats.push_back({ClipboardMime::text_utf8, size, std::move(*send)});
        }
        // Only the offer crosses now; the data when the guest asks for it (an
        // image is not even read from the desktop before that).
        if (pending_->png) formats.push_back({ClipboardMime::image_png, 0, std::nullopt});
        if (!formats.empty()) {
            const auto n = formats.size();
            if (auto ok = endpoint_->offer(std::move(formats)); !ok)
                spdlog::warn("clipboard: not offered to the guest: {}", ok.error().message);
            else
                spdlog::debug("clipboard: {} formats offered to the guest", n);
            guest_asks_png_.reset();
            desktop_png_.reset();
            active = true;
        }
        pending_.reset();
    }
    auto ev = endpoint_->step();
    active = active || ev.active;
    for (const auto& e : ev.errors)
        refuse("refused the guest's offer: " + e, now_ns);
    if (ev.request) {
        if (ev.request->mime == ClipboardMime::image_png && sync_.to_guest() && desktop_png_) {
            (void)endpoint_->answer(ev.request->id, *desktop_png_);  // read once per copy
        } else if (ev.request->mime == ClipboardMime::image_png && sync_.to_guest()) {
            // Lazily: read from the desktop only now, once however often the guest asks.
            if (!guest_asks_png_) desktop_->fetch_png();
            guest_asks_png_ = ev.request->id;
        } else {
            endpoint_->refuse(ev.request->id);  // the text offered holds its data
        }
    }
    if (ev.offer && sync_.to_host()) {
        guest_serial_ = ev.offer->serial;
        guest_png_ = ev.offer->find(ClipboardMime::image_png) != nullptr;
        if (png_wanted_ || fetching_png_)
            desktop_->provide_png(std::nullopt);  // that image is gone
        png_wanted_ = fetching_png_ = false;
        if (const auto* text = ev.offer->find(ClipboardMime::text_utf8); text == nullptr) {
            if (guest_png_) {
                if (auto ok = desktop_->own_formats(std::nullopt, true); !ok)
                    spdlog::warn("clipboard: {}", ok.error().message);
            }
        } else if (text->size > sync_.limit()) {
            // Refused by its announced size alone: nothing is read.
            refuse("the guest's clipboard text of " + std::to_string(text->size) +
                       " bytes is over the limit of " + std::to_string(sync_.limit()) +
                       " bytes (--clipboard-limit): not read",
                   now_ns);
        } else if (auto ok = endpoint_->request(ev.offer->serial, ClipboardMime::text_utf8,
                                                sync_.limit());
                   !ok) {
            spdlog::warn("clipboard: {}", ok.error().message);
        }
    }
    if (ev.request_failed) {
        if (fetching_png_) {
            fetching_png_ = false;
            desktop_->provide_png(std::nullopt);
            refuse("the guest's image: " + *ev.request_failed + " (--clipboard-max-size)", now_ns);
        } else {
            refuse(*ev.request_failed + " (--clipboard-limit)", now_ns);
        }
    }
    if (ev.received && ev.received->mime == ClipboardMime::image_png) {
        fetching_png_ = false;
        if (auto ok = clipboard::check_guest_png(ev.received->bytes, max_image_); !ok) {
            refuse(ok.error().message, now_ns);
            desktop_->provide_png(std::nullopt);
        } else {
            spdlog::debug("clipboard: an image of {} bytes from the guest",
                          ev.received->bytes.size());
            desktop_->provide_png(std::move(ev.received->bytes));
        }
    } else if (ev.received && ev.received->mime == ClipboardMime::text_utf8 && sync_.to_host()) {
        auto take = sync_.guest_offered(std::move(ev.received->bytes));
        const bool png = guest_png_ && ev.received->serial == guest_serial_;
        if (!take) {
            refuse(take.error().message, now_ns);
        } else if (*take) {
            if (auto ok = desktop_->own_formats(std::move(**take), png); !ok)
                spdlog::warn("clipboard: {}", ok.error().message);
            else
                spdlog::debug("clipboard: text{} from the guest", png ? " and an image" : "");
        }
    }
    images(now_ns);
    return active;
}

void ClipboardSubsystem::images(std::uint64_t now_ns) {
    auto img = desktop_->take_image_events();
    // The desktop's image, read because the guest asked for it.
    if (img.png || img.png_failed) {
        const auto id = std::exchange(guest_asks_png_, std::nullopt);
        if (id && img.png && img.png->size() <= max_image_) {
            desktop_png_ = *img.png;
            (void)endpoint_->answer(*id, std::move(*img.png));
        } else if (id) {
            endpoint_->refuse(*id);
            if (img.png)
                refuse("the desktop's image of " + std::to_string(img.png->size()) +
                           " bytes is over --clipboard-max-size " + std::to_string(max_image_),
                       now_ns);
        }
    }
    // A desktop program pastes the guest's image: ask the guest for it now.
    if (img.png_wanted) {
        if (guest_png_ && sync_.to_host())
            png_wanted_ = true;
        else
            desktop_->provide_png(std::nullopt);
    }
    if (png_wanted_ && !fetching_png_ && !endpoint_->requesting()) {
        png_wanted_ = false;
        if (auto ok = endpoint_->request(guest_serial_, ClipboardMime::image_png, max_image_);
            !ok) {
            desktop_->provide_png(std::nullopt);
        } else {
            fetching_png_ = true;
        }
    }
}

}  // namespace porthole::client
