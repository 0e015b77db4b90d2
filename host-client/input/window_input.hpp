#pragma once
// Window mode: SDL events in, batches of protocol events and actions out. No
// window of its own: the display module hands it every SDL event and acts on
// the returned actions (fullscreen, overlay, screenshot); capture itself
// (relative mouse, keyboard grab so Alt+Tab and Super reach the guest) is
// applied to the SDL_Window given, if any.
//
// Keys reach the guest while the window has focus. The capture key (default
// ScrollLock) never does: alone it toggles capture; held, it turns the next
// key into a keybinding. Focus loss releases every key and button the guest
// holds, and ends capture. The mouse is absolute (the guest cursor follows
// the host pointer over the guest image) or relative (captured, for games);
// in automatic mode a hidden guest cursor means relative.

#include <SDL.h>

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "input/router.hpp"

namespace porthole::client::input {

enum class WindowAction : std::uint8_t {
    capture_on,
    capture_off,
    toggle_fullscreen,
    toggle_overlay,
    screenshot,
    release_input,
    send_ctrl_alt_del,
};
const char* to_string(WindowAction a);

enum class MouseMode : std::uint8_t { automatic, absolute, relative };

struct KeyBinding {
    SDL_Scancode key;
    WindowAction action;
};

struct WindowInputConfig {
    SDL_Scancode capture_key = SDL_SCANCODE_SCROLLLOCK;
    // capture key + F: fullscreen, O: overlay, P: screenshot, R: release input, Delete:
    // Ctrl+Alt+Del
    std::vector<KeyBinding> bindings = {{SDL_SCANCODE_F, WindowAction::toggle_fullscreen},
                                        {SDL_SCANCODE_O, WindowAction::toggle_overlay},
                                        {SDL_SCANCODE_P, WindowAction::screenshot},
                                        {SDL_SCANCODE_R, WindowAction::release_input},
                                        {SDL_SCANCODE_DELETE, WindowAction::send_ctrl_alt_del}};
    MouseMode mouse = MouseMode::automatic;
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
    [[nodiscard]] bool relative() const;  // the mouse currently sends relative motion
    [[nodiscard]] const KeySet& guest_held() const { return held_; }

  private:
    void key(const SDL_KeyboardEvent& k, std::vector<WindowAction>& actions);
    void emit_key(std::uint16_t code, std::int32_t value);
    void push(std::uint16_t type, std::uint16_t code, std::int32_t value);
    void flush();
    void release_all();
    void apply_capture();

    WindowInputConfig config_;
    BatchFn emit_;
    SDL_Window* window_;
    GuestView view_;
    bool captured_ = false;
    bool focused_ = true;
    bool guest_cursor_visible_ = true;
    bool capture_key_down_ = false;
    bool binding_used_ = false;            // a binding fired while the capture key was down
    std::vector<SDL_Scancode> swallowed_;  // binding keys whose release must not reach the guest
    KeySet held_;                          // keys and buttons the guest holds
    std::vector<protocol::InputEvent> batch_;
};

}  // namespace porthole::client::input
