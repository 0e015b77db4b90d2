#include "capture/win/formats.hpp"

#include <algorithm>
#include <cstring>

namespace porthole::agent::win {

using protocol::PixelFormat;
using protocol::Rect;

std::optional<PixelFormat> pixel_format_from_dxgi(DXGI_FORMAT f) {
    switch (f) {
        case DXGI_FORMAT_B8G8R8A8_UNORM:
        case DXGI_FORMAT_B8G8R8A8_UNORM_SRGB:
        case DXGI_FORMAT_B8G8R8X8_UNORM:
        case DXGI_FORMAT_B8G8R8X8_UNORM_SRGB:
            return PixelFormat::bgra8;
        case DXGI_FORMAT_R10G10B10A2_UNORM:
            return PixelFormat::rgb10a2;
        case DXGI_FORMAT_R16G16B16A16_FLOAT:
            return PixelFormat::rgba16f;
        default:
            return std::nullopt;
    }
}

Rotation rotation_from_dxgi(DXGI_MODE_ROTATION r) {
    switch (r) {
        case DXGI_MODE_ROTATION_ROTATE90:
            return Rotation::rotate90;
        case DXGI_MODE_ROTATION_ROTATE180:
            return Rotation::rotate180;
        case DXGI_MODE_ROTATION_ROTATE270:
            return Rotation::rotate270;
        default:
            return Rotation::identity;  // IDENTITY and UNSPECIFIED
    }
}

Size rotated_size(Size t, Rotation r) {
    if (r == Rotation::rotate90 || r == Rotation::rotate270) return Size{t.height, t.width};
    return t;
}

// Texture pixel (x, y) goes to: 90: (H-1-y, x); 180: (W-1-x, H-1-y); 270: (y, W-1-x),
// as in Microsoft's DesktopDuplication sample.
Rect rotate_rect(const Rect& r, Size t, Rotation rot) {
    switch (rot) {
        case Rotation::identity:
            return r;
        case Rotation::rotate90:
            return Rect{t.height - (r.y + r.h), r.x, r.h, r.w};
        case Rotation::rotate180:
            return Rect{t.width - (r.x + r.w), t.height - (r.y + r.h), r.w, r.h};
        case Rotation::rotate270:
            return Rect{r.y, t.width - (r.x + r.w), r.h, r.w};
    }
    return r;
}

namespace {
Rect clip(const Rect& r, std::uint32_t w, std::uint32_t h) {
    if (r.x >= w || r.y >= h) return Rect{};
    return Rect{r.x, r.y, std::min(r.w, w - r.x), std::min(r.h, h - r.y)};
}
}  // namespace

void copy_rect_rotated(ConstImageView src, ImageView dst, const Rect& rect, Rotation rot) {
    const Rect r = clip(rect, src.width, src.height);
    if (r.empty()) return;
    const std::size_t bpp = src.bytes_per_pixel;
    if (rot == Rotation::identity) {
        for (std::uint32_t y = r.y; y < r.y + r.h; ++y) {
            std::memcpy(dst.pixels + std::size_t{y} * dst.stride + r.x * bpp,
                        src.pixels + std::size_t{y} * src.stride + r.x * bpp, r.w * bpp);
        }
        return;
    }
    const Size t{src.width, src.height};
    for (std::uint32_t y = r.y; y < r.y + r.h; ++y) {
        const std::byte* s = src.pixels + std::size_t{y} * src.stride;
        for (std::uint32_t x = r.x; x < r.x + r.w; ++x) {
            std::uint32_t dx = 0, dy = 0;
            switch (rot) {
                case Rotation::rotate90:
                    dx = t.height - 1 - y;
                    dy = x;
                    break;
                case Rotation::rotate180:
                    dx = t.width - 1 - x;
                    dy = t.height - 1 - y;
                    break;
                case Rotation::rotate270:
                    dx = y;
                    dy = t.width - 1 - x;
                    break;
                case Rotation::identity:
                    break;
            }
            std::memcpy(dst.pixels + std::size_t{dy} * dst.stride + dx * bpp, s + x * bpp, bpp);
        }
    }
}

void make_opaque_bgra(ImageView img, const Rect& rect) {
    const Rect r = clip(rect, img.width, img.height);
    for (std::uint32_t y = r.y; y < r.y + r.h; ++y) {
        std::byte* row = img.pixels + std::size_t{y} * img.stride;
        for (std::uint32_t x = r.x; x < r.x + r.w; ++x)
            row[std::size_t{x} * 4 + 3] = std::byte{0xFF};
    }
}

}  // namespace porthole::agent::win
