#include "display/modes.hpp"
#include "porthole/util/backend_choice.hpp"
#ifdef PORTHOLE_HAVE_XRANDR
#include "display/x11.hpp"
#endif
#ifdef _WIN32
#include "display/win32.hpp"
#endif

namespace porthole::agent::display {

std::vector<std::string_view> available_display_modes() {
    std::vector<std::string_view> names{"auto"};
#ifdef PORTHOLE_HAVE_XRANDR
    names.emplace_back("x11");
#endif
#ifdef _WIN32
    names.emplace_back("win32");
#endif
    names.emplace_back("none");
    return names;
}

Result<std::unique_ptr<DisplayModes>> make_display_modes(std::string_view name,
                                                         const std::string& target) {
    if (name == "none") return std::unique_ptr<DisplayModes>{};
#ifdef _WIN32
    if (name == "win32" || name == "auto") return open_win32_modes(target);
#endif
#ifdef PORTHOLE_HAVE_XRANDR
    if (name == "x11" || name == "auto") return open_x11_modes(target);
#endif
    (void)target;
    if (name == "auto") return Error::make("this build sets display modes on no system");
    return unavailable_backend("display mode backend", name, available_display_modes());
}

}  // namespace porthole::agent::display
