#include "input/window_input.hpp"

#include <linux/input-event-codes.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "porthole/protocol/input_ring.hpp"
#include "porthole/util/adaptive_wait.hpp"

// Last: Xlib's macros (Status, None, Bool) would break the headers above.
#include <SDL_syswm.h>

namespace porthole::client::input {

namespace ev = protocol::ev;

const char* to_string(MouseMode m) {
    switch (m) {
        case MouseMode::automatic:
            return "auto";
        case MouseMode::absolute:
            return "absolute";
        case MouseMode::relative:
            return "relative";
    }
    return "?";
}

std::uint16_t sdl_to_evdev(SDL_Scancode s) {
    // SDL scancodes are USB HID usages; evdev keeps the AT order.
    static constexpr std::array<std::uint16_t, 26> letters{
        KEY_A, KEY_B, KEY_C, KEY_D, KEY_E, KEY_F, KEY_G, KEY_H, KEY_I, KEY_J, KEY_K, KEY_L, KEY_M,
        KEY_N, KEY_O, KEY_P, KEY_Q, KEY_R, KEY_S, KEY_T, KEY_U, KEY_V, KEY_W, KEY_X, KEY_Y, KEY_Z};
    static constexpr std::array<std::uint16_t, 10> keypad{
        KEY_KP1, KEY_KP2, KEY_KP3, KEY_KP4, KEY_KP5, KEY_KP6, KEY_KP7, KEY_KP8, KEY_KP9, KEY_KP0};
    const int c = static_cast<int>(s);
    if (s >= SDL_SCANCODE_A && s <= SDL_SCANCODE_Z)
        return letters[static_cast<std::size_t>(c - SDL_SCANCODE_A)];
    if (s >= SDL_SCANCODE_1 && s <= SDL_SCANCODE_0)
        return static_cast<std::uint16_t>(KEY_1 + (c - SDL_SCANCODE_1));
    if (s >= SDL_SCANCODE_F1 && s <= SDL_SCANCODE_F10)
        return static_cast<std::uint16_t>(KEY_F1 + (c - SDL_SCANCODE_F1));
    if (s >= SDL_SCANCODE_KP_1 && s <= SDL_SCANCODE_KP_0)
        return keypad[static_cast<std::size_t>(c - SDL_SCANCODE_KP_1)];
    if (s >= SDL_SCANCODE_F13 && s <= SDL_SCANCODE_F24)
        return static_cast<std::uint16_t>(KEY_F13 + (c - SDL_SCANCODE_F13));
    switch (s) {
        case SDL_SCANCODE_RETURN:
            return KEY_ENTER;
        case SDL_SCANCODE_ESCAPE:
            return KEY_ESC;
        case SDL_SCANCODE_BACKSPACE:
            return KEY_BACKSPACE;
        case SDL_SCANCODE_TAB:
            return KEY_TAB;
        case SDL_SCANCODE_SPACE:
            return KEY_SPACE;
        case SDL_SCANCODE_MINUS:
            return KEY_MINUS;
        case SDL_SCANCODE_EQUALS:
            return KEY_EQUAL;
        case SDL_SCANCODE_LEFTBRACKET:
            return KEY_LEFTBRACE;
        case SDL_SCANCODE_RIGHTBRACKET:
            return KEY_RIGHTBRACE;
        case SDL_SCANCODE_BACKSLASH:
            return KEY_BACKSLASH;
        case SDL_SCANCODE_NONUSHASH:
            return KEY_BACKSLASH;
        case SDL_SCANCODE_SEMICOLON:
            return KEY_SEMICOLON;
        case SDL_SCANCODE_APOSTROPHE:
            return KEY_APOSTROPHE;
        case SDL_SCANCODE_GRAVE:
            return KEY_GRAVE;
        case SDL_SCANCODE_COMMA:
            return KEY_COMMA;
        case SDL_SCANCODE_PERIOD:
            return KEY_DOT;
        case SDL_SCANCODE_SLASH:
            return KEY_SLASH;
        case SDL_SCANCODE_CAPSLOCK:
            return KEY_CAPSLOCK;
        case SDL_SCANCODE_F11:
            return KEY_F11;
        case SDL_SCANCODE_F12:
            return KEY_F12;
        case SDL_SCANCODE_PRINTSCREEN:
            return KEY_SYSRQ;
        case SDL_SCANCODE_SCROLLLOCK:
            return KEY_SCROLLLOCK;
        case SDL_SCANCODE_PAUSE:
            return KEY_PAUSE;
        case SDL_SCANCODE_INSERT:
            return KEY_INSERT;
        case SDL_SCANCODE_HOME:
            return KEY_HOME;
        case SDL_SCANCODE_PAGEUP:
            return KEY_PAGEUP;
        case SDL_SCANCODE_DELETE:
            return KEY_DELETE;
        case SDL_SCANCODE_END:
            return KEY_END;
        case SDL_SCANCODE_PAGEDOWN:
            return KEY_PAGEDOWN;
        case SDL_SCANCODE_RIGHT:
            return KEY_RIGHT;
        case SDL_SCANCODE_LEFT:
            return KEY_LEFT;
        case SDL_SCANCODE_DOWN:
            return KEY_DOWN;
        case SDL_SCANCODE_UP:
            return KEY_UP;
        case SDL_SCANCODE_NUMLOCKCLEAR:
            return KEY_NUMLOCK;
        case SDL_SCANCODE_KP_DIVIDE:
            return KEY_KPSLASH;
        case SDL_SCANCODE_KP_MULTIPLY:
            return KEY_KPASTERISK;
        case SDL_SCANCODE_KP_MINUS:
            return KEY_KPMINUS;
        case SDL_SCANCODE_KP_PLUS:
            return KEY_KPPLUS;
        case SDL_SCANCODE_KP_ENTER:
            return KEY_KPENTER;
        case SDL_SCANCODE_KP_PERIOD:
            return KEY_KPDOT;
        case SDL_SCANCODE_KP_EQUALS:
            return KEY_KPEQUAL;
        case SDL_SCANCODE_KP_COMMA:
            return KEY_KPCOMMA;
        case SDL_SCANCODE_NONUSBACKSLASH:
            return KEY_102ND;
        case SDL_SCANCODE_APPLICATION:
            return KEY_COMPOSE;
        case SDL_SCANCODE_POWER:
            return KEY_POWER;
        case SDL_SCANCODE_MUTE:
            return KEY_MUTE;
        case SDL_SCANCODE_VOLUMEUP:
            return KEY_VOLUMEUP;
        case SDL_SCANCODE_VOLUMEDOWN:
            return KEY_VOLUMEDOWN;
        case SDL_SCANCODE_INTERNATIONAL1:
            return KEY_RO;
        case SDL_SCANCODE_INTERNATIONAL3:
            return KEY_YEN;
        case SDL_SCANCODE_LANG1:
            return KEY_HANGEUL;
        case SDL_SCANCODE_LANG2:
            return KEY_HANJA;
        // The Japanese keys (USB HID International 2, 4, 5, 6 and LANG3-5).
        case SDL_SCANCODE_INTERNATIONAL2:
            return KEY_KATAKANAHIRAGANA;
        case SDL_SCANCODE_INTERNATIONAL4:
            return KEY_HENKAN;
        case SDL_SCANCODE_INTERNATIONAL5:
            return KEY_MUHENKAN;
        case SDL_SCANCODE_INTERNATIONAL6:
            return KEY_KPJPCOMMA;
        case SDL_SCANCODE_LANG3:
            return KEY_KATAKANA;
        case SDL_SCANCODE_LANG4:
            return KEY_HIRAGANA;
        case SDL_SCANCODE_LANG5:
            return KEY_ZENKAKUHANKAKU;
        case SDL_SCANCODE_KP_PLUSMINUS:
            return KEY_KPPLUSMINUS;
        case SDL_SCANCODE_KP_LEFTPAREN:
            return KEY_KPLEFTPAREN;
        case SDL_SCANCODE_KP_RIGHTPAREN:
            return KEY_KPRIGHTPAREN;
        // Media, browser and launch keys (HID consumer page, as SDL names them).
        case SDL_SCANCODE_AUDIONEXT:
            return KEY_NEXTSONG;
        case SDL_SCANCODE_AUDIOPREV:
            return KEY_PREVIOUSSONG;
        case SDL_SCANCODE_AUDIOSTOP:
            return KEY_STOPCD;
        case SDL_SCANCODE_AUDIOPLAY:
            return KEY_PLAYPAUSE;
        case SDL_SCANCODE_AUDIOMUTE:
            return KEY_MUTE;
        case SDL_SCANCODE_AUDIOREWIND:
            return KEY_REWIND;
        case SDL_SCANCODE_AUDIOFASTFORWARD:
            return KEY_FASTFORWARD;
        case SDL_SCANCODE_MEDIASELECT:
            return KEY_MEDIA;
        case SDL_SCANCODE_WWW:
            return KEY_WWW;
        case SDL_SCANCODE_MAIL:
            return KEY_MAIL;
        case SDL_SCANCODE_CALCULATOR:
            return KEY_CALC;
        case SDL_SCANCODE_COMPUTER:
            return KEY_COMPUTER;
        case SDL_SCANCODE_AC_SEARCH:
            return KEY_SEARCH;
        case SDL_SCANCODE_AC_HOME:
            return KEY_HOMEPAGE;
        case SDL_SCANCODE_AC_BACK:
            return KEY_BACK;
        case SDL_SCANCODE_AC_FORWARD:
            return KEY_FORWARD;
        case SDL_SCANCODE_AC_STOP:
        case SDL_SCANCODE_STOP:
            return KEY_STOP;
        case SDL_SCANCODE_AC_REFRESH:
            return KEY_REFRESH;
        case SDL_SCANCODE_AC_BOOKMARKS:
            return KEY_BOOKMARKS;
        case SDL_SCANCODE_SLEEP:
            return KEY_SLEEP;
        case SDL_SCANCODE_EJECT:
            return KEY_EJECTCD;
        case SDL_SCANCODE_BRIGHTNESSDOWN:
            return KEY_BRIGHTNESSDOWN;
        case SDL_SCANCODE_BRIGHTNESSUP:
            return KEY_BRIGHTNESSUP;
        case SDL_SCANCODE_HELP:
            return KEY_HELP;
        case SDL_SCANCODE_MENU:
            return KEY_MENU;
        case SDL_SCANCODE_UNDO:
            return KEY_UNDO;
        case SDL_SCANCODE_CUT:
            return KEY_CUT;
        case SDL_SCANCODE_COPY:
            return KEY_COPY;
        case SDL_SCANCODE_PASTE:
            return KEY_PASTE;
        case SDL_SCANCODE_FIND:
            return KEY_FIND;
        case SDL_SCANCODE_AGAIN:
            return KEY_AGAIN;
        case SDL_SCANCODE_LCTRL:
            return KEY_LEFTCTRL;
        case SDL_SCANCODE_LSHIFT:
            return KEY_LEFTSHIFT;
        case SDL_SCANCODE_LALT:
            return KEY_LEFTALT;
        case SDL_SCANCODE_LGUI:
            return KEY_LEFTMETA;
        case SDL_SCANCODE_RCTRL:
            return KEY_RIGHTCTRL;
        case SDL_SCANCODE_RSHIFT:
            return KEY_RIGHTSHIFT;
        case SDL_SCANCODE_RALT:
            return KEY_RIGHTALT;
        case SDL_SCANCODE_RGUI:
            return KEY_RIGHTMETA;
        default:
            return 0;
    }
}

namespace {

std::uint16_t sdl_button(std::uint8_t b) {
    switch (b) {
        case SDL_BUTTON_LEFT:
            return BTN_LEFT;
        case SDL_BUTTON_MIDDLE:
            return BTN_MIDDLE;
        case SDL_BUTTON_RIGHT:
            return BTN_RIGHT;
        case SDL_BUTTON_X1:
            return BTN_SIDE;
        case SDL_BUTTON_X2:
            return BTN_EXTRA;
        default:
            return 0;
    }
}

}  // namespace

namespace {

Hotkey capture_hotkey(SDL_Scancode key) {
    const std::uint16_t code = sdl_to_evdev(key);
    return Hotkey{{{code}}, SDL_GetScancodeName(key)};
}

RouterOptions router_options(const WindowInputConfig& c) {
    RouterOptions o;
    o.mouse_sensitivity = c.mouse_sensitivity;
    o.ignore_windows_keys = c.ignore_windows_keys;
    o.host_passes_to_guest = c.to_guest;  // uncaptured, a focused window still types
    o.hotkey_switches = c.to_guest;
    o.bindings = true;
    return o;
}

}  // namespace

WindowInput::WindowInput(WindowInputConfig config, BatchFn emit, SDL_Window* window)
    : config_(std::move(config)),
      window_(window),
      router_(capture_hotkey(config_.capture_key), std::move(emit), Owner::host,
              router_options(config_)) {
    router_.on_owner_change([this](Owner o) { owner_changed(o); });
    router_.on_action([this](WindowAction a) { act(a); });
    // The native events carry the keys SDL drops (see native_key).
    if (window_ != nullptr && config_.to_guest) SDL_EventState(SDL_SYSWMEVENT, SDL_ENABLE);
    if (config_.hide_host_cursor) apply_capture();
}

std::uint16_t WindowInput::evdev_code(const SDL_Keysym& k) {
    return sdl_to_evdev(k.scancode);
}

bool WindowInput::relative() const {
    switch (config_.mouse) {
        case MouseMode::absolute:
            return false;
        case MouseMode::relative:
            return captured_;
        case MouseMode::automatic:
            return captured_ && !guest_cursor_visible_;
    }
    return false;
}

void WindowInput::set_guest_cursor_visible(bool visible) {
    guest_cursor_visible_ = visible;
    apply_capture();
}

void WindowInput::set_mouse_mode(MouseMode m) {
    config_.mouse = m;
    apply_capture();
}

void WindowInput::set_captured(bool on) {
    if (!config_.to_guest) return;
    // By the router's rules: at once if no key is held, else once none is.
    router_.request_switch(on ? Owner::guest : Owner::host);
}

void WindowInput::owner_changed(Owner o) {
    captured_ = o == Owner::guest;
    apply_capture();
    if (actions_ == nullptr) return;  // the app asked: it knows
    // Release input already says that capture ended.
    if (!captured_ && std::find(actions_->begin(), actions_->end(), WindowAction::release_input) !=
                          actions_->end())
        return;
    actions_->push_back(captured_ ? WindowAction::capture_on : WindowAction::capture_off);
}

void WindowInput::act(WindowAction a) {
    // release_input and send_ctrl_alt_del are done by the router; the mouse
    // mode is the window's; the rest is the display side's.
    if (a == WindowAction::cycle_mouse_mode) {
        set_mouse_mode(config_.mouse == MouseMode::automatic  ? MouseMode::absolute
                       : config_.mouse == MouseMode::absolute ? MouseMode::relative
                                                              : MouseMode::automatic);
    }
    if (actions_ != nullptr) actions_->push_back(a);
}

void WindowInput::apply_capture() {
    if (!window_) return;
    SDL_SetWindowKeyboardGrab(window_, captured_ ? SDL_TRUE : SDL_FALSE);
    SDL_SetRelativeMouseMode(relative() ? SDL_TRUE : SDL_FALSE);
    // SDL hides the pointer over this window only (X11: a blank window cursor).
    const bool hide = relative() || (config_.hide_host_cursor && guest_cursor_visible_);
    SDL_ShowCursor(hide ? SDL_DISABLE : SDL_ENABLE);
}

void WindowInput::feed(std::uint16_t type, std::uint16_t code, std::int32_t value) {
    router_.feed(kWindowDevice, {monotonic_ns(), type, code, value, 0});
}

void WindowInput::end_event() {
    feed(ev::syn, ev::syn_report, 0);
}

void WindowInput::native_key(const SDL_SysWMmsg& m) {
#if defined(SDL_VIDEO_DRIVER_X11)
    if (m.subsystem != SDL_SYSWM_X11) return;
    const XEvent& x = m.msg.x11.event;
    if (x.type != KeyPress && x.type != KeyRelease) return;
    // SDL queues its own key event right behind the native one when it knows
    // the key (both come from one X event); then that one is used. Should
    // both arrive anyway, the router drops the second press and release.
    SDL_Event next;
    if (SDL_PeepEvents(&next, 1, SDL_PEEKEVENT, SDL_FIRSTEVENT, SDL_LASTEVENT) == 1 &&
        (next.type == SDL_KEYDOWN || next.type == SDL_KEYUP))
        return;
    if (x.xkey.keycode < 8 || x.xkey.keycode - 8 >= kKeyCount) return;
    const auto code = static_cast<std::uint16_t>(x.xkey.keycode - 8);
    // SDL's X11 backend asks for detectable autorepeat: a press of a held key repeats.
    const std::int32_t value = x.type == KeyRelease ? 0 : router_.guest_held().test(code) ? 2 : 1;
    feed(ev::key, code, value);
    end_event();
#else
    (void)m;
#endif
}

std::vector<WindowAction> WindowInput::handle(const SDL_Event& e) {
    std::vector<WindowAction> actions;
    actions_ = &actions;
    switch (e.type) {
        case SDL_KEYDOWN:
        case SDL_KEYUP: {
            if (!focused_) break;
            const bool down = e.key.state == SDL_PRESSED;
            if (e.key.keysym.scancode == config_.capture_key && !e.key.repeat)
                capture_key_down_ = down;
            const std::uint16_t code = evdev_code(e.key.keysym);
            if (code == 0) break;
            feed(ev::key, code, down ? (e.key.repeat ? 2 : 1) : 0);
            end_event();
            break;
        }
        case SDL_SYSWMEVENT:
            if (focused_ && config_.to_guest && e.syswm.msg != nullptr) native_key(*e.syswm.msg);
            break;
        case SDL_MOUSEMOTION:
            if (!focused_ || !config_.to_guest) break;
            if (relative()) {
                if (e.motion.xrel) feed(ev::rel, REL_X, e.motion.xrel);
                if (e.motion.yrel) feed(ev::rel, REL_Y, e.motion.yrel);
            } else {
                const auto scale = [](int v, int origin, int size) {
                    const double t = std::clamp(
                        (v - origin) / static_cast<double>(std::max(size - 1, 1)), 0.0, 1.0);
                    return static_cast<std::int32_t>(std::lround(t * ev::abs_max));
                };
                feed(ev::abs, ev::abs_x, scale(e.motion.x, view_.x, view_.w));
                feed(ev::abs, ev::abs_y, scale(e.motion.y, view_.y, view_.h));
            }
            end_event();
            break;
        case SDL_MOUSEBUTTONDOWN:
        case SDL_MOUSEBUTTONUP: {
            if (!focused_ || !config_.to_guest) break;
            const std::uint16_t b = sdl_button(e.button.button);
            if (b == 0) break;
            feed(ev::key, b, e.type == SDL_MOUSEBUTTONDOWN ? 1 : 0);
            end_event();
            break;
        }
        case SDL_MOUSEWHEEL: {
            if (!focused_ || !config_.to_guest) break;
            const float flip = e.wheel.direction == SDL_MOUSEWHEEL_FLIPPED ? -1.0F : 1.0F;
            const auto hi_y =
                static_cast<std::int32_t>(std::lround(e.wheel.preciseY * flip * 120.0F));
            const auto hi_x =
                static_cast<std::int32_t>(std::lround(e.wheel.preciseX * flip * 120.0F));
            if (e.wheel.y) feed(ev::rel, REL_WHEEL, e.wheel.y * static_cast<int>(flip));
            if (hi_y) feed(ev::rel, REL_WHEEL_HI_RES, hi_y);
            if (e.wheel.x) feed(ev::rel, REL_HWHEEL, e.wheel.x * static_cast<int>(flip));
            if (hi_x) feed(ev::rel, REL_HWHEEL_HI_RES, hi_x);
            end_event();
            break;
        }
        case SDL_WINDOWEVENT:
            if (e.window.event == SDL_WINDOWEVENT_FOCUS_LOST) {
                focused_ = false;
                capture_key_down_ = false;
                // The guest gets its releases and a waiting switch is dropped
                // first (else the device going would complete it); then the
                // window's keys are gone: their releases go elsewhere.
                router_.force_host();
                router_.device_gone(kWindowDevice);
            } else if (e.window.event == SDL_WINDOWEVENT_FOCUS_GAINED) {
                focused_ = true;
            }
            break;
        default:
            break;
    }
    actions_ = nullptr;
    return actions;
}

}  // namespace porthole::client::input
