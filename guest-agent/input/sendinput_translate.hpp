#pragma once
// Windows guests: protocol events to SendInput records. Pure C++ so it is
// tested on Linux too; sendinput.cpp (WIN32 only) copies each record into an
// INPUT and the Wine test checks the INPUT structures themselves.
//
// Keys go as set-1 scancodes (KEYEVENTF_SCANCODE, + EXTENDEDKEY for E0 keys)
// so the guest's keyboard layout applies. Pause has no scancode SendInput
// can express (E1 1D 45), so it goes as VK_PAUSE. Relative motion is summed
// per batch; absolute positions map onto the whole virtual desktop
// (0..65535 with MOUSEEVENTF_VIRTUALDESK); wheels in 120ths, high-resolution
// values preferred over detents when a batch carries both.

#include <cstdint>
#include <span>
#include <vector>

#include "input/injector.hpp"
#include "porthole/protocol/region.hpp"

namespace porthole::agent::win {

// The values of the Windows constants (winuser.h), checked against it on WIN32.
inline constexpr std::uint32_t kKeyExtended = 0x0001, kKeyUp = 0x0002, kKeyScancode = 0x0008;
inline constexpr std::uint32_t kMouseMove = 0x0001, kLeftDown = 0x0002, kLeftUp = 0x0004,
                               kRightDown = 0x0008, kRightUp = 0x0010, kMiddleDown = 0x0020,
                               kMiddleUp = 0x0040, kXDown = 0x0080, kXUp = 0x0100, kWheel = 0x0800,
                               kHWheel = 0x1000, kVirtualDesk = 0x4000, kAbsolute = 0x8000;
inline constexpr std::uint32_t kXButton1 = 0x0001, kXButton2 = 0x0002;
inline constexpr std::uint16_t kVkPause = 0x13;

struct SendInputRecord {
    enum class Kind : std::uint8_t { keyboard, mouse } kind = Kind::keyboard;
    std::uint16_t vk = 0;    // keyboard: virtual key (0 when a scancode is sent)
    std::uint16_t scan = 0;  // keyboard: set-1 scancode byte
    std::int32_t dx = 0, dy = 0;
    std::int32_t mouse_data = 0;  // wheel delta or X button
    std::uint32_t flags = 0;      // KEYEVENTF_* or MOUSEEVENTF_*
    bool operator==(const SendInputRecord&) const = default;
};

class SendInputTranslator {
  public:
    // The records for the events (one or more batches, each ending with
    // SYN_REPORT), in the order SendInput should replay them.
    std::vector<SendInputRecord> translate(std::span<const protocol::InputEvent> events);
    // Absolute positions land on `captured` (the monitor the host shows)
    // inside the virtual desktop `desktop`; width 0: the whole desktop.
    void set_absolute_target(const ScreenArea& captured, const ScreenArea& desktop) {
        captured_ = captured;
        desktop_ = desktop;
    }
    // Events with no Windows equivalent so far.
    [[nodiscard]] std::uint64_t unmapped() const { return unmapped_; }

  private:
    void translate_one(std::span<const protocol::InputEvent> batch,
                       std::vector<SendInputRecord>& out);
    [[nodiscard]] std::int32_t to_desktop_x(std::int32_t v) const;
    [[nodiscard]] std::int32_t to_desktop_y(std::int32_t v) const;
    std::int32_t abs_x_ = 0, abs_y_ = 0;  // last absolute position (protocol units)
    ScreenArea captured_, desktop_;
    std::uint64_t unmapped_ = 0;
};

}  // namespace porthole::agent::win
