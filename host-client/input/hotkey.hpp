#pragma once
// The owner-switch hotkey: a combination of key groups, each satisfied by any
// one of its keys (ctrl-ctrl = {LEFTCTRL} + {RIGHTCTRL}; ctrl-scrolllock =
// {LEFTCTRL or RIGHTCTRL} + {SCROLLLOCK}).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "porthole/util/result.hpp"

namespace porthole::client::input {

struct Hotkey {
    std::vector<std::vector<std::uint16_t>> groups;  // all groups held = hotkey
    std::string name;
};

// Presets ctrl-ctrl, alt-alt, shift-shift, meta-meta, scrolllock,
// ctrl-scrolllock, or evdev key names joined by '+' ("KEY_LEFTALT+KEY_F12").
Result<Hotkey> parse_hotkey(std::string_view spec);

// Whether a key code belongs to any group of the hotkey.
bool hotkey_uses(const Hotkey& h, std::uint16_t code);

}  // namespace porthole::client::input
