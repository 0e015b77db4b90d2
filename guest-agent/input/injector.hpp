#pragma once
// Injecting the host's input in the guest: one small interface, a backend
// per OS (uinput on Linux, SendInput on Windows) and "none" for capture-only
// agents. The agent pops events from the region's input ring and hands them
// over a batch at a time (each batch ends with SYN_REPORT).

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "porthole/protocol/region.hpp"
#include "porthole/util/result.hpp"

namespace porthole::agent {

struct InjectorStats {
    std::uint64_t events = 0;    // events injected
    std::uint64_t unmapped = 0;  // events with no equivalent on this OS (counted, never silent)
    std::uint64_t failed = 0;    // events the OS refused
};

// A rectangle in the guest's desktop pixels.
struct ScreenArea {
    std::int32_t left = 0, top = 0, width = 0, height = 0;
    friend bool operator==(const ScreenArea&, const ScreenArea&) = default;
};

class InputInjector {
  public:
    virtual ~InputInjector() = default;
    [[nodiscard]] virtual std::string_view name() const = 0;
    // Injects validated events (protocol::is_valid_input_event holds for each).
    virtual Status inject(std::span<const protocol::InputEvent> events) = 0;
    [[nodiscard]] virtual InjectorStats stats() const = 0;
    // The part of the desktop the host sees (one monitor of several):
    // absolute positions map onto it. Width 0: the whole desktop. Called
    // from the capture thread while inject() runs on the input thread.
    virtual void set_captured_area(const ScreenArea& /*area*/) {}
    // Force feedback games asked of the injector's pads, for the host's pads
    // (appended to `out`); called on the thread that calls inject().
    virtual Status take_feedback(std::vector<protocol::PadFeedbackRecord>& /*out*/) { return {}; }
};

// "uinput" (Linux), "sendinput" (Windows) or "none"; an error names what this build offers.
Result<std::unique_ptr<InputInjector>> make_injector(std::string_view kind);

}  // namespace porthole::agent
