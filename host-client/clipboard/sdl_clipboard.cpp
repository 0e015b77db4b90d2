#include "clipboard/sdl_clipboard.hpp"

#include <SDL.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <string>

namespace porthole::client::clipboard {

struct SdlClipboard::Watch {
    std::atomic<bool> changed{true};  // offer what the desktop holds at the start
    static int on_event(void* self, SDL_Event* e) {
        if (e->type == SDL_CLIPBOARDUPDATE) static_cast<Watch*>(self)->changed.store(true);
        return 1;
    }
};

SdlClipboard::SdlClipboard() : watch_(std::make_unique<Watch>()) {
    SDL_AddEventWatch(&Watch::on_event, watch_.get());
}

SdlClipboard::~SdlClipboard() {
    SDL_DelEventWatch(&Watch::on_event, watch_.get());
}

Result<std::unique_ptr<SdlClipboard>> SdlClipboard::open() {
    if (SDL_WasInit(SDL_INIT_VIDEO) == 0) {
        return Error::make("the clipboard needs the window (SDL video); --headless has none");
    }
    return std::unique_ptr<SdlClipboard>(new SdlClipboard());
}

std::optional<std::string> SdlClipboard::take_change(std::uint64_t /*now_ns*/) {
    const std::lock_guard lock(mutex_);
    if (!fresh_) return std::nullopt;
    fresh_ = false;
    return read_;
}

std::optional<std::string> SdlClipboard::text_now() {
    const std::lock_guard lock(mutex_);
    return read_;
}

Status SdlClipboard::set_text(std::string_view text) {
    const std::lock_guard lock(mutex_);
    to_set_ = std::string(text);  // SDL wants a terminated string: std::string is
    return {};
}

void SdlClipboard::serve_main_thread(std::uint64_t now_ns) {
    std::optional<std::string> set;
    {
        const std::lock_guard lock(mutex_);
        set.swap(to_set_);
    }
    if (set && SDL_SetClipboardText(set->c_str()) != 0)
        spdlog::warn("clipboard: cannot set the desktop clipboard: {}", SDL_GetError());
    const bool event = watch_->changed.exchange(false);
    if (!event && now_ns < next_poll_ns_) return;
    next_poll_ns_ = now_ns + poll_ns;
    char* text = SDL_GetClipboardText();  // "" (never null) on failure
    if (text == nullptr) return;
    std::string out(text);
    SDL_free(text);
    if (out.empty()) return;  // nothing, or no text: nothing to offer
    const std::lock_guard lock(mutex_);
    read_ = std::move(out);
    fresh_ = true;
}

}  // namespace porthole::client::clipboard
