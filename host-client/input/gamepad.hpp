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
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "input/sink.hpp"
#include "porthole/protocol/input_ring.hpp"
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
    std::string last_error;
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

  private:
    struct Impl;
    explicit GamepadInput(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace porthole::client::input
