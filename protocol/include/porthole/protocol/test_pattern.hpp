#pragma once
// The deterministic test pattern: what the agent's `pattern` source draws for
// frame n, and what the host and the tests check pixel-exact. A fixed
// gradient, a 32-pixel bar moving 8 pixels a frame, and a 128x8 block whose
// 8x8 cells carry the frame counter (cells 0-7) and a checksum of
// (n, width, height) (cells 8-15), one byte a cell as a grey level.

#include <cstdint>
#include <span>

#include "porthole/protocol/format.hpp"

namespace porthole::protocol::pattern {

struct Rgba8 {
    std::uint8_t r = 0, g = 0, b = 0, a = 255;
    friend constexpr bool operator==(const Rgba8&, const Rgba8&) = default;
};

inline constexpr std::uint32_t kBarWidth = 32;
inline constexpr std::uint32_t kBarStep = 8;
inline constexpr std::uint32_t kCellSize = 8;
inline constexpr std::uint32_t kCodeWidth = 16 * kCellSize;  // counter + checksum cells

std::uint64_t checksum(std::uint64_t n, std::uint32_t width, std::uint32_t height);
// The pattern's colour at (x, y) of frame n.
Rgba8 pixel(std::uint64_t n, std::uint32_t x, std::uint32_t y, std::uint32_t width,
            std::uint32_t height);
// The bar's rectangle in frame n.
Rect bar_rect(std::uint64_t n, std::uint32_t width, std::uint32_t height);
// What changed from frame n-1 to frame n (n >= 1; frame 0 is all new).
DamageList damage(std::uint64_t n, std::uint32_t width, std::uint32_t height);

// Encodes one pixel in `format` at dst (4 or 8 bytes).
void encode(const Rgba8& c, PixelFormat format, std::byte* dst);
// Decodes a pixel encoded by `encode` (exact for every 8-bit input).
Rgba8 decode(PixelFormat format, const std::byte* src);

// Draws the rectangles of frame n into an image of the given geometry.
void render(std::uint64_t n, std::uint32_t width, std::uint32_t height, PixelFormat format,
            std::span<std::byte> dst, std::uint32_t stride, std::span<const Rect> rects);
void render_full(std::uint64_t n, std::uint32_t width, std::uint32_t height, PixelFormat format,
                 std::span<std::byte> dst, std::uint32_t stride);

// The frame counter read back from an image's code cells; nullopt-like
// sentinel UINT64_MAX when the cells are not a valid pattern code.
std::uint64_t read_counter(PixelFormat format, std::span<const std::byte> src, std::uint32_t stride,
                           std::uint32_t width, std::uint32_t height);

struct Mismatch {
    std::uint32_t count = 0;  // pixels that differ
    std::uint32_t first_x = 0, first_y = 0;
};
// Compares an image with frame n pixel by pixel.
Mismatch verify(std::uint64_t n, std::uint32_t width, std::uint32_t height, PixelFormat format,
                std::span<const std::byte> src, std::uint32_t stride);

}  // namespace porthole::protocol::pattern
