#include "porthole/protocol/test_pattern.hpp"

#include <algorithm>
#include <cstring>

namespace porthole::protocol::pattern {
namespace {

// IEEE half from a value k/255 (exactly representable enough to round-trip).
std::uint16_t to_half(float f) {
    if (f <= 0.0F) return 0;
    std::uint32_t bits = 0;
    std::memcpy(&bits, &f, 4);
    const auto exp = static_cast<std::int32_t>((bits >> 23) & 0xFF) - 127 + 15;
    std::uint32_t mant = bits & 0x7FFFFF;
    if (exp <= 0) {  // subnormal half
        mant |= 0x800000;
        const auto shift = static_cast<std::uint32_t>(14 - exp);
        return static_cast<std::uint16_t>((mant + (1U << (shift - 1))) >> shift);
    }
    std::uint32_t h = (static_cast<std::uint32_t>(exp) << 10) | (mant >> 13);
    if ((mant & 0x1FFF) > 0x1000 || ((mant & 0x1FFF) == 0x1000 && (h & 1U))) ++h;
    return static_cast<std::uint16_t>(h);
}

float from_half(std::uint16_t h) {
    const std::uint32_t exp = (h >> 10) & 0x1F;
    const std::uint32_t mant = h & 0x3FF;
    if (exp == 0) return static_cast<float>(mant) / 1024.0F / 16384.0F;
    std::uint32_t bits = ((exp - 15 + 127) << 23) | (mant << 13);
    if ((h & 0x8000) != 0) bits |= 0x80000000U;
    float f = 0;
    std::memcpy(&f, &bits, 4);
    return f;
}

std::uint8_t unit_to_u8(float f) {
    return static_cast<std::uint8_t>(std::clamp(f * 255.0F + 0.5F, 0.0F, 255.0F));
}

std::uint8_t code_byte(std::uint64_t n, std::uint32_t w, std::uint32_t h, std::uint32_t cell) {
    const std::uint64_t v = cell < 8 ? n : checksum(n, w, h);
    return static_cast<std::uint8_t>(v >> (8 * (cell % 8)));
}

}  // namespace

std::uint64_t checksum(std::uint64_t n, std::uint32_t width, std::uint32_t height) {
    std::uint64_t x = n * 0x9E3779B97F4A7C15ULL ^ (std::uint64_t{width} << 32 | height);
    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9ULL;
    x ^= x >> 29;
    return x;
}

Rect bar_rect(std::uint64_t n, std::uint32_t width, std::uint32_t height) {
    if (width <= kBarWidth) return Rect{0, 0, width, height};
    const auto x = static_cast<std::uint32_t>((n * kBarStep) % (width - kBarWidth));
    return Rect{x, 0, kBarWidth, height};
}

Rgba8 pixel(std::uint64_t n, std::uint32_t x, std::uint32_t y, std::uint32_t width,
            std::uint32_t height) {
    if (y < kCellSize && x < kCodeWidth) {
        const std::uint8_t v = code_byte(n, width, height, x / kCellSize);
        return Rgba8{v, v, v, 255};
    }
    const Rect bar = bar_rect(n, width, height);
    if (x >= bar.x && x < bar.x + bar.w) {
        const auto v = static_cast<std::uint8_t>(n * 37);
        return Rgba8{v, static_cast<std::uint8_t>(255 - v), static_cast<std::uint8_t>(y), 255};
    }
    return Rgba8{static_cast<std::uint8_t>(x), static_cast<std::uint8_t>(y),
                 static_cast<std::uint8_t>((x ^ y) + 64), 255};
}

DamageList damage(std::uint64_t n, std::uint32_t width, std::uint32_t height) {
    DamageList d;
    if (n == 0) {
        d.set_full(width, height);
        return d;
    }
    d.add(bar_rect(n - 1, width, height));
    d.add(bar_rect(n, width, height));
    d.add(Rect{0, 0, std::min(kCodeWidth, width), std::min(kCellSize, height)});
    return d;
}

void encode(const Rgba8& c, PixelFormat format, std::byte* dst) {
    switch (format) {
        case PixelFormat::bgra8: {
            const std::uint8_t px[4] = {c.b, c.g, c.r, c.a};
            std::memcpy(dst, px, 4);
            return;
        }
        case PixelFormat::rgb10a2: {
            auto ten = [](std::uint8_t v) { return (std::uint32_t{v} << 2) | (v >> 6); };
            const std::uint32_t w =
                ten(c.r) | ten(c.g) << 10 | ten(c.b) << 20 | (std::uint32_t{c.a} >> 6) << 30;
            std::memcpy(dst, &w, 4);
            return;
        }
        case PixelFormat::rgba16f: {
            const std::uint16_t h[4] = {to_half(c.r / 255.0F), to_half(c.g / 255.0F),
                                        to_half(c.b / 255.0F), to_half(c.a / 255.0F)};
            std::memcpy(dst, h, 8);
            return;
        }
    }
}

Rgba8 decode(PixelFormat format, const std::byte* src) {
    switch (format) {
        case PixelFormat::bgra8: {
            std::uint8_t px[4];
            std::memcpy(px, src, 4);
            return Rgba8{px[2], px[1], px[0], px[3]};
        }
        case PixelFormat::rgb10a2: {
            std::uint32_t w = 0;
            std::memcpy(&w, src, 4);
            auto eight = [](std::uint32_t v) {
                return static_cast<std::uint8_t>((v & 0x3FF) >> 2);
            };
            return Rgba8{eight(w), eight(w >> 10), eight(w >> 20),
                         static_cast<std::uint8_t>((w >> 30) * 85)};
        }
        case PixelFormat::rgba16f: {
            std::uint16_t h[4];
            std::memcpy(h, src, 8);
            return Rgba8{unit_to_u8(from_half(h[0])), unit_to_u8(from_half(h[1])),
                         unit_to_u8(from_half(h[2])), unit_to_u8(from_half(h[3]))};
        }
    }
    return {};
}

void render(std::uint64_t n, std::uint32_t width, std::uint32_t height, PixelFormat format,
            std::span<std::byte> dst, std::uint32_t stride, std::span<const Rect> rects) {
    const std::uint32_t bpp = bytes_per_pixel(format);
    for (const Rect& r : rects) {
        if (!r.inside(width, height)) continue;
        for (std::uint32_t y = r.y; y < r.y + r.h; ++y) {
            std::byte* row = dst.data() + std::size_t{y} * stride;
            for (std::uint32_t x = r.x; x < r.x + r.w; ++x) {
                encode(pixel(n, x, y, width, height), format, row + std::size_t{x} * bpp);
            }
        }
    }
}

void render_full(std::uint64_t n, std::uint32_t width, std::uint32_t height, PixelFormat format,
                 std::span<std::byte> dst, std::uint32_t stride) {
    const Rect all{0, 0, width, height};
    render(n, width, height, format, dst, stride, std::span<const Rect>(&all, 1));
}

std::uint64_t read_counter(PixelFormat format, std::span<const std::byte> src, std::uint32_t stride,
                           std::uint32_t width, std::uint32_t height) {
    const std::uint32_t bpp = bytes_per_pixel(format);
    if (width < kCodeWidth || height < kCellSize ||
        src.size() < std::size_t{stride} * (kCellSize - 1) + std::size_t{kCodeWidth} * bpp) {
        return UINT64_MAX;
    }
    std::uint64_t n = 0;
    for (std::uint32_t cell = 0; cell < 8; ++cell) {
        const Rgba8 c = decode(
            format, src.data() + std::size_t{cell * kCellSize + 4} * bpp + std::size_t{4} * stride);
        n |= std::uint64_t{c.r} << (8 * cell);
    }
    return n;
}

Mismatch verify(std::uint64_t n, std::uint32_t width, std::uint32_t height, PixelFormat format,
                std::span<const std::byte> src, std::uint32_t stride) {
    Mismatch m;
    const std::uint32_t bpp = bytes_per_pixel(format);
    if (src.size() < std::size_t{stride} * (height - 1) + std::size_t{width} * bpp) {
        m.count = width * height;
        return m;
    }
    for (std::uint32_t y = 0; y < height; ++y) {
        for (std::uint32_t x = 0; x < width; ++x) {
            const Rgba8 got =
                decode(format, src.data() + std::size_t{y} * stride + std::size_t{x} * bpp);
            if (!(got == pixel(n, x, y, width, height))) {
                if (m.count++ == 0) {
                    m.first_x = x;
                    m.first_y = y;
                }
            }
        }
    }
    return m;
}

}  // namespace porthole::protocol::pattern
