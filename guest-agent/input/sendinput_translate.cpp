#include "input/sendinput_translate.hpp"

#include <algorithm>

#include <optional>

#include "porthole/protocol/input_ring.hpp"
#include "porthole/protocol/keymap.hpp"

namespace porthole::agent::win {
namespace {

namespace ev = protocol::ev;
// evdev codes used here (linux/input-event-codes.h is not on Windows).
constexpr std::uint16_t kBtnLeft = 0x110, kBtnRight = 0x111, kBtnMiddle = 0x112, kBtnSide = 0x113,
                        kBtnExtra = 0x114;
constexpr std::uint16_t kRelX = 0, kRelY = 1, kRelHWheel = 6, kRelWheel = 8, kRelWheelHiRes = 11,
                        kRelHWheelHiRes = 12;

SendInputRecord mouse(std::uint32_t flags, std::int32_t data = 0) {
    SendInputRecord r;
    r.kind = SendInputRecord::Kind::mouse;
    r.flags = flags;
    r.mouse_data = data;
    return r;
}

std::optional<SendInputRecord> button(std::uint16_t code, bool down) {
    switch (code) {
        case kBtnLeft:
            return mouse(down ? kLeftDown : kLeftUp);
        case kBtnRight:
            return mouse(down ? kRightDown : kRightUp);
        case kBtnMiddle:
            return mouse(down ? kMiddleDown : kMiddleUp);
        case kBtnSide:
            return mouse(down ? kXDown : kXUp, static_cast<std::int32_t>(kXButton1));
        case kBtnExtra:
            return mouse(down ? kXDown : kXUp, static_cast<std::int32_t>(kXButton2));
        default:
            return std::nullopt;
    }
}

std::int32_t to_desktop(std::int32_t v) {
    return static_cast<std::int32_t>((std::int64_t{v} * 65535 + ev::abs_max / 2) / ev::abs_max);
}

// Protocol units (0..abs_max over the captured area) to a pixel of the
// area, then to MOUSEEVENTF_VIRTUALDESK's 0..65535 over the virtual desktop
// (Windows takes pixel = value * width / 65536, so round up to land on px).
std::int32_t map_axis(std::int32_t v, std::int32_t area_start, std::int32_t area_size,
                      std::int32_t desk_start, std::int32_t desk_size) {
    const std::int64_t px =
        area_start + (std::int64_t{v} * (area_size - 1) + ev::abs_max / 2) / ev::abs_max;
    const std::int64_t n = ((px - desk_start) * 65536 + desk_size - 1) / desk_size;
    return static_cast<std::int32_t>(std::clamp<std::int64_t>(n, 0, 65535));
}

}  // namespace

std::int32_t SendInputTranslator::to_desktop_x(std::int32_t v) const {
    if (captured_.width <= 0 || desktop_.width <= 0) return to_desktop(v);
    return map_axis(v, captured_.left, captured_.width, desktop_.left, desktop_.width);
}

std::int32_t SendInputTranslator::to_desktop_y(std::int32_t v) const {
    if (captured_.height <= 0 || desktop_.height <= 0) return to_desktop(v);
    return map_axis(v, captured_.top, captured_.height, desktop_.top, desktop_.height);
}

std::vector<SendInputRecord> SendInputTranslator::translate(
    std::span<const protocol::InputEvent> events) {
    // Batch by batch: several popped at once keep their own order.
    std::vector<SendInputRecord> out;
    std::size_t start = 0;
    for (std::size_t i = 0; i < events.size(); ++i) {
        if (events[i].type == ev::syn || i + 1 == events.size()) {
            translate_one(events.subspan(start, i + 1 - start), out);
            start = i + 1;
        }
    }
    return out;
}

void SendInputTranslator::translate_one(std::span<const protocol::InputEvent> batch,
                                        std::vector<SendInputRecord>& out) {
    std::int32_t rel_x = 0, rel_y = 0;
    bool moved_abs = false;
    std::int32_t wheel = 0, hwheel = 0, wheel_hi = 0, hwheel_hi = 0;
    bool has_wheel_hi = false, has_hwheel_hi = false;
    // Motion first (summed), then buttons and keys in order, then wheels:
    // a click lands where the batch moved the pointer to.
    std::vector<SendInputRecord> keys;
    for (const auto& e : batch) {
        if (e.device != 0) {  // a gamepad: Windows guests get pads through USB passthrough
            if (e.type != ev::syn) ++unmapped_;
            continue;
        }
        if (e.type == ev::rel) {
            switch (e.code) {
                case kRelX:
                    rel_x += e.value;
                    break;
                case kRelY:
                    rel_y += e.value;
                    break;
                case kRelWheel:
                    wheel += e.value;
                    break;
                case kRelHWheel:
                    hwheel += e.value;
                    break;
                case kRelWheelHiRes:
                    wheel_hi += e.value, has_wheel_hi = true;
                    break;
                case kRelHWheelHiRes:
                    hwheel_hi += e.value, has_hwheel_hi = true;
                    break;
                default:
                    ++unmapped_;
                    break;
            }
        } else if (e.type == ev::abs) {
            (e.code == ev::abs_x ? abs_x_ : abs_y_) = e.value;
            moved_abs = true;
        } else if (e.type == ev::key) {
            const bool down = e.value != 0;
            if (auto b = button(e.code, down)) {
                if (e.value != 2) keys.push_back(*b);
                continue;
            }
            const auto m = protocol::map_evdev_key(e.code);
            if (!m) {
                ++unmapped_;
                continue;
            }
            SendInputRecord r;
            if (m->set1 == protocol::kSet1Pause) {
                r.vk = kVkPause;
                r.flags = down ? 0 : kKeyUp;
            } else {
                r.scan = protocol::set1_low_byte(m->set1);
                r.flags = kKeyScancode | (protocol::set1_is_extended(m->set1) ? kKeyExtended : 0) |
                          (down ? 0 : kKeyUp);
            }
            keys.push_back(r);
        }
    }
    if (rel_x != 0 || rel_y != 0) {
        auto m = mouse(kMouseMove);
        m.dx = rel_x;
        m.dy = rel_y;
        out.push_back(m);
    }
    if (moved_abs) {
        // SendInput needs both coordinates; an axis the batch left alone stays put.
        auto m = mouse(kMouseMove | kAbsolute | kVirtualDesk);
        m.dx = to_desktop_x(abs_x_);
        m.dy = to_desktop_y(abs_y_);
        out.push_back(m);
    }
    out.insert(out.end(), keys.begin(), keys.end());
    const std::int32_t v = has_wheel_hi ? wheel_hi : wheel * 120;
    const std::int32_t h = has_hwheel_hi ? hwheel_hi : hwheel * 120;
    if (v != 0) out.push_back(mouse(kWheel, v));
    if (h != 0) out.push_back(mouse(kHWheel, h));
}

}  // namespace porthole::agent::win
