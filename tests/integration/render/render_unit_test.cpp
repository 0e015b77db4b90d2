// The renderer's pure parts: frame placement, cursor shapes, text.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <limits>

#include "render/cursor_image.hpp"
#include "render/scaling.hpp"
#include "render/text_image.hpp"

namespace {

using namespace porthole::client;
using porthole::protocol::CursorShape;
using porthole::protocol::CursorType;

TEST(PlaceFrame, FitKeepsTheAspectRatioAndCentres) {
    EXPECT_EQ(place_frame(ScaleMode::fit, 1920, 1080, 1280, 1024), (PixelRect{0, 152, 1280, 720}));
    EXPECT_EQ(place_frame(ScaleMode::fit, 1280, 1024, 1920, 1080), (PixelRect{285, 0, 1350, 1080}));
    EXPECT_EQ(place_frame(ScaleMode::fit, 640, 480, 640, 480), (PixelRect{0, 0, 640, 480}));
}

TEST(PlaceFrame, IntegerUsesTheLargestWholeFactor) {
    EXPECT_EQ(place_frame(ScaleMode::integer, 320, 180, 800, 600), (PixelRect{80, 120, 640, 360}));
    EXPECT_EQ(place_frame(ScaleMode::integer, 640, 480, 800, 600), (PixelRect{80, 60, 640, 480}));
}

TEST(PlaceFrame, IntegerFallsBackToFitWhenTheFrameIsLargerThanTheTarget) {
    EXPECT_EQ(place_frame(ScaleMode::integer, 2560, 1440, 1280, 720), (PixelRect{0, 0, 1280, 720}));
}

TEST(PlaceCursor, FollowsThePositionMinusTheHotspotScaledWithTheFrame) {
    const PixelRect frame{100, 50, 1280, 720};  // a 640x360 frame drawn at 2x
    EXPECT_EQ(place_cursor(frame, 640, 360, 10, 20, 2, 4, 32, 32),
              (PixelRect{100 + 16, 50 + 32, 64, 64}));
    EXPECT_EQ(place_cursor({0, 0, 640, 360}, 640, 360, 0, 0, 0, 0, 16, 16),
              (PixelRect{0, 0, 16, 16}));
}

// The guest chooses position and hotspot; a position at INT32_MIN once made a
// signed overflow (UBSan) and a viewport billions of pixels away.
TEST(PlaceCursor, ExtremePositionsAndHotspotsStayNextToTheFrame) {
    constexpr std::int32_t kMin = INT32_MIN, kMax = INT32_MAX;
    const PixelRect frame{100, 50, 1280, 720};
    const auto left_top = place_cursor(frame, 640, 360, kMin, kMin, kMax, kMax, 32, 32);
    EXPECT_EQ(left_top, (PixelRect{100 - 64, 50 - 64, 64, 64})) << "just off the top left";
    const auto right_bottom = place_cursor(frame, 640, 360, kMax, kMax, kMin, kMin, 32, 32);
    EXPECT_EQ(right_bottom, (PixelRect{100 + 1280, 50 + 720, 64, 64})) << "just off the far edge";
    for (const std::int32_t v : {kMin, kMin + 1, -1, 0, 1, kMax - 1, kMax}) {
        for (const std::int32_t hot : {kMin, 0, kMax}) {
            const auto r = place_cursor(frame, 640, 360, v, v, hot, hot, 256, 256);
            EXPECT_GE(r.x, frame.x - 512);
            EXPECT_LE(r.x, frame.x + 1280);
            EXPECT_GE(r.y, frame.y - 512);
            EXPECT_LE(r.y, frame.y + 720);
        }
    }
}

TEST(PlaceCursor, NothingToPlaceWithoutAFrameOrAShape) {
    EXPECT_EQ(place_cursor({0, 0, 640, 360}, 0, 0, 5, 5, 0, 0, 32, 32), PixelRect{});
    EXPECT_EQ(place_cursor({0, 0, 640, 360}, 640, 360, 5, 5, 0, 0, 0, 32), PixelRect{});
}

TEST(PlaceFrame, StretchFillsTheTarget) {
    EXPECT_EQ(place_frame(ScaleMode::stretch, 320, 180, 960, 360), (PixelRect{0, 0, 960, 360}));
}

TEST(PlaceFrame, EmptyInputsPlaceNothing) {
    EXPECT_EQ(place_frame(ScaleMode::fit, 0, 0, 800, 600).w, 0U);
    EXPECT_EQ(place_frame(ScaleMode::fit, 800, 600, 0, 0).w, 0U);
}

std::uint8_t b(const std::vector<std::byte>& v, std::size_t i) {
    return std::to_integer<std::uint8_t>(v[i]);
}

TEST(CursorImage, ColourShapesBlendWithTheirAlpha) {
    CursorShape s;
    s.type = CursorType::color;
    s.width = 2;
    s.height = 1;
    s.pitch = 8;
    s.data = {std::byte{1}, std::byte{2}, std::byte{3}, std::byte{128},
              std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0}};
    const auto c = convert_cursor(s);
    EXPECT_EQ(b(c.blend, 0), 1);
    EXPECT_EQ(b(c.blend, 3), 128);
    EXPECT_EQ(b(c.blend, 7), 0);
    EXPECT_FALSE(c.has_invert);
}

TEST(CursorImage, MaskedShapesReplaceOrXor) {
    CursorShape s;
    s.type = CursorType::masked;
    s.width = 2;
    s.height = 1;
    s.pitch = 8;
    // pixel 0: alpha 0 -> replace with red; pixel 1: alpha 0xFF -> XOR white
    s.data = {std::byte{0},   std::byte{0},   std::byte{255}, std::byte{0},
              std::byte{255}, std::byte{255}, std::byte{255}, std::byte{255}};
    const auto c = convert_cursor(s);
    EXPECT_EQ(b(c.blend, 2), 255);
    EXPECT_EQ(b(c.blend, 3), 255);  // opaque replacement
    EXPECT_EQ(b(c.blend, 7), 0);    // pixel 1 not blended
    EXPECT_EQ(b(c.invert, 4), 255);
    EXPECT_TRUE(c.has_invert);
}

TEST(CursorImage, MonochromeShapesFollowTheAndXorTable) {
    CursorShape s;
    s.type = CursorType::monochrome;
    s.width = 4;
    s.height = 1;
    s.pitch = 1;
    // AND row 0011...., XOR row 0101....: black, white, transparent, invert
    s.data = {std::byte{0x30}, std::byte{0x50}};
    const auto c = convert_cursor(s);
    EXPECT_EQ(b(c.blend, 0 * 4 + 3), 255);
    EXPECT_EQ(b(c.blend, 0 * 4 + 0), 0);  // black
    EXPECT_EQ(b(c.blend, 1 * 4 + 3), 255);
    EXPECT_EQ(b(c.blend, 1 * 4 + 0), 255);  // white
    EXPECT_EQ(b(c.blend, 2 * 4 + 3), 0);    // transparent
    EXPECT_EQ(b(c.invert, 2 * 4 + 0), 0);
    EXPECT_EQ(b(c.blend, 3 * 4 + 3), 0);
    EXPECT_EQ(b(c.invert, 3 * 4 + 0), 255);  // inverts the screen
}

// Rows and columns of a text image lit at more than half coverage.
struct Ink {
    std::uint32_t top = UINT32_MAX, bottom = 0, left = UINT32_MAX, right = 0;
    std::size_t pixels = 0;
    [[nodiscard]] std::uint32_t height() const { return pixels == 0 ? 0 : bottom - top + 1; }
    [[nodiscard]] std::uint32_t width() const { return pixels == 0 ? 0 : right - left + 1; }
};
Ink ink(const TextImage& t) {
    Ink k;
    for (std::uint32_t y = 0; y < t.height; ++y) {
        for (std::uint32_t x = 0; x < t.width; ++x) {
            if (b(t.bgra, (std::size_t{y} * t.width + x) * 4) <= 128) continue;
            k.top = std::min(k.top, y);
            k.bottom = std::max(k.bottom, y);
            k.left = std::min(k.left, x);
            k.right = std::max(k.right, x);
            ++k.pixels;
        }
    }
    return k;
}

TEST(TextImage, UsesThePackagedFont) {
    ASSERT_FALSE(text_font_path().empty())
        << "no font loaded: the overlay fell back to the bitmap font (package fonts-dejavu-core)";
    EXPECT_TRUE(std::filesystem::exists(text_font_path())) << text_font_path();
}

// DejaVu Sans Mono's capitals are 0.729 em high: an H at N pixels per em is
// about 0.73 N pixels of ink, and twice the size gives twice the height.
TEST(TextImage, GlyphsHaveTheHeightOfThePixelSize) {
    for (const std::uint32_t px : {13U, 20U, 40U}) {
        const auto h = ink(render_text({"H"}, px)).height();
        EXPECT_GE(h, static_cast<std::uint32_t>(px * 0.65)) << px;
        EXPECT_LE(h, static_cast<std::uint32_t>(px * 0.8) + 1) << px;
    }
    const auto small = ink(render_text({"HHHH"}, 16)), large = ink(render_text({"HHHH"}, 32));
    EXPECT_NEAR(static_cast<double>(large.height()) / small.height(), 2.0, 0.15);
    EXPECT_NEAR(static_cast<double>(large.width()) / small.width(), 2.0, 0.15);
}

TEST(TextImage, TheBoxFitsTheLongestLineAndEveryLine) {
    const auto one = render_text({"Latency 1.0 ms"}, 16);
    const auto two = render_text({"Frames", "Latency 1.0 ms"}, 16);
    EXPECT_EQ(two.width, one.width) << "the longest line sets the width";
    EXPECT_GT(two.height, one.height + 12) << "a second line of 16 px text";
    EXPECT_LT(two.height, one.height + 24);
    // A monospaced font: a line twice as long is about twice as wide.
    const auto wide = render_text({"Latency 1.0 msLatency 1.0 ms"}, 16);
    EXPECT_NEAR(static_cast<double>(ink(wide).width()) / ink(one).width(), 2.0, 0.1);
}

// The help panel in a narrow window: smaller text, never wider than asked.
TEST(TextImage, FittingShrinksTheTextUntilItFits) {
    const std::vector<std::string> lines = {"ScrollLock + Del  send Ctrl+Alt+Del to the guest",
                                            "ScrollLock + M    cycle the mouse mode"};
    const auto full = render_text(lines, 13);
    ASSERT_GT(full.width, 300U);
    const auto same = render_text_fitting(lines, 13, full.width, full.height);
    EXPECT_EQ(same.width, full.width) << "text that fits is left at its size";
    EXPECT_EQ(same.bgra, full.bgra);
    const auto narrow = render_text_fitting(lines, 13, 300, 1000);
    EXPECT_LE(narrow.width, 300U);
    EXPECT_GT(narrow.width, 240U) << "not smaller than needed";
    EXPECT_LT(narrow.height, full.height);
    const auto low = render_text_fitting(lines, 13, 2000, full.height - 6);
    EXPECT_LE(low.height, full.height - 6) << "the height counts too";
    const auto tiny = render_text_fitting(lines, 13, 20, 20);
    EXPECT_EQ(tiny.height, render_text(lines, kMinFitTextPx).height)
        << "no smaller than the least readable size";
}

TEST(TextImage, LowerCaseIsDrawnAsLowerCase) {
    const auto lower = render_text({"porthole"}, 20), upper = render_text({"PORTHOLE"}, 20);
    ASSERT_EQ(lower.width, upper.width);  // monospaced
    EXPECT_NE(lower.bgra, upper.bgra);
    // x is shorter than X; p reaches below the baseline, P does not.
    EXPECT_LE(ink(render_text({"x"}, 20)).height(), ink(render_text({"X"}, 20)).height() - 3);
    EXPECT_GT(ink(render_text({"p"}, 20)).bottom, ink(render_text({"P"}, 20)).bottom + 2);
}

TEST(TextImage, AnEmDashIsAGlyphNotAFallbackBox) {
    const auto dash = ink(render_text({"\xe2\x80\x94"}, 20)), hyphen = ink(render_text({"-"}, 20));
    ASSERT_GT(dash.pixels, 0U);
    EXPECT_GT(dash.width(), hyphen.width()) << "an em dash is wider than a hyphen";
    EXPECT_LE(dash.height(), 3U) << "one thin stroke, not a replacement box";
}

TEST(TextImage, TextSizeFollowsThePixelDensity) {
    EXPECT_EQ(text_pixel_size(13, 1.0F), 13U);
    EXPECT_EQ(text_pixel_size(13, 2.0F), 26U);
    EXPECT_EQ(text_pixel_size(13, 1.5F), 20U);
    EXPECT_EQ(text_pixel_size(13, 0.0F), 13U);  // no window size known yet
    EXPECT_EQ(text_pixel_size(13, std::numeric_limits<float>::quiet_NaN()), 13U);
    EXPECT_EQ(text_pixel_size(2, 1.0F), 6U);   // legible at least
    EXPECT_EQ(text_pixel_size(18, 0.5F), 9U);  // --ui-scale 0.5 shrinks it
    EXPECT_EQ(text_pixel_size(13, -1.0F), 13U);
}

TEST(TextImage, TheBitmapFallbackSizesTheBoxToTheLongestLine) {
    const auto t = render_bitmap_text({"FPS 60", "LATENCY 1.0 MS"}, 2);
    EXPECT_EQ(t.width, (14U * 6 + 8) * 2);
    EXPECT_EQ(t.height, (2U * 10 + 8) * 2);
    EXPECT_GT(ink(t).pixels, 100U);
    // Upper case only, and a dash for the em dash.
    EXPECT_EQ(render_bitmap_text({"fps"}).bgra, render_bitmap_text({"FPS"}).bgra);
    EXPECT_EQ(render_bitmap_text({"\xe2\x80\x94"}).bgra, render_bitmap_text({"-"}).bgra);
}

// The frame-time graph under the overlay's lines: one bar a sample, its
// height the time (cut at 50 ms), green at 60 Hz, red below 30 Hz.
TEST(TextImage, OverlayGraphBarsFollowTheFrameTimes) {
    const auto text = render_text({"Frames     60 fps shown, 60 from the guest"}, 13);
    std::vector<float> ms(60, 1000.0F / 60.0F);
    ms.resize(120, 40.0F);
    const auto img = render_overlay({"Frames     60 fps shown, 60 from the guest"}, ms, 13);
    ASSERT_EQ(img.width, text.width);
    ASSERT_GT(img.height, text.height + 30U);
    EXPECT_TRUE(std::equal(text.bgra.begin(), text.bgra.end(), img.bgra.begin()))
        << "the lines above the graph are the text's";
    // A column's bar: its height and colour (B, G, R), counted from the bottom up.
    const auto bar = [&](std::uint32_t x) {
        std::uint32_t h = 0;
        std::array<std::uint8_t, 3> colour{};
        for (std::uint32_t y = text.height; y < img.height; ++y) {
            const std::size_t p = (std::size_t{y} * img.width + x) * 4;
            if (b(img.bgra, p + 3) != 255 ||
                (b(img.bgra, p) == b(img.bgra, p + 1) && b(img.bgra, p + 1) == b(img.bgra, p + 2)))
                continue;  // the box, the text, the 60 Hz mark: not a bar
            ++h;
            colour = {b(img.bgra, p), b(img.bgra, p + 1), b(img.bgra, p + 2)};
        }
        return std::pair{h, colour};
    };
    const auto [fast_h, fast] = bar(img.width / 4);
    const auto [slow_h, slow] = bar(img.width * 3 / 4);
    EXPECT_GT(fast[1], fast[2]) << "green at 60 Hz";
    EXPECT_GT(slow[2], slow[1]) << "red below 30 Hz";
    ASSERT_GT(fast_h, 0U);
    EXPECT_NEAR(static_cast<double>(slow_h) / fast_h, 40.0 / (1000.0 / 60.0), 0.25);
    EXPECT_EQ(render_overlay({"x"}, {}, 13).bgra, render_text({"x"}, 13).bgra)
        << "no samples, no graph";
}

TEST(TextImage, NoLinesGiveNoImage) {
    EXPECT_EQ(render_text({}).width, 0U);
    EXPECT_EQ(render_bitmap_text({}).width, 0U);
}

}  // namespace
