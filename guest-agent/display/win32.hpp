#pragma once
// The Windows backend of display/modes.hpp: EnumDisplaySettingsEx lists the
// modes, ChangeDisplaySettingsEx tests (CDS_TEST) then sets one, for this
// session only (not written to the registry: a reboot restores the user's).

#include <cstdint>
#include <memory>
#include <string>

#include "display/modes.hpp"

namespace porthole::agent::display {

// `device`: a GDI display name (\\.\DISPLAY1), "" for the primary display.
Result<std::unique_ptr<DisplayModes>> open_win32_modes(const std::string& device);

// The GDI name of the display showing the desktop point (x, y) ("" if none):
// the display DXGI captures, found from its desktop rectangle.
std::string display_device_at(std::int32_t x, std::int32_t y);

}  // namespace porthole::agent::display
