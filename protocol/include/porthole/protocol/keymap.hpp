#pragma once
// One keymap for both sides: an evdev key code (what the protocol carries) to
// the PC set-1 scancode (SendInput on Windows guests), the QEMU key name
// (QMP input-send-event) and the Windows virtual-key code. Written once by
// hand from the PC keyboard tables; a table of known keys tests it.

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace porthole::protocol {

struct KeyMapping {
    std::uint16_t evdev;     // KEY_* from linux/input-event-codes.h
    std::uint16_t set1;      // set-1 make code; 0xE0xx for E0-prefixed keys; 0xE11D for Pause
    std::uint8_t vk;         // Windows virtual-key code, 0 if none
    std::string_view qcode;  // QEMU QKeyCode name, empty if QEMU has none
};

inline constexpr std::uint16_t kSet1Pause = 0xE11D;  // Pause: E1 1D 45, no break code

// Every key the map knows, sorted by evdev code.
std::span<const KeyMapping> key_mappings();

// The mapping for an evdev key code; nullopt for codes without one (mouse buttons too).
std::optional<KeyMapping> map_evdev_key(std::uint16_t evdev_code);

// Whether a set-1 code carries the E0 prefix (SendInput's KEYEVENTF_EXTENDEDKEY).
constexpr bool set1_is_extended(std::uint16_t set1) {
    return (set1 >> 8) == 0xE0;
}
// The scancode byte SendInput takes (wScan) for a set-1 code.
constexpr std::uint8_t set1_low_byte(std::uint16_t set1) {
    return static_cast<std::uint8_t>(set1 & 0xFF);
}

}  // namespace porthole::protocol
