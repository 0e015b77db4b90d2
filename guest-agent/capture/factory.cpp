#include <memory>

#include "capture/pattern.hpp"
#include "capture/source.hpp"

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
    std::string list;
    for (auto n : available_captures())
        list += (list.empty() ? "" : ", ") + std::string(n);
    return Error::make("capture backend '" + std::string(name) +
                       "' is not available in this build (available: " + list + ")");
}

}  // namespace porthole::agent
