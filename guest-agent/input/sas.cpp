#include "input/sas.hpp"

namespace porthole::agent {

namespace {
// evdev codes (linux/input-event-codes.h).
constexpr std::uint16_t kEvKey = 1;
constexpr std::uint16_t kLeftCtrl = 29, kRightCtrl = 97, kLeftAlt = 56, kRightAlt = 100;
constexpr std::uint16_t kDelete = 111, kKeypadDot = 83;
}  // namespace

bool SasDetector::on_event(const protocol::InputEvent& e) {
    if (e.type != kEvKey) return false;
    const bool down = e.value != 0;
    switch (e.code) {
        case kLeftCtrl:
            ctrl_l_ = down;
            return false;
        case kRightCtrl:
            ctrl_r_ = down;
            return false;
        case kLeftAlt:
            alt_l_ = down;
            return false;
        case kRightAlt:
            alt_r_ = down;
            return false;
        case kDelete:
        case kKeypadDot:
            return e.value == 1 && (ctrl_l_ || ctrl_r_) && (alt_l_ || alt_r_);
        default:
            return false;
    }
}

}  // namespace porthole::agent
