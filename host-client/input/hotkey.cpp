#include "input/hotkey.hpp"

#include <libevdev/libevdev.h>
#include <linux/input-event-codes.h>

#include <algorithm>
#include <array>

namespace porthole::client::input {

Result<Hotkey> parse_hotkey(std::string_view spec) {
    struct Preset {
        std::string_view name;
        std::vector<std::vector<std::uint16_t>> groups;
    };
    const std::array<Preset, 6> presets{{
        {"ctrl-ctrl", {{KEY_LEFTCTRL}, {KEY_RIGHTCTRL}}},
        {"alt-alt", {{KEY_LEFTALT}, {KEY_RIGHTALT}}},
        {"shift-shift", {{KEY_LEFTSHIFT}, {KEY_RIGHTSHIFT}}},
        {"meta-meta", {{KEY_LEFTMETA}, {KEY_RIGHTMETA}}},
        {"scrolllock", {{KEY_SCROLLLOCK}}},
        {"ctrl-scrolllock", {{KEY_LEFTCTRL, KEY_RIGHTCTRL}, {KEY_SCROLLLOCK}}},
    }};
    for (const auto& p : presets) {
        if (p.name == spec) return Hotkey{p.groups, std::string(spec)};
    }
    Hotkey h;
    h.name = std::string(spec);
    std::string_view rest = spec;
    while (!rest.empty()) {
        const auto plus = rest.find('+');
        const std::string name(rest.substr(0, plus));
        rest = plus == std::string_view::npos ? std::string_view{} : rest.substr(plus + 1);
        const int code = libevdev_event_code_from_name(EV_KEY, name.c_str());
        if (code < 0) {
            return Error::make("unknown key '" + name + "' in hotkey '" + std::string(spec) +
                               "': use a preset (ctrl-ctrl, alt-alt, shift-shift, meta-meta, "
                               "scrolllock, ctrl-scrolllock) or evdev names like "
                               "KEY_LEFTALT+KEY_F12");
        }
        h.groups.push_back({static_cast<std::uint16_t>(code)});
    }
    if (h.groups.empty()) return Error::make("empty hotkey: give a preset or evdev key names");
    return h;
}

bool hotkey_uses(const Hotkey& h, std::uint16_t code) {
    return std::any_of(h.groups.begin(), h.groups.end(), [code](const auto& g) {
        return std::find(g.begin(), g.end(), code) != g.end();
    });
}

}  // namespace porthole::client::input
