#pragma once
// The client's input: a front end (evdev on its own thread, or the SDL
// window's events) feeding a sink (the region's input ring, or QEMU over
// QMP). On every agent session the region sink takes the new ring writer.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
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

    // Window actions for the display side (fullscreen, overlay, screenshot), drained.
    std::vector<input::WindowAction> take_actions();
    // The guest cursor's visibility (automatic mouse mode in window mode).
    void set_guest_cursor_visible(bool visible);
    // The guest image's size and scaling: where it sits in the window (absolute mouse mode).
    void update_view(ScaleMode scale, std::uint32_t frame_w, std::uint32_t frame_h);
    [[nodiscard]] InputStats stats() const;
    // The window's capture key is held: the help panel shows (window input only).
    [[nodiscard]] bool escape_held() const {
        return window_input_ && window_input_->capture_key_held();
    }
    // The help panel's lines: the bindings with the capture key's name.
    [[nodiscard]] std::vector<std::string> help_lines() const;
    // The QMP connection input goes over (--input-to qmp), else nullptr.
    [[nodiscard]] qmp::QmpClient* qmp_client() {
        return qmp_sink_ ? &qmp_sink_->client() : nullptr;
    }
    // The window's mouse mode (window mode; automatic without a window).
    [[nodiscard]] input::MouseMode mouse_mode() const {
        return window_input_ ? window_input_->mouse_mode() : input::MouseMode::automatic;
    }

  private:
    InputSubsystem() = default;

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
    std::unique_ptr<input::WindowInput> window_input_;
    SDL_Window* sdl_window_ = nullptr;
    std::vector<input::WindowAction> actions_;
    bool said_cannot_inject_ = false;
};

}  // namespace porthole::client
