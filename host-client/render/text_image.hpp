#pragma once
// Draws lines of text into an 8-bit BGRA image (white text on a translucent
// black box), for the overlay, the help panel and the connection-state
// messages: UTF-8, mixed case, in a packaged font (DejaVu Sans Mono, found
// through fontconfig) rasterised by FreeType at the pixel size asked for, so
// that a HiDPI window gets text as sharp as its pixels. When no font can be
// loaded (said once in the log), a built-in 5x7 bitmap font stands in: upper
// case only, scaled by whole pixels.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace porthole::client {

struct TextImage {
    std::uint32_t width = 0, height = 0;  // stride width*4
    std::vector<std::byte> bgra;
};

// Font sizes in pixels per em at a pixel density of 1.
inline constexpr std::uint32_t kOverlayTextPx = 13;  // statistics, help panel
inline constexpr std::uint32_t kMessageTextPx = 18;  // connection states, notices

// `base_px` at the window's text scale (drawable pixels per window unit, 2 on
// a Wayland HiDPI output, or what the desktop or --ui-scale asks for: 0.5 to
// 4), rounded, at least 6; 1 for a density that is not a positive number.
std::uint32_t text_pixel_size(std::uint32_t base_px, float density);

// An image just large enough for the lines at `pixel_size` pixels per em.
TextImage render_text(const std::vector<std::string>& lines,
                      std::uint32_t pixel_size = kOverlayTextPx);

// render_text at `pixel_size`, or smaller (down to kMinFitTextPx) until the
// image fits `max_width` x `max_height`: the help panel in a narrow window
// gets smaller text rather than lines cut at the window's edges.
inline constexpr std::uint32_t kMinFitTextPx = 7;
TextImage render_text_fitting(const std::vector<std::string>& lines, std::uint32_t pixel_size,
                              std::uint32_t max_width, std::uint32_t max_height);

// The overlay: the lines, and under them a graph of the last frame times
// (ms, oldest first; none: no graph), one bar each, green up to 17 ms (60
// Hz), yellow to 34, red above; a grey line marks 16.7 ms. Bars are cut at
// 50 ms.
TextImage render_overlay(const std::vector<std::string>& lines, std::span<const float> frame_ms,
                         std::uint32_t pixel_size = kOverlayTextPx);
inline constexpr float kGraphMaxMs = 50.0F;

// The built-in bitmap font at `scale` pixels per font pixel (the fallback).
TextImage render_bitmap_text(const std::vector<std::string>& lines, std::uint32_t scale = 1);

// The font file render_text draws with; "" when it falls back to the bitmap font.
const std::string& text_font_path();

}  // namespace porthole::client
