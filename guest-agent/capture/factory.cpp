#include <memory>

#include "capture/pattern.hpp"
#include "capture/source.hpp"
#include "porthole/util/backend_choice.hpp"
#ifdef PORTHOLE_HAVE_X11
#include "capture/x11.hpp"
#endif
#ifdef _WIN32
#include "capture/win/factory_win.hpp"
#endif

namespace porthole::agent {

std::vector<std::string_view> available_captures() {
    std::vector<std::string_view> v{"pattern"};
#ifdef PORTHOLE_HAVE_X11
    v.push_back("x11");
#endif
#ifdef _WIN32
    v.push_back("dxgi");
    v.push_back("gdi");
#endif
    return v;
}

Result<std::unique_ptr<CaptureSource>> make_capture(std::string_view name,
                                                    const CaptureOptions& options) {
    if (name == "pattern")
        return std::unique_ptr<CaptureSource>(std::make_unique<PatternSource>(options));
#ifdef _WIN32
    if (name == "dxgi" || name == "gdi" || name == "auto")
        return win::make_windows_capture(name, options);
#endif
#ifdef PORTHOLE_HAVE_X11
    if (name == "x11") {
        auto s = X11Source::open(options);
        if (!s) return s.error();
        return std::unique_ptr<CaptureSource>(std::move(*s));
    }
#endif
    return unavailable_backend("capture backend", name, available_captures());
}

}  // namespace porthole::agent
