#pragma once
// Pixel formats, rectangles and the damage list carried with every frame.

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace porthole::protocol {

enum class PixelFormat : std::uint32_t {
    bgra8 = 1,    // 8-bit B,G,R,A in memory order (DXGI B8G8R8A8, X11 ZPixmap depth 24/32)
    rgb10a2 = 2,  // 32-bit word: R bits 0-9, G 10-19, B 20-29, A 30-31 (DXGI R10G10B10A2)
    rgba16f = 3,  // four IEEE half floats, scRGB linear (DXGI R16G16B16A16_FLOAT, HDR)
};

// Bytes per pixel; 0 for a value that is not a known format.
constexpr std::uint32_t bytes_per_pixel(PixelFormat f) {
    switch (f) {
        case PixelFormat::bgra8:
        case PixelFormat::rgb10a2:
            return 4;
        case PixelFormat::rgba16f:
            return 8;
    }
    return 0;
}
constexpr bool is_known_format(std::uint32_t raw) {
    return bytes_per_pixel(static_cast<PixelFormat>(raw)) != 0;
}
std::string_view to_string(PixelFormat f);
std::optional<PixelFormat> parse_pixel_format(std::string_view name);

struct Rect {
    std::uint32_t x, y, w, h;  // no initialisers: Rect stays trivial inside wire structs

    [[nodiscard]] constexpr bool empty() const { return w == 0 || h == 0; }
    [[nodiscard]] constexpr std::uint64_t area() const { return std::uint64_t{w} * h; }
    // Inside a width x height image, computed without overflow.
    [[nodiscard]] constexpr bool inside(std::uint32_t width, std::uint32_t height) const {
        return x <= width && w <= width - x && y <= height && h <= height - y;
    }
    friend constexpr bool operator==(const Rect&, const Rect&) = default;
};

constexpr Rect bounding_box(const Rect& a, const Rect& b) {
    if (a.empty()) return b;
    if (b.empty()) return a;
    const std::uint32_t x0 = std::min(a.x, b.x), y0 = std::min(a.y, b.y);
    const std::uint32_t x1 = std::max(a.x + a.w, b.x + b.w), y1 = std::max(a.y + a.h, b.y + b.h);
    return Rect{x0, y0, x1 - x0, y1 - y0};
}

inline constexpr std::uint32_t kMaxDamageRects = 64;

// Up to 64 rectangles; adding a 65th collapses the list to its bounding box,
// which stays correct (a superset of the change) at the cost of extra copying.
class DamageList {
  public:
    void add(const Rect& r);
    void add(std::span<const Rect> rs) {
        for (const auto& r : rs)
            add(r);
    }
    void set_full(std::uint32_t width, std::uint32_t height) {
        clear();
        add(Rect{0, 0, width, height});
    }
    void clear() { count_ = 0; }
    [[nodiscard]] bool empty() const { return count_ == 0; }
    [[nodiscard]] std::uint32_t size() const { return count_; }
    [[nodiscard]] std::span<const Rect> rects() const { return {rects_.data(), count_}; }
    [[nodiscard]] std::uint64_t area() const;  // sum of areas (overlaps counted twice)
    [[nodiscard]] Rect bounds() const;

  private:
    std::array<Rect, kMaxDamageRects> rects_{};
    std::uint32_t count_ = 0;
};

}  // namespace porthole::protocol
