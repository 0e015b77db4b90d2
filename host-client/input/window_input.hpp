#pragma once
// Window mode: SDL events in, batches of protocol events and actions out. No
// window of its own: the display module hands it every SDL event and acts on
// the returned actions (fullscreen, overlay, screenshot); capture itself
// (relative mouse, keyboard grab so Alt+Tab and Super reach the guest) is
// applied to the SDL_Window given, if any.
//
// A source for InputRouter (router.hpp), the one core of both front ends:
// the window is one device, capture is the router's owner, and the router's
// rules hold here as for evdev. Keys reach the guest while the window has
// focus. The capture key (default ScrollLock) never does: alone it toggles
// capture (once no key is held); held, it turns the keys pressed with it into
// keybindings (input/bindings.hpp), and none of those keys, bound or not,
// reaches the guest. Focus loss releases every key and button the guest
// holds, and ends capture. The mouse is absolute (the guest cursor follows
// the host pointer over the guest image) or relative (captured, for games);
// in automatic mode a hidden guest cursor means relative.

#include <SDL.h>

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "input/bindings.hpp"
#include "input/router.hpp"

namespace porthole::client::input {

enum class MouseMode : std::uint8_t { automatic, absolute, relative };
const char* to_string(MouseMode m);

struct WindowInputConfig {
    SDL_Scancode capture_key = SDL_SCANCODE_SCROLLLOCK;
    MouseMode mouse = MouseMode::automatic;
    // false: only the bindings act (evdev or no input: the guest's input comes
    // from elsewhere or nowhere); typed keys and the mouse stay on the host and
    // the capture key alone does nothing.
    bool to_guest = true;
    // Captured relative motion is scaled by (10 + sensitivity) / 10, as
    // Looking Glass's input:mouseSens: -9 (a tenth) .. 9 (1.9 times).
    int mouse_sensitivity = 0;
    // The Super ("Windows") keys stay on the host (Looking Glass's ignoreWindowsKeys).
    bool ignore_windows_keys = false;
    // Hide the host pointer over the window while the guest's cursor is shown
    // (drawn by the client), so that one cursor is seen, not two.
    bool hide_host_cursor = false;
};

// Where the guest image sits in the window (letterboxing), for absolute mode.
struct GuestView {
    int x = 0, y = 0, w = 1, h = 1;
};

// evdev key code for an SDL scancode (0: none).
std::uint16_t sdl_to_evdev(SDL_Scancode s);

class WindowInput {
  public:
    WindowInput(WindowInputConfig config, BatchFn emit, SDL_Window* window = nullptr);

    // Handles one event; returns what the display side should do.
    std::vector<WindowAction> handle(const SDL_Event& e);
    // The guest's cursor visibility (cursor channel): picks the automatic mode.
    void set_guest_cursor_visible(bool visible);
    void set_view(GuestView v) { view_ = v; }
    void set_mouse_mode(MouseMode m);
    // Starts or ends capture (also from the app, e.g. on start-up).
    void set_captured(bool on);

    [[nodiscard]] bool captured() const { return captured_; }
    // The capture key is down (the help panel shows the bindings meanwhile).
    [[nodiscard]] bool capture_key_held() const { return capture_key_down_; }
    // The evdev code of a key SDL knows (its scancode).
    [[nodiscard]] static std::uint16_t evdev_code(const SDL_Keysym& k);
    [[nodiscard]] SDL_Scancode capture_key() const { return config_.capture_key; }
    [[nodiscard]] bool to_guest() const { return config_.to_guest; }
    [[nodiscard]] bool relative() const;  // the mouse currently sends relative motion
    [[nodiscard]] MouseMode mouse_mode() const { return config_.mouse; }
    [[nodiscard]] const KeySet& guest_held() const { return router_.guest_held(); }
    [[nodiscard]] const InputRouter& router() const { return router_; }

  private:
    static constexpr DeviceId kWindowDevice = 1;
    void feed(std::uint16_t type, std::uint16_t code, std::int32_t value);
    void end_event();  // SYN_REPORT: one batch per SDL event
    // X11: a key SDL has no scancode for (and so drops) still reaches the
    // guest, by its native code (X keycode - 8 is the evdev code).
    void native_key(const SDL_SysWMmsg& m);
    void owner_changed(Owner o);
    void act(WindowAction a);
    void apply_capture();

    WindowInputConfig config_;
    SDL_Window* window_;
    InputRouter router_;
    GuestView view_;
    bool captured_ = false;
    bool focused_ = true;
    bool guest_cursor_visible_ = true;
    bool capture_key_down_ = false;
    std::vector<WindowAction>* actions_ = nullptr;  // handle()'s result, while it runs
};

}  // namespace porthole::client::input
