#include "clipboard/desktop.hpp"

#include <SDL.h>
#include <spdlog/spdlog.h>

#include "clipboard/sdl_clipboard.hpp"
#ifdef PORTHOLE_HAVE_X11_CLIPBOARD
#include "clipboard/x11_clipboard.hpp"
#endif

namespace porthole::client::clipboard {

Result<std::unique_ptr<DesktopClipboard>> open_desktop_clipboard(std::size_t limit, bool watch,
                                                                 std::size_t image_limit) {
    if (SDL_WasInit(SDL_INIT_VIDEO) == 0)
        return Error::make("the clipboard needs the window (SDL video); --headless has none");
#ifdef PORTHOLE_HAVE_X11_CLIPBOARD
    const char* driver = SDL_GetCurrentVideoDriver();
    if (driver != nullptr && std::string_view(driver) == "x11") {
        x11::SelectionOptions options;  // SDL's display: $DISPLAY
        options.limit = limit;
        options.watch = watch;
        options.image_limit = image_limit;
        auto x = X11Clipboard::open(options);
        if (x) return std::unique_ptr<DesktopClipboard>(std::move(*x));
        spdlog::warn("clipboard: {}; SDL's clipboard instead", x.error().message);
    }
#else
    (void)limit;
    (void)image_limit;
    (void)watch;  // SDL reads only when asked (the subsystem asks only when sending)
#endif
    auto sdl = SdlClipboard::open();
    if (!sdl) return sdl.error();
    return std::unique_ptr<DesktopClipboard>(std::move(*sdl));
}

}  // namespace porthole::client::clipboard
