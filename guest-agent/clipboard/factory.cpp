#include <spdlog/spdlog.h>

#include "clipboard/backend.hpp"
#ifndef _WIN32
#include "clipboard/file.hpp"
#endif
#include "porthole/util/backend_choice.hpp"
#ifdef PORTHOLE_HAVE_X11_CLIPBOARD
#include "clipboard/x11.hpp"
#endif
#ifdef _WIN32
#include "clipboard/win32.hpp"
#endif

namespace porthole::agent::clipboard {

std::vector<std::string_view> available_clipboards() {
    std::vector<std::string_view> names{"auto"};
#ifdef PORTHOLE_HAVE_X11_CLIPBOARD
    names.emplace_back("x11");
#endif
#ifdef _WIN32
    names.emplace_back("win32");
#else
    names.emplace_back("file");
#endif
    names.emplace_back("none");
    return names;
}

Result<std::unique_ptr<ClipboardBackend>> make_clipboard(std::string_view name,
                                                         const std::string& display,
                                                         const std::string& file) {
    if (name == "none") return std::unique_ptr<ClipboardBackend>{};
#ifndef _WIN32
    if (name == "file") {
        if (file.empty()) return Error::make("--clipboard file needs --clipboard-file PATH");
        return make_file_clipboard(file);
    }
#else
    (void)file;  // no file backend on Windows
#endif
#ifdef _WIN32
    if (name == "win32" || name == "auto") return make_win32_clipboard();
#endif
#ifdef PORTHOLE_HAVE_X11_CLIPBOARD
    if (name == "x11") return open_x11_clipboard(display);
    if (name == "auto") {
        auto x = open_x11_clipboard(display);
        if (x) return x;
        spdlog::info("clipboard off: {}", x.error().message);
        return std::unique_ptr<ClipboardBackend>{};
    }
#else
    (void)display;
    if (name == "auto") return std::unique_ptr<ClipboardBackend>{};
#endif
    return unavailable_backend("clipboard backend", name, available_clipboards());
}

}  // namespace porthole::agent::clipboard
