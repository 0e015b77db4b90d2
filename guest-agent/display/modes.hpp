#pragma once
// The guest's resolution following the host's window (Looking Glass's
// win:setGuestRes): the client asks for a size, the agent picks the best
// mode the captured display offers and sets it. Backends: x11.cpp (RandR
// 1.2+) and win32.cpp (EnumDisplaySettingsEx / ChangeDisplaySettingsEx);
// the choice itself is pure and tested with a fake backend.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "porthole/util/result.hpp"

namespace porthole::agent::display {

struct Mode {
    std::uint32_t width = 0, height = 0;
    std::uint32_t refresh_mhz = 0;  // refresh rate in mHz (0: unknown)
    friend bool operator==(const Mode&, const Mode&) = default;
};

// The mode for a window of `width` x `height` pixels: that exact size, else
// the largest (by area, then width) that fits inside it, else none (never a
// mode larger than the window: it would be scaled down or cut). Among modes of
// the chosen size, the current refresh rate if offered, else the highest.
std::optional<Mode> choose_mode(std::span<const Mode> offered, std::uint32_t width,
                                std::uint32_t height, const std::optional<Mode>& current);

class DisplayModes {
  public:
    virtual ~DisplayModes() = default;
    [[nodiscard]] virtual std::string_view name() const = 0;
    // The modes the display can be set to, and the one it has.
    virtual Result<std::vector<Mode>> modes() = 0;
    virtual Result<Mode> current() = 0;
    // Sets one of modes(); the error says why the system refused it.
    virtual Status set(const Mode& mode) = 0;
};

struct ApplyOutcome {
    std::optional<Mode> chosen;  // none: nothing the display offers fits the request
    bool changed = false;        // false: the display already had that size
};

// Picks and sets the mode for a request. A request the display already
// matches (same size) changes nothing, whatever its refresh rate.
Result<ApplyOutcome> apply_request(DisplayModes& display, std::uint32_t width,
                                   std::uint32_t height);

// Backends compiled in ("auto" first, "none" last), for --help.
std::vector<std::string_view> available_display_modes();
// "x11" (`target`: the X display, "" = $DISPLAY), "win32" (`target`: the GDI
// device, e.g. \\.\DISPLAY1, "" = the primary display), or "none" (null).
Result<std::unique_ptr<DisplayModes>> make_display_modes(std::string_view name,
                                                         const std::string& target);

}  // namespace porthole::agent::display
