#pragma once
// Pixel helpers for the Windows backends: DXGI formats to the protocol's
// formats, copying rectangles between images (rotating them when the display
// is rotated), and making GDI's undefined alpha opaque.

#include <dxgi1_2.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "porthole/protocol/format.hpp"

namespace porthole::agent::win {

// The protocol format with the same memory layout, or nullopt if we cannot carry it.
std::optional<protocol::PixelFormat> pixel_format_from_dxgi(DXGI_FORMAT f);

// How the desktop is turned relative to the duplicated texture (DXGI_MODE_ROTATION).
enum class Rotation { identity, rotate90, rotate180, rotate270 };
Rotation rotation_from_dxgi(DXGI_MODE_ROTATION r);

struct Size {
    std::uint32_t width = 0, height = 0;
    friend bool operator==(const Size&, const Size&) = default;
};
// The desktop's size for a texture of `texture` size shown with rotation r.
Size rotated_size(Size texture, Rotation r);
// Where texture rectangle r lands on the desktop (r must be inside `texture`).
protocol::Rect rotate_rect(const protocol::Rect& r, Size texture, Rotation rot);

// An image in memory: rows of `stride` bytes, bytes_per_pixel bytes a pixel.
struct ImageView {
    std::byte* pixels = nullptr;
    std::uint32_t width = 0, height = 0, stride = 0, bytes_per_pixel = 4;
};
struct ConstImageView {
    const std::byte* pixels = nullptr;
    std::uint32_t width = 0, height = 0, stride = 0, bytes_per_pixel = 4;
};

// Copies texture rectangle r of src to its rotated place in dst (dst has the
// rotated size, same pixel size). r is clipped to src.
void copy_rect_rotated(ConstImageView src, ImageView dst, const protocol::Rect& r, Rotation rot);

// Sets the alpha byte of every B,G,R,X pixel in r to 0xFF (GDI leaves it 0).
void make_opaque_bgra(ImageView img, const protocol::Rect& r);

}  // namespace porthole::agent::win
