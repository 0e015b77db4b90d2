#pragma once
// --mouse-sensitivity, shared by window mode (captured motion) and evdev mode
// (REL_X/REL_Y through the router), so both scale motion the same way.

#include <cstdint>

namespace porthole::client::input {

inline constexpr int kMinMouseSensitivity = -9, kMaxMouseSensitivity = 9;

// Scales relative motion by (10 + sensitivity) / 10 in exact integer steps:
// the part of a count that does not make a whole one is carried to the next
// motion, so that slow movement is not lost at low sensitivity.
class MotionScaler {
  public:
    explicit MotionScaler(int sensitivity = 0) { set_sensitivity(sensitivity); }
    void set_sensitivity(int s);
    std::int32_t scale(std::int32_t delta);
    void reset() { carry_ = 0; }

  private:
    std::int64_t tenths_ = 10;  // 10 + sensitivity
    std::int64_t carry_ = 0;    // in tenths of a count, -9..9
};

}  // namespace porthole::client::input
