#pragma once
// Window mode's two threads. The main thread only pumps SDL (SDL's video calls
// stay on it): the window's event sink runs inside the pump, so input reaches
// the region or QMP at once and never waits for a draw or present. The session
// loop (frames, renderer, subsystems) runs on the render thread. What crosses
// between them goes through this: window events (resize, expose, quit) to the
// render thread, and the window operations the render thread asks for
// (fullscreen) back to the main thread.
//
// Threads: run() and the round callback on the main thread; take_events() and
// request_fullscreen_toggle() on the render thread; wake() on any thread.

#include <SDL2/SDL.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <vector>

#include "display/sdl_window.hpp"

namespace porthole::client {

class WindowPump {
  public:
    explicit WindowPump(SdlWindow& window);
    WindowPump(const WindowPump&) = delete;
    WindowPump& operator=(const WindowPump&) = delete;

    // Main thread: pumps the window's events until `done`, waiting for them
    // (or a wake()) in between. `round` runs after each pump, on this thread.
    void run(const std::atomic<bool>& done, const std::function<void()>& round = {});
    // Render thread: the window events since the last call, oldest first.
    std::vector<WindowEvent> take_events();
    // Render thread: toggles fullscreen on the main thread, which then queues `resized`.
    void request_fullscreen_toggle();
    // Any thread: ends the main thread's wait for events now.
    void wake();

  private:
    SdlWindow& window_;
    Uint32 wake_type_;  // an SDL user event type of our own: it only ends the wait
    std::mutex mutex_;
    std::vector<WindowEvent> events_;  // under mutex_
    std::atomic<bool> fullscreen_request_{false};
};

}  // namespace porthole::client
