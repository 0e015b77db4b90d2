#include "qmp/translate.hpp"

#include <linux/input-event-codes.h>

#include <cstdlib>

#include "porthole/protocol/input_ring.hpp"
#include "porthole/protocol/keymap.hpp"

namespace porthole::client::qmp {
namespace {

namespace ev = protocol::ev;
using nlohmann::json;

const char* button_name(std::uint16_t code) {
    switch (code) {
        case BTN_LEFT:
            return "left";
        case BTN_RIGHT:
            return "right";
        case BTN_MIDDLE:
            return "middle";
        case BTN_SIDE:
            return "side";
        case BTN_EXTRA:
            return "extra";
        default:
            return nullptr;
    }
}

json button(const char* name, bool down) {
    return {{"type", "btn"}, {"data", {{"down", down}, {"button", name}}}};
}

}  // namespace

std::string_view qcode_for(std::uint16_t evdev_code, QemuVersion qemu) {
    // QEMU 8.0 added f13..f24 to QKeyCode (qapi/ui.json).
    static constexpr std::string_view kF13To24[] = {"f13", "f14", "f15", "f16", "f17", "f18",
                                                    "f19", "f20", "f21", "f22", "f23", "f24"};
    if (evdev_code >= KEY_F13 && evdev_code <= KEY_F24)
        return qemu >= kQemuWithF13ToF24 ? kF13To24[evdev_code - KEY_F13] : std::string_view{};
    const auto m = protocol::map_evdev_key(evdev_code);
    return m ? m->qcode : std::string_view{};
}

Translation to_qmp_events(std::span<const protocol::InputEvent> batch, QemuVersion qemu) {
    Translation t;
    for (const auto& e : batch) {
        if (e.device != 0) {  // gamepads: QMP's input-send-event has no pads
            if (e.type != ev::syn) ++t.unmapped;
            continue;
        }
        switch (e.type) {
            case ev::key: {
                const bool down = e.value != 0;
                if (const char* b = button_name(e.code)) {
                    if (e.value == 2) break;  // buttons do not repeat
                    t.events.push_back(button(b, down));
                    break;
                }
                const std::string_view qcode = qcode_for(e.code, qemu);
                if (qcode.empty()) {
                    ++t.unmapped;
                    if (e.code >= KEY_F13 && e.code <= KEY_F24) ++t.needs_newer_qemu;
                    break;
                }
                t.events.push_back(
                    {{"type", "key"},
                     {"data",
                      {{"down", down},
                       {"key", {{"type", "qcode"}, {"data", std::string(qcode)}}}}}});
                break;
            }
            case ev::rel:
                if (e.code == REL_X || e.code == REL_Y) {
                    t.events.push_back(
                        {{"type", "rel"},
                         {"data", {{"axis", e.code == REL_X ? "x" : "y"}, {"value", e.value}}}});
                } else if (e.code == REL_WHEEL || e.code == REL_HWHEEL) {
                    // evdev: wheel +1 is away from the user (up), hwheel +1 is right.
                    const char* name = e.code == REL_WHEEL
                                           ? (e.value > 0 ? "wheel-up" : "wheel-down")
                                           : (e.value > 0 ? "wheel-right" : "wheel-left");
                    for (int i = 0; i < std::abs(e.value) && i < 16; ++i) {
                        t.events.push_back(button(name, true));
                        t.events.push_back(button(name, false));
                    }
                } else if (e.code != REL_WHEEL_HI_RES && e.code != REL_HWHEEL_HI_RES) {
                    ++t.unmapped;
                }
                break;
            case ev::abs:
                if (e.code == ev::abs_x || e.code == ev::abs_y) {
                    t.events.push_back(
                        {{"type", "abs"},
                         {"data",
                          {{"axis", e.code == ev::abs_x ? "x" : "y"}, {"value", e.value}}}});
                } else {
                    ++t.unmapped;
                }
                break;
            default:
                break;  // SYN_REPORT: the batch itself is the frame
        }
    }
    return t;
}

std::string input_send_event_command(const nlohmann::json& events, std::uint64_t id) {
    json cmd = {{"execute", "input-send-event"}, {"arguments", {{"events", events}}}, {"id", id}};
    return cmd.dump() + "\n";
}

}  // namespace porthole::client::qmp
