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
    if (channels.clipboard_in) from_guest_.emplace(*channels.clipboard_in);
    if (channels.clipboard_out) to_guest_.emplace(*channels.clipboard_out);
    channels.clipboard_in.reset();
    channels.clipboard_out.reset();
    sync_.forget_guest();
    // A new agent starts with an empty clipboard: offer the desktop's text again.
    if (!sync_.to_guest()) return;
    if (auto text = desktop_->text_now()) pending_ = std::move(text);
}

void ClipboardSubsystem::detach() {
    from_guest_.reset();
    to_guest_.reset();
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
    } else if (auto text = desktop_->take_change(now_ns)) {
        pending_ = std::move(text);
    }
    if (pending_ && to_guest_) {
        if (pending_->size() > sync_.limit()) {
            spdlog::warn("clipboard: the desktop's text of {} bytes is over --clipboard-limit {}",
                         pending_->size(), sync_.limit());
        } else if (auto send = sync_.desktop_changed(std::move(*pending_))) {
            if (auto ok = to_guest_->publish(*send); !ok)
                spdlog::warn("clipboard: not sent to the guest: {}", ok.error().message);
            else
                spdlog::debug("clipboard: {} bytes sent to the guest", send->size());
            active = true;
        }
        pending_.reset();
    }
    if (from_guest_ && sync_.to_host()) {
        // Never allocates more than the limit: a longer offer is refused unread.
        auto polled = from_guest_->poll(sync_.limit());
        if (!polled) {
            refuse("refused the guest's text: " + polled.error().message + " (--clipboard-limit)",
                   now_ns);
        } else if (*polled) {
            active = true;
            auto take = sync_.guest_offered(std::move(**polled));
            if (!take) {
                refuse(take.error().message, now_ns);
            } else if (*take) {
                if (auto ok = desktop_->set_text(**take); !ok)
                    spdlog::warn("clipboard: {}", ok.error().message);
                else
                    spdlog::debug("clipboard: {} bytes from the guest", (*take)->size());
            }
        }
    }
    return active;
}

}  // namespace porthole::client
