#include "app/window_pump.hpp"

namespace porthole::client {

WindowPump::WindowPump(SdlWindow& window) : window_(window), wake_type_(SDL_RegisterEvents(1)) {}

void WindowPump::run(const std::atomic<bool>& done, const std::function<void()>& round) {
    // The wait bounds how late `done` is seen should a wake() get lost (SDL's
    // queue full); wake() ends it at once otherwise.
    constexpr int kWaitMs = 100;
    while (!done.load()) {
        SDL_WaitEventTimeout(nullptr, kWaitMs);  // null: the event stays queued for the pump
        auto events = window_.poll_events();     // input goes out from in here, through the sink
        if (fullscreen_request_.exchange(false)) {
            window_.set_fullscreen(!window_.fullscreen());
            events.push_back(WindowEvent::resized);
        }
        if (round) round();
        if (events.empty()) continue;
        const std::lock_guard lock(mutex_);
        events_.insert(events_.end(), events.begin(), events.end());
    }
}

std::vector<WindowEvent> WindowPump::take_events() {
    std::vector<WindowEvent> out;
    const std::lock_guard lock(mutex_);
    out.swap(events_);
    return out;
}

void WindowPump::request_fullscreen_toggle() {
    fullscreen_request_.store(true);
    wake();
}

void WindowPump::wake() {
    if (wake_type_ == static_cast<Uint32>(-1)) return;  // none left: the wait's bound applies
    SDL_Event e{};
    e.type = wake_type_;
    SDL_PushEvent(&e);  // thread-safe in SDL2
}

}  // namespace porthole::client
