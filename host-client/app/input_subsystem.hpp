#pragma once
// The client's input: a front end (evdev on its own thread, or the SDL
// window's events) feeding a sink (the region's input ring, or QEMU over
// QMP). On every agent session the region sink takes the new ring writer.
//
// Threads. Window mode: the window's events are handled on the main thread
// (inside WindowPump::run, app/window_pump.hpp), so input is delivered there
// at once; the session loop calls the rest from the render thread. What the
// render thread asks of the window's input (the view, the guest cursor's
// visibility) is kept and applied by apply_window_state() on the main thread,
// which set_wake() wakes for it; what it reads (escape_held, mouse_mode,
// take_actions, stats, help_lines) is atomic or under a mutex. evdev and the
// gamepads run on their own threads and only deliver().

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "app/options.hpp"
#include "app/stats.hpp"
#include "app/subsystem.hpp"
#include "display/sdl_window.hpp"
#include "input/evdev_input.hpp"
#include "input/gamepad.hpp"
#include "input/sink.hpp"
#include "input/window_input.hpp"
#include "porthole/util/result.hpp"
#include "qmp/sink.hpp"
#include "render/render_types.hpp"

namespace porthole::client {

// Also the sink the front ends write to: it counts, then forwards to the real sink.
class InputSubsystem final : public SessionSubsystem, public input::InputSink {
  public:
    // Builds the front end and sink the options ask for; `window` is needed for window mode.
    static Result<std::unique_ptr<InputSubsystem>> create(const Options& o, SdlWindow* window);
    ~InputSubsystem() override;
    InputSubsystem(const InputSubsystem&) = delete;
    InputSubsystem& operator=(const InputSubsystem&) = delete;

    void attach(protocol::HostChannels& channels, const protocol::HostSession& session) override;
    void detach() override;
    bool tick(std::uint64_t now_ns) override;
    void deliver(std::span<const protocol::InputEvent> batch) override;

    // Window actions for the display side (fullscreen, overlay, screenshot),
    // drained (render thread; the window's main thread and, while the guest
    // owns the grabbed devices, the evdev thread add them).
    std::vector<input::WindowAction> take_actions();
    // The guest cursor's visibility (automatic mouse mode in window mode); applied
    // on the main thread (render thread).
    void set_guest_cursor_visible(bool visible);
    // The guest image's size and scaling: where it sits in the window (absolute
    // mouse mode); placed on the main thread, now and on each resize (render thread).
    void update_view(ScaleMode scale, std::uint32_t frame_w, std::uint32_t frame_h);
    // Main thread: applies what the render thread asked for since the last call.
    void apply_window_state();
    // How the render thread wakes the main thread for apply_window_state() (empty: none).
    void set_wake(std::function<void()> wake);
    [[nodiscard]] InputStats stats() const;
    // The window's capture key is held: the help panel shows (window input only).
    [[nodiscard]] bool escape_held() const { return escape_held_.load(); }
    // The help panel's lines: the bindings with the capture key's name.
    [[nodiscard]] std::vector<std::string> help_lines() const { return help_lines_; }
    // The QMP connection input goes over (--input-to qmp), else nullptr.
    [[nodiscard]] qmp::QmpClient* qmp_client() {
        return qmp_sink_ ? &qmp_sink_->client() : nullptr;
    }
    // The window's mouse mode (window mode; automatic without a window).
    [[nodiscard]] input::MouseMode mouse_mode() const { return mouse_mode_.load(); }

  private:
    InputSubsystem() = default;
    // Main thread: one window event through the window's input.
    void handle_window_event(const SDL_Event& e, bool capture_on_focus);
    void wake_main();

    std::string mode_;
    input::RegionInputSink region_sink_;
    std::unique_ptr<qmp::QmpInputSink> qmp_sink_;
    input::InputSink* sink_ = nullptr;
    std::atomic<std::uint64_t> events_{0};
    std::atomic<int> owner_{0};  // 0 host, 1 guest

    // evdev mode
    std::unique_ptr<input::EvdevInput> evdev_;
    std::atomic<bool> stop_{false};
    std::thread evdev_thread_;
    // --gamepad: pads forwarded to the agent, on their own thread
    std::unique_ptr<input::GamepadInput> gamepads_;
    std::thread gamepad_thread_;

    // window mode
    std::unique_ptr<input::WindowInput> window_input_;  // main thread only
    SDL_Window* sdl_window_ = nullptr;
    std::vector<std::string> help_lines_;  // set at create
    std::atomic<bool> escape_held_{false};
    std::atomic<input::MouseMode> mouse_mode_{input::MouseMode::automatic};
    std::mutex window_mutex_;  // guards the members below
    std::vector<input::WindowAction> actions_;
    std::function<void()> wake_;
    struct View {
        ScaleMode scale;
        std::uint32_t w, h;
    };
    std::optional<View> view_;            // the latest asked for (applied again on resize)
    bool view_changed_ = false;           // not applied yet
    std::optional<bool> cursor_visible_;  // asked for, not applied yet
    bool cursor_visible_asked_ = true;    // the last value asked for
    bool said_cannot_inject_ = false;
};

}  // namespace porthole::client
