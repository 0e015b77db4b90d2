#include "capture/win/hdr.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "porthole/protocol/layout.hpp"

namespace porthole::agent::win {

using protocol::PixelFormat;
using protocol::Rect;

bool frame_fits(std::uint32_t width, std::uint32_t height, PixelFormat format,
                std::uint64_t max_frame_bytes) {
    if (max_frame_bytes == 0) return true;
    return std::uint64_t{width} * height * protocol::bytes_per_pixel(format) <= max_frame_bytes;
}

std::vector<DXGI_FORMAT> duplication_formats(bool fp16_fits) {
    std::vector<DXGI_FORMAT> f;
    if (fp16_fits) f.push_back(DXGI_FORMAT_R16G16B16A16_FLOAT);
    f.push_back(DXGI_FORMAT_R10G10B10A2_UNORM);
    f.push_back(DXGI_FORMAT_B8G8R8A8_UNORM);
    f.push_back(DXGI_FORMAT_R8G8B8A8_UNORM);
    return f;
}

PublishChoice plan_publish(DXGI_FORMAT desktop, std::uint32_t width, std::uint32_t height,
                           std::uint64_t max_frame_bytes) {
    PublishChoice c;
    if (desktop == DXGI_FORMAT_R8G8B8A8_UNORM || desktop == DXGI_FORMAT_R8G8B8A8_UNORM_SRGB) {
        c.plan.format = PixelFormat::bgra8;
        c.plan.swizzle_rgba = true;
    } else if (auto f = pixel_format_from_dxgi(desktop)) {
        c.plan.format = *f;
    } else {
        c.why = "desktop format " + std::to_string(desktop) +
                " is not one Porthole carries (BGRA8, RGBA8, R10G10B10A2, RGBA16F)";
        return c;
    }
    if (c.plan.format == PixelFormat::rgba16f &&
        !frame_fits(width, height, PixelFormat::rgba16f, max_frame_bytes)) {
        c.plan.format = PixelFormat::rgb10a2;
        c.plan.fp16_to_rgb10a2 = true;
    }
    if (!frame_fits(width, height, c.plan.format, max_frame_bytes)) {
        c.why = "a " + std::to_string(width) + "x" + std::to_string(height) +
                " desktop does not fit a frame slot of " + std::to_string(max_frame_bytes >> 10) +
                " KiB even at 4 bytes a pixel: enlarge the IVSHMEM region";
        return c;
    }
    c.ok = true;
    return c;
}

std::string fp16_region_notice(std::uint32_t width, std::uint32_t height, std::uint32_t slots) {
    const auto bytes = protocol::recommended_region_size(width, height, PixelFormat::rgba16f,
                                                         std::max(slots, protocol::kMinFrameSlots));
    return "the desktop is HDR (FP16) and " + std::to_string(width) + "x" + std::to_string(height) +
           " FP16 frames do not fit the region's slots: sending RGB10A2 (converted on the GPU, "
           "highlights above SDR white clip); full FP16 needs a region of " +
           std::to_string(bytes >> 20) + " MiB";
}

float half_to_float(std::uint16_t h) {
    const std::uint32_t sign = (h >> 15) & 1U;
    const std::uint32_t exp = (h >> 10) & 0x1FU;
    const std::uint32_t mant = h & 0x3FFU;
    float v = 0;
    if (exp == 0)
        v = std::ldexp(static_cast<float>(mant), -24);  // zero and denormals
    else if (exp == 31)
        v = mant == 0 ? INFINITY : NAN;
    else
        v = std::ldexp(static_cast<float>(mant | 0x400U), static_cast<int>(exp) - 25);
    return sign != 0 ? -v : v;
}

namespace {
// Linear [0,1] (NaN and negatives to 0) to sRGB-encoded 10-bit.
std::uint32_t encode10(float linear) {
    if (!(linear > 0.0F)) return 0;
    if (linear >= 1.0F) return 1023;
    const float e =
        linear <= 0.0031308F ? linear * 12.92F : 1.055F * std::pow(linear, 1.0F / 2.4F) - 0.055F;
    return static_cast<std::uint32_t>(std::lround(std::clamp(e, 0.0F, 1.0F) * 1023.0F));
}
}  // namespace

std::uint32_t scrgb_to_rgb10a2(const std::uint16_t rgba[4]) {
    const float a = half_to_float(rgba[3]);
    const std::uint32_t a2 =
        a > 0.0F ? static_cast<std::uint32_t>(std::lround(std::min(a, 1.0F) * 3.0F)) : 0;
    return encode10(half_to_float(rgba[0])) | (encode10(half_to_float(rgba[1])) << 10) |
           (encode10(half_to_float(rgba[2])) << 20) | (a2 << 30);
}

namespace {
Rect clip(const Rect& r, std::uint32_t w, std::uint32_t h) {
    if (r.x >= w || r.y >= h) return Rect{};
    return Rect{r.x, r.y, std::min(r.w, w - r.x), std::min(r.h, h - r.y)};
}
}  // namespace

void convert_fp16_rect(ConstImageView src, ImageView dst, const Rect& rect) {
    const Rect r = clip(clip(rect, src.width, src.height), dst.width, dst.height);
    for (std::uint32_t y = r.y; y < r.y + r.h; ++y) {
        const std::byte* s = src.pixels + std::size_t{y} * src.stride;
        std::byte* d = dst.pixels + std::size_t{y} * dst.stride;
        for (std::uint32_t x = r.x; x < r.x + r.w; ++x) {
            std::uint16_t px[4];
            std::memcpy(px, s + std::size_t{x} * 8, sizeof(px));
            const std::uint32_t out = scrgb_to_rgb10a2(px);
            std::memcpy(d + std::size_t{x} * 4, &out, 4);
        }
    }
}

void swizzle_rgba_rect(ConstImageView src, ImageView dst, const Rect& rect) {
    const Rect r = clip(clip(rect, src.width, src.height), dst.width, dst.height);
    for (std::uint32_t y = r.y; y < r.y + r.h; ++y) {
        const std::byte* s = src.pixels + std::size_t{y} * src.stride;
        std::byte* d = dst.pixels + std::size_t{y} * dst.stride;
        for (std::uint32_t x = r.x; x < r.x + r.w; ++x) {
            const std::byte* p = s + std::size_t{x} * 4;
            std::byte* q = d + std::size_t{x} * 4;
            q[0] = p[2];
            q[1] = p[1];
            q[2] = p[0];
            q[3] = p[3];
        }
    }
}

}  // namespace porthole::agent::win
