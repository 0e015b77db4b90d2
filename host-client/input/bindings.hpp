#pragma once
// The client's key bindings, as Looking Glass users know them: hold the
// capture key (ScrollLock unless --hotkey) and press a key. One table, read by
// the window input (what a key does) and by --help, the man page and the
// README (what the user is told), so they cannot disagree. A key pressed while
// the capture key is held never reaches the guest, bound or not. Keys are
// evdev codes: InputRouter (input/router.hpp) looks them up for every front end.

#include <linux/input-event-codes.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace porthole::client::input {

enum class WindowAction : std::uint8_t {
    capture_on,
    capture_off,
    toggle_fullscreen,
    toggle_overlay,
    screenshot,
    release_input,
    send_ctrl_alt_del,
    cycle_mouse_mode,
    toggle_usb,
    quit,
};
const char* to_string(WindowAction a);

struct KeyBinding {
    std::uint16_t key;  // evdev code
    WindowAction action;
    std::string_view key_name;  // as printed: "F", "Delete"
    std::string_view what;      // what it does, for --help and the README
};

inline constexpr std::array<KeyBinding, 8> kKeyBindings{{
    {KEY_F, WindowAction::toggle_fullscreen, "F", "toggle borderless fullscreen"},
    {KEY_O, WindowAction::toggle_overlay, "O", "toggle the statistics overlay"},
    {KEY_P, WindowAction::screenshot, "P",
     "save a screenshot in $XDG_PICTURES_DIR (or ~/Pictures)"},
    {KEY_R, WindowAction::release_input, "R",
     "release the keyboard and mouse (and every key the guest holds)"},
    {KEY_M, WindowAction::cycle_mouse_mode, "M", "mouse mode: auto, absolute, relative, in turn"},
    {KEY_DELETE, WindowAction::send_ctrl_alt_del, "Delete",
     "send Ctrl+Alt+Del to the guest (agent or QMP)"},
    {KEY_U, WindowAction::toggle_usb, "U",
     "attach the --usb devices to the VM, or give them back to the host"},
    {KEY_Q, WindowAction::quit, "Q", "quit porthole"},
}};

// The binding of `key`, or nullptr.
const KeyBinding* find_binding(std::uint16_t key);

// Plain text for --help and the man page: a heading line naming `capture_key`,
// then one "  KEY  what" line per binding.
std::string bindings_text(std::string_view capture_key = "ScrollLock");

// The help panel shown while the capture key is held (after a moment, so
// that a quick binding does not flash it): a heading, one
// "KEY  what" line per binding, and what the key alone does when it toggles
// capture (`alone_toggles_capture`; not with evdev or no input).
std::vector<std::string> help_lines(std::string_view capture_key = "ScrollLock",
                                    bool alone_toggles_capture = true);

// The README's table (Markdown), one row per binding.
std::string bindings_markdown(std::string_view capture_key = "ScrollLock");

}  // namespace porthole::client::input
