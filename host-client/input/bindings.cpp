#include "input/bindings.hpp"

#include <algorithm>

namespace porthole::client::input {

const char* to_string(WindowAction a) {
    switch (a) {
        case WindowAction::capture_on:
            return "capture on";
        case WindowAction::capture_off:
            return "capture off";
        case WindowAction::toggle_fullscreen:
            return "fullscreen";
        case WindowAction::toggle_overlay:
            return "overlay";
        case WindowAction::screenshot:
            return "screenshot";
        case WindowAction::release_input:
            return "release input";
        case WindowAction::send_ctrl_alt_del:
            return "Ctrl+Alt+Del";
        case WindowAction::cycle_mouse_mode:
            return "mouse mode";
        case WindowAction::toggle_usb:
            return "USB devices";
        case WindowAction::quit:
            return "quit";
    }
    return "?";
}

const KeyBinding* find_binding(std::uint16_t key) {
    const auto* it = std::find_if(kKeyBindings.begin(), kKeyBindings.end(),
                                  [key](const KeyBinding& b) { return b.key == key; });
    return it == kKeyBindings.end() ? nullptr : &*it;
}

std::string bindings_text(std::string_view capture_key) {
    std::string out = "Keys: ";
    out.append(capture_key)
        .append(
            " (--hotkey) alone captures and releases the keyboard and mouse; hold it and "
            "press:\n");
    for (const auto& b : kKeyBindings) {
        std::string key(b.key_name);
        key.resize(std::max<std::size_t>(key.size(), 8), ' ');
        out.append("  ").append(key).append(b.what).append("\n");
    }
    return out;
}

std::vector<std::string> help_lines(std::string_view capture_key, bool alone_toggles_capture) {
    std::vector<std::string> lines{"Hold " + std::string(capture_key) + " and press:"};
    for (const auto& b : kKeyBindings) {
        std::string key(b.key_name);
        key.resize(std::max<std::size_t>(key.size(), 8), ' ');
        lines.push_back("  " + key + std::string(b.what));
    }
    if (alone_toggles_capture) {
        lines.emplace_back(std::string(capture_key) +
                           " alone captures and releases the keyboard and mouse");
    }
    return lines;
}

std::string bindings_markdown(std::string_view capture_key) {
    std::string out = "| keys | action |\n| --- | --- |\n";
    out.append("| ").append(capture_key).append(" | capture or release the keyboard and mouse |\n");
    for (const auto& b : kKeyBindings) {
        out.append("| ").append(capture_key).append(" + ").append(b.key_name);
        out.append(" | ").append(b.what).append(" |\n");
    }
    return out;
}

}  // namespace porthole::client::input
