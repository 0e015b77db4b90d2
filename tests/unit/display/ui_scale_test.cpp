// The client's text scale: which of the option, the drawable ratio (Wayland),
// X11's Xft.dpi and GDK_SCALE decides, and what is passed over.
#include <gtest/gtest.h>

#include <cmath>

#include "display/ui_scale.hpp"

namespace {

using porthole::client::choose_ui_scale;
using porthole::client::find_xft_dpi;
using porthole::client::UiScaleInputs;
using porthole::client::UiScaleSource;

TEST(UiScale, TheOptionWinsOverEverythingTheDesktopSays) {
    const auto s = choose_ui_scale({1.5F, 2.0F, "192", "3"});
    EXPECT_EQ(s.source, UiScaleSource::option);
    EXPECT_FLOAT_EQ(s.scale, 1.5F);
    EXPECT_EQ(s.why, "--ui-scale");
    EXPECT_FLOAT_EQ(choose_ui_scale({0.5F, 1.0F, {}, {}}).scale, 0.5F);
}

TEST(UiScale, AWaylandDrawableRatioAboveOneComesBeforeTheX11Settings) {
    const auto s = choose_ui_scale({{}, 2.0F, "144", "3"});
    EXPECT_EQ(s.source, UiScaleSource::drawable);
    EXPECT_FLOAT_EQ(s.scale, 2.0F);
    // A ratio of 1 (X11, or a Wayland output at 1) says nothing: Xft.dpi decides.
    EXPECT_EQ(choose_ui_scale({{}, 1.0F, "144", {}}).source, UiScaleSource::xft_dpi);
    EXPECT_EQ(choose_ui_scale({{}, std::nanf(""), "144", {}}).source, UiScaleSource::xft_dpi);
    EXPECT_FLOAT_EQ(choose_ui_scale({{}, 9.0F, {}, {}}).scale, 4.0F) << "capped at 4";
}

TEST(UiScale, XftDpiOver96ThenGdkScaleThenOne) {
    auto s = choose_ui_scale({{}, 1.0F, "192", "3"});
    EXPECT_EQ(s.source, UiScaleSource::xft_dpi);
    EXPECT_FLOAT_EQ(s.scale, 2.0F);
    EXPECT_NE(s.why.find("Xft.dpi 192"), std::string::npos) << s.why;
    EXPECT_FLOAT_EQ(choose_ui_scale({{}, 1.0F, "144.0", {}}).scale, 1.5F);
    EXPECT_FLOAT_EQ(choose_ui_scale({{}, 1.0F, "96", "2"}).scale, 1.0F) << "Xft.dpi said 96";
    s = choose_ui_scale({{}, 1.0F, {}, "2"});
    EXPECT_EQ(s.source, UiScaleSource::gdk_scale);
    EXPECT_FLOAT_EQ(s.scale, 2.0F);
    EXPECT_EQ(s.why, "GDK_SCALE=2");
    s = choose_ui_scale({{}, 1.0F, {}, {}});
    EXPECT_EQ(s.source, UiScaleSource::none);
    EXPECT_FLOAT_EQ(s.scale, 1.0F);
}

TEST(UiScale, DesktopValuesThatAreNoScaleArePassedOverAndNamed) {
    // Not numbers, or scales outside 0.5..4 (a dpi of 1000, GDK_SCALE=0).
    for (const char* dpi : {"", "abc", "192dpi", "1000", "20", "nan", "inf", "-192"}) {
        const auto s = choose_ui_scale({{}, 1.0F, dpi, "2"});
        EXPECT_EQ(s.source, UiScaleSource::gdk_scale) << dpi;
        EXPECT_FLOAT_EQ(s.scale, 2.0F) << dpi;
        EXPECT_NE(s.why.find("Xft.dpi '" + std::string(dpi) + "' passed over"), std::string::npos)
            << s.why;
    }
    for (const char* gdk : {"0", "x", "8", "2x"}) {
        const auto s = choose_ui_scale({{}, 1.0F, {}, gdk});
        EXPECT_EQ(s.source, UiScaleSource::none) << gdk;
        EXPECT_FLOAT_EQ(s.scale, 1.0F) << gdk;
        EXPECT_NE(s.why.find("GDK_SCALE '" + std::string(gdk) + "' passed over"), std::string::npos)
            << s.why;
    }
}

TEST(UiScale, FindsXftDpiInAResourceString) {
    // As xrdb -query prints RESOURCE_MANAGER: `name:\tvalue` lines.
    EXPECT_EQ(find_xft_dpi("Xft.antialias:\t1\nXft.dpi:\t192\nXft.hinting:\t1\n"), "192");
    EXPECT_EQ(find_xft_dpi("Xft.dpi: 144 \r\n"), "144");
    EXPECT_EQ(find_xft_dpi("Xft*dpi:\t120"), "120");
    EXPECT_EQ(find_xft_dpi("Xft.dpi:\t96\nXft.dpi:\t192\n"), "192") << "the last one counts";
    EXPECT_EQ(find_xft_dpi("XTerm*faceSize:\t12\nXft.dpix:\t2\n*dpi2:\t3\n"), std::nullopt);
    EXPECT_EQ(find_xft_dpi(""), std::nullopt);
    EXPECT_EQ(find_xft_dpi("no colon here\n"), std::nullopt);
}

}  // namespace
