#pragma once
// Gamepads forwarded to a Linux guest: evdev pads (sticks, triggers, buttons)
// read with libevdev and sent through the region's input ring in pad slots
// (InputEvent::device 1..4), where the agent replays them on a uinput pad.
// Pads are not part of the keyboard/mouse ownership switch: a pad given to
// the client (--gamepad) belongs to the guest and is grabbed while forwarded.
//
// The device is not trusted either: only the protocol's eight pad axes are
// read (whatever count the device declares), each mapped from the range its
// absinfo declares onto the protocol's fixed range with the value clamped
// first; an axis with an empty or inverted range is left out.

#include <linux/input.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "input/sink.hpp"
#include "porthole/protocol/input_ring.hpp"
#include "porthole/protocol/pad_feedback.hpp"
#include "porthole/util/result.hpp"

struct libevdev;

namespace porthole::client::input {

// Whether an evdev device is a gamepad: the gamepad buttons (BTN_SOUTH ..)
// and a stick (ABS_X and ABS_Y). Keyboards and mice are not.
bool is_gamepad(const libevdev* dev);

// The value ranges a pad declares for the protocol's pad axes (absinfo).
struct PadAxes {
    // Indexed by position in protocol::pad::kAxes; nullopt: absent or unusable.
    std::array<std::optional<protocol::pad::AxisRange>, std::size(protocol::pad::kAxes)> from{};
    static PadAxes of(const libevdev* dev);
};

// Maps one device's events to pad-slot events; what has no place in the
// protocol's pad layout is counted and left out.
class PadMapper {
  public:
    PadMapper(PadAxes axes, std::uint32_t slot) : axes_(axes), slot_(slot) {}
    // The protocol event for `e`, or nullopt (SYN_REPORT maps to the slot's own).
    std::optional<protocol::InputEvent> map(const input_event& e);
    [[nodiscard]] std::uint64_t dropped() const { return dropped_; }

  private:
    PadAxes axes_;
    std::uint32_t slot_;
    std::uint64_t dropped_ = 0;
};

// Maps `value` from [from.min, from.max] (clamped into it) onto `to`.
std::int32_t map_axis_range(std::int32_t value, protocol::pad::AxisRange from,
                            protocol::pad::AxisRange to);

struct GamepadInfo {
    std::string path;
    std::string name;
    std::uint32_t slot = 0;
    bool open = false;
    bool rumble = false;  // the guest's force feedback plays on it
    std::string last_error;
};

// What became of the guest's force-feedback records.
struct PadFeedbackStats {
    std::uint64_t applied = 0;    // acted on (an unchanged upload included)
    std::uint64_t no_rumble = 0;  // for a slot with no pad open, or one without rumble
    std::uint64_t refused = 0;    // the device refused, or the guest asked the impossible
    std::uint64_t lost = 0;       // overwritten before the host read them
    std::uint64_t rejected = 0;   // invalid (is_valid_pad_feedback)
};

// Reads the pads named on the command line, one slot each (at most
// protocol::pad::kMaxGamepads), and delivers one batch per SYN_REPORT. A pad
// that goes away is announced to the guest (pad::syn_gone) and reopened when
// its node is back (checked on each poll, at most every `retry`).
class GamepadInput {
  public:
    static Result<std::unique_ptr<GamepadInput>> create(std::vector<std::string> paths,
                                                        InputSink& sink);
    // Tells the guest every open pad is gone (its pads are destroyed there).
    ~GamepadInput();
    GamepadInput(const GamepadInput&) = delete;
    GamepadInput& operator=(const GamepadInput&) = delete;
    // Waits up to `timeout` for pad events and forwards them.
    Status poll(std::chrono::milliseconds timeout);
    [[nodiscard]] std::vector<GamepadInfo> pads() const;
    [[nodiscard]] std::uint64_t dropped() const;  // events with no place in the pad layout

    // The agent's force-feedback ring of a new session (nullopt: none). What
    // the last session's guest uploaded is stopped and erased on the next
    // poll. Any thread; poll() reads the ring, taking at most
    // kFeedbackPerPoll records a poll and polling at least every
    // kFeedbackPeriod while pads with rumble are open.
    void attach_feedback(std::optional<protocol::PadFeedbackReader> reader);
    static constexpr std::size_t kFeedbackPerPoll = 16;
    static constexpr std::chrono::milliseconds kFeedbackPeriod{4};
    [[nodiscard]] PadFeedbackStats feedback_stats() const;
    // Where to say what the user should know once (a pad with rumble open
    // read-only, the first bad record of a kind); called from the polling
    // thread, so set it before polling starts. What was to be said before
    // (while create opened the pads) is said now.
    void set_notice(std::function<void(const std::string&)> notice);

  private:
    struct Impl;
    explicit GamepadInput(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace porthole::client::input
