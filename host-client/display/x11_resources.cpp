#include "display/x11_resources.hpp"

#include <SDL2/SDL_syswm.h>

#if defined(SDL_VIDEO_DRIVER_X11)
#include <X11/Xlib.h>
#endif

namespace porthole::client {

std::optional<std::string> x11_resource_string(SDL_Window* window) {
#if defined(SDL_VIDEO_DRIVER_X11)
    SDL_SysWMinfo info;
    SDL_VERSION(&info.version);
    if (SDL_GetWindowWMInfo(window, &info) != SDL_TRUE || info.subsystem != SDL_SYSWM_X11 ||
        info.info.x11.display == nullptr)
        return std::nullopt;
    const char* s = XResourceManagerString(info.info.x11.display);
    if (s == nullptr) return std::nullopt;
    return std::string(s);
#else
    (void)window;
    return std::nullopt;
#endif
}

}  // namespace porthole::client
