#pragma once
// How large the client's own text (overlay, help panel, messages) is drawn:
// a factor on its base pixel size. Wayland tells SDL2 the output's scale
// (drawable pixels per window unit); X11 never does, so there the desktop's
// Xft.dpi resource (what GNOME, KDE and xrdb set on a HiDPI screen) or
// GDK_SCALE stands in for it. Pure: the window gathers the inputs.

#include <optional>
#include <string>
#include <string_view>

namespace porthole::client {

inline constexpr float kMinUiScale = 0.5F, kMaxUiScale = 4.0F;

enum class UiScaleSource { option, drawable, xft_dpi, gdk_scale, none };

struct UiScaleInputs {
    std::optional<float> option;           // --ui-scale (already range-checked)
    float drawable_ratio = 1.0F;           // drawable pixels / window units
    std::optional<std::string> xft_dpi;    // the Xft.dpi resource's text (X11 only)
    std::optional<std::string> gdk_scale;  // $GDK_SCALE
};

struct UiScale {
    float scale = 1.0F;
    UiScaleSource source = UiScaleSource::none;
    std::string why;  // for the log: "Xft.dpi 192 (X11 resources)"
};

// The first that says something, in this order: the option, a drawable
// ratio above 1 (Wayland HiDPI), Xft.dpi / 96, GDK_SCALE, else 1. A desktop
// value that is not a number or gives a scale outside 0.5..4 is passed over
// (and named in `why`), not trusted.
UiScale choose_ui_scale(const UiScaleInputs& in);

// The value of `Xft.dpi` in an X resource database string (the
// RESOURCE_MANAGER property as XResourceManagerString returns it: one
// `name:\tvalue` a line; the last one counts, as in Xrm); nullopt when absent.
std::optional<std::string> find_xft_dpi(std::string_view resources);

}  // namespace porthole::client
