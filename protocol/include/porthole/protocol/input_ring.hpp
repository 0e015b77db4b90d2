#pragma once
// The input channel: a lock-free single-producer (host) single-consumer
// (guest) ring of fixed-size evdev-style events. Neither side trusts the
// other's index: a consumer that finds an impossible head resynchronises.

#include <cstdint>
#include <optional>
#include <span>

#include "porthole/protocol/region.hpp"
#include "porthole/util/result.hpp"

namespace porthole::protocol {

// evdev event types and the few codes the protocol itself interprets.
namespace ev {
inline constexpr std::uint16_t syn = 0x00, key = 0x01, rel = 0x02, abs = 0x03;
inline constexpr std::uint16_t syn_report = 0;
inline constexpr std::uint16_t abs_x = 0x00, abs_y = 0x01;
inline constexpr std::int32_t abs_max = 32767;
inline constexpr std::uint16_t max_key_code = 0x2ff;
inline constexpr std::uint16_t max_rel_code = 0x0f;
}  // namespace ev

// Gamepads (InputEvent::device 1..kMaxGamepads): one fixed layout, the
// common "Xbox 360" shape games and SDL know. The host maps each device's
// axes onto these ranges from its absinfo, so no range travels on the wire
// and the guest declares the same ranges for every pad.
namespace pad {
inline constexpr std::uint32_t kMaxGamepads = 4;
// A pad's events end with SYN_REPORT; this SYN code says the pad is gone (its
// device is destroyed in the guest). Outside evdev's SYN codes (< 0x10).
inline constexpr std::uint16_t syn_gone = 0x100;
inline constexpr std::uint16_t btn_first = 0x130, btn_last = 0x13e;    // BTN_SOUTH..BTN_THUMBR
inline constexpr std::uint16_t dpad_first = 0x220, dpad_last = 0x223;  // BTN_DPAD_UP..RIGHT
inline constexpr std::uint16_t abs_x = 0x00, abs_y = 0x01,
                               abs_z = 0x02;  // left stick, left trigger
inline constexpr std::uint16_t abs_rx = 0x03, abs_ry = 0x04, abs_rz = 0x05;  // right stick, trigger
inline constexpr std::uint16_t abs_hat0x = 0x10, abs_hat0y = 0x11;           // d-pad as a hat
inline constexpr std::uint16_t kAxes[] = {abs_x,  abs_y,  abs_z,     abs_rx,
                                          abs_ry, abs_rz, abs_hat0x, abs_hat0y};
struct AxisRange {
    std::int32_t min, max;
};
inline constexpr AxisRange stick{-32768, 32767}, trigger{0, 1023}, hat{-1, 1};
// The range of a pad axis; nullopt for a code that is not one.
constexpr std::optional<AxisRange> axis_range(std::uint16_t code) {
    switch (code) {
        case abs_x:
        case abs_y:
        case abs_rx:
        case abs_ry:
            return stick;
        case abs_z:
        case abs_rz:
            return trigger;
        case abs_hat0x:
        case abs_hat0y:
            return hat;
        default:
            return std::nullopt;
    }
}
constexpr bool is_button(std::uint16_t code) {
    return (code >= btn_first && code <= btn_last) || (code >= dpad_first && code <= dpad_last);
}
}  // namespace pad

// Whether an event read from the ring is one the guest may inject.
bool is_valid_input_event(const InputEvent& e);

// The agent lays out the ring at session start.
Status init_input_ring(std::span<std::byte> channel, std::uint32_t capacity);

class InputRingWriter {  // host side
  public:
    static Result<InputRingWriter> attach(std::span<std::byte> channel);
    // Appends events; all or none (a batch is one SYN_REPORT's worth). False
    // when the ring lacks room: counted in host_overflow, nothing written.
    bool push(std::span<const InputEvent> events);
    [[nodiscard]] std::uint64_t overflow() const { return overflow_; }
    // Free slots as the host sees them now.
    [[nodiscard]] std::uint64_t free_space() const;
    // Back to an empty ring (the agent restarted and reset its tail).
    void reset();

  private:
    InputRingWriter(std::span<std::byte> channel, std::uint32_t capacity,
                    std::uint64_t events_offset)
        : channel_(channel), capacity_(capacity), events_offset_(events_offset) {}
    std::span<std::byte> channel_;
    std::uint32_t capacity_;
    std::uint64_t events_offset_;
    std::uint64_t head_ = 0;
    std::uint64_t overflow_ = 0;
};

class InputRingReader {  // guest side
  public:
    static Result<InputRingReader> attach(std::span<std::byte> channel);
    // Takes up to out.size() events; invalid events are skipped and counted.
    std::size_t pop(std::span<InputEvent> out);
    [[nodiscard]] std::uint64_t rejected() const { return rejected_; }
    [[nodiscard]] std::uint64_t resyncs() const { return resyncs_; }
    // Events the host could not deliver because the ring was full.
    [[nodiscard]] std::uint64_t host_overflow() const;

  private:
    InputRingReader(std::span<std::byte> channel, std::uint32_t capacity,
                    std::uint64_t events_offset)
        : channel_(channel), capacity_(capacity), events_offset_(events_offset) {}
    std::span<std::byte> channel_;
    std::uint32_t capacity_;
    std::uint64_t events_offset_;
    std::uint64_t tail_ = 0;
    std::uint64_t rejected_ = 0;
    std::uint64_t resyncs_ = 0;
};

}  // namespace porthole::protocol
