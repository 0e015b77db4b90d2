#include "app/clipboard_subsystem.hpp"

#include <spdlog/spdlog.h>

namespace porthole::client {

std::unique_ptr<ClipboardSubsystem> ClipboardSubsystem::create(const Options& o) {
    const auto mode = clipboard::parse_mode(o.clipboard).value_or(clipboard::Mode::off);
    if (mode == clipboard::Mode::off) return nullptr;
    // --clipboard to-host: the desktop's copies are not even read.
    auto desktop = clipboard::open_desktop_clipboard(
        o.clipboard_limit, mode == clipboard::Mode::both || mode == clipboard::Mode::to_guest);
    if (!desktop) {
        spdlog::warn("clipboard off: {}", desktop.error().message);
        return nullptr;
    }
    spdlog::info("clipboard: {} (text up to {} bytes, the desktop's through {})", o.clipboard,
                 o.clipboard_limit, (*desktop)->name());
    return std::unique_ptr<ClipboardSubsystem>(new ClipboardSubsystem(
        clipboard::ClipboardSync(mode, o.clipboard_limit), std::move(*desktop)));
}

void ClipboardSubsystem::attach(protocol::HostChannels& channels, const protocol::HostSession&) {
    if (channels.clipboard_in && channels.clipboard_out)
        endpoint_.emplace(*channels.clipboard_out, *channels.clipboard_in);
    channels.clipboard_in.reset();
    channels.clipboard_out.reset();
    sync_.forget_guest();
    // A new agent starts with an empty clipboard: offer the desktop's text again.
    if (!sync_.to_guest()) return;
    if (auto text = desktop_->text_now()) pending_ = std::move(text);
}

void ClipboardSubsystem::detach() {
    endpoint_.reset();
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
    using protocol::ClipboardMime;
    bool active = false;
    if (!sync_.to_guest()) {
        // nothing read from the desktop
    } else if (auto text = desktop_->take_change(now_ns)) {
        pending_ = std::move(text);
    }
    if (!endpoint_) return false;
    if (pending_) {
        if (pending_->size() > sync_.limit()) {
            spdlog::warn("clipboard: the desktop's text of {} bytes is over --clipboard-limit {}",
                         pending_->size(), sync_.limit());
        } else if (auto send = sync_.desktop_changed(std::move(*pending_))) {
            // Only the offer crosses now; the text when the guest asks for it.
            std::vector<protocol::ClipboardEndpoint::Format> formats;
            const auto size = send->size();
            formats.push_back({ClipboardMime::text_utf8, size, std::move(*send)});
            if (auto ok = endpoint_->offer(std::move(formats)); !ok)
                spdlog::warn("clipboard: not offered to the guest: {}", ok.error().message);
            else
                spdlog::debug("clipboard: {} bytes offered to the guest", size);
            active = true;
        }
        pending_.reset();
    }
    auto ev = endpoint_->step();
    active = active || ev.active;
    for (const auto& e : ev.errors)
        refuse("refused the guest's offer: " + e, now_ns);
    if (ev.request) endpoint_->refuse(ev.request->id);  // the host's offers hold their data
    if (ev.offer && sync_.to_host()) {
        if (const auto* text = ev.offer->find(ClipboardMime::text_utf8); text == nullptr) {
            // nothing this client takes
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
    if (ev.request_failed) refuse(*ev.request_failed + " (--clipboard-limit)", now_ns);
    if (ev.received && ev.received->mime == ClipboardMime::text_utf8 && sync_.to_host()) {
        auto take = sync_.guest_offered(std::move(ev.received->bytes));
        if (!take) {
            refuse(take.error().message, now_ns);
        } else if (*take) {
            if (auto ok = desktop_->set_text(**take); !ok)
                spdlog::warn("clipboard: {}", ok.error().message);
            else
                spdlog::debug("clipboard: {} bytes from the guest", (*take)->size());
        }
    }
    return active;
}

}  // namespace porthole::client
