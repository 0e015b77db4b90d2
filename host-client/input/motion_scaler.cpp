#include "input/motion_scaler.hpp"

#include <algorithm>

namespace porthole::client::input {

void MotionScaler::set_sensitivity(int s) {
    tenths_ = 10 + std::clamp(s, kMinMouseSensitivity, kMaxMouseSensitivity);
    carry_ = 0;
}

std::int32_t MotionScaler::scale(std::int32_t delta) {
    const std::int64_t total = std::int64_t{delta} * tenths_ + carry_;
    // Rounds toward zero and keeps the rest: the rest keeps total's sign, so
    // motion back the other way first uses up what was carried.
    const std::int64_t whole = total / 10;
    carry_ = total - whole * 10;
    return static_cast<std::int32_t>(whole);
}

}  // namespace porthole::client::input
