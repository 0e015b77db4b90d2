#include "display/ui_scale.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

#include "porthole/util/text.hpp"

namespace porthole::client {

namespace {

// A finite number and nothing else ("192", "144.0"); nullopt otherwise.
std::optional<double> number(std::string_view s) {
    s = trim_blanks(s);
    double v = 0;
    const auto* end = s.data() + s.size();
    const auto r = std::from_chars(s.data(), end, v);
    if (s.empty() || r.ec != std::errc{} || r.ptr != end || !std::isfinite(v)) return std::nullopt;
    return v;
}

bool in_range(double scale) {
    return scale >= kMinUiScale && scale <= kMaxUiScale;
}

}  // namespace

std::optional<std::string> find_xft_dpi(std::string_view resources) {
    std::optional<std::string> found;
    while (!resources.empty()) {
        const auto nl = resources.find('\n');
        const std::string_view line = resources.substr(0, nl);
        resources = nl == std::string_view::npos ? std::string_view{} : resources.substr(nl + 1);
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        const auto name = trim_blanks(line.substr(0, colon));
        // `Xft*dpi` binds the same resource loosely; xrdb keeps it as written.
        if (name == "Xft.dpi" || name == "Xft*dpi")
            found = std::string(trim_blanks(line.substr(colon + 1)));
    }
    return found;
}

UiScale choose_ui_scale(const UiScaleInputs& in) {
    if (in.option) return {*in.option, UiScaleSource::option, "--ui-scale"};
    if (std::isfinite(in.drawable_ratio) && in.drawable_ratio > 1.0F) {
        return {std::min(in.drawable_ratio, kMaxUiScale), UiScaleSource::drawable,
                fmt::format("the display's pixel density ({} drawable pixels a window unit)",
                            in.drawable_ratio)};
    }
    std::string passed;  // desktop values passed over, for the log
    if (in.xft_dpi) {
        const auto dpi = number(*in.xft_dpi);
        if (dpi && in_range(*dpi / 96.0)) {
            return {static_cast<float>(*dpi / 96.0), UiScaleSource::xft_dpi,
                    fmt::format("Xft.dpi {} (X resources) / 96", *in.xft_dpi)};
        }
        passed += fmt::format("; Xft.dpi '{}' passed over (not a dpi from {} to {})",
                              in.xft_dpi->substr(0, 32), 96 * kMinUiScale, 96 * kMaxUiScale);
    }
    if (in.gdk_scale) {
        const auto s = number(*in.gdk_scale);
        if (s && in_range(*s))
            return {static_cast<float>(*s), UiScaleSource::gdk_scale,
                    fmt::format("GDK_SCALE={}{}", *in.gdk_scale, passed)};
        passed += fmt::format("; GDK_SCALE '{}' passed over (not a number from {} to {})",
                              in.gdk_scale->substr(0, 32), kMinUiScale, kMaxUiScale);
    }
    return {1.0F, UiScaleSource::none,
            "nothing set it (no --ui-scale, HiDPI output, Xft.dpi or GDK_SCALE)" + passed};
}

}  // namespace porthole::client
