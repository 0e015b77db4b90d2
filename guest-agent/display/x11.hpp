#pragma once
// The X11 backend of display/modes.hpp: RandR 1.2+ (libXrandr).

#include <memory>
#include <string>

#include "display/modes.hpp"

namespace porthole::agent::display {

// An error naming the display when it cannot be opened or lacks RandR 1.2.
Result<std::unique_ptr<DisplayModes>> open_x11_modes(const std::string& display);

}  // namespace porthole::agent::display
