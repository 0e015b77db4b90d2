#pragma once
// The X resource database of an SDL window's X11 display (Xft.dpi lives
// there). Its own file: Xlib's macros (Status, None, Bool) stay out of the rest.

#include <SDL2/SDL.h>

#include <optional>
#include <string>

namespace porthole::client {

// RESOURCE_MANAGER as the window's connection read it when SDL opened the
// display (XResourceManagerString); nullopt when the window is not on X11 or
// the root window has none (no xrdb, no desktop settings daemon).
std::optional<std::string> x11_resource_string(SDL_Window* window);

}  // namespace porthole::client
