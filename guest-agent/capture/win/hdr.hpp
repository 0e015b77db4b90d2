#pragma once
// HDR desktops within the region's slot size. Windows composes an HDR
// desktop in FP16 scRGB (8 bytes a pixel); a region sized for 4 bytes a pixel
// cannot carry it, so the agent asks for FP16 only when a frame fits and
// otherwise converts FP16 to RGB10A2 (4 bytes) on the GPU. The CPU
// conversion here is the reference the GPU path is tested against, and the
// fallback where no shader compiler is available.

#include <dxgi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "capture/win/formats.hpp"
#include "porthole/protocol/format.hpp"

namespace porthole::agent::win {

// True if a width x height frame in `format` fits one slot of max_frame_bytes
// (0: no limit known).
bool frame_fits(std::uint32_t width, std::uint32_t height, protocol::PixelFormat format,
                std::uint64_t max_frame_bytes);

// The formats to ask DuplicateOutput1 for, preferred first. FP16 only when
// fp16_fits; BGRA8 always (the documentation asks for it); R8G8B8A8 so that a
// full-screen game presenting it is not converted by DXGI.
std::vector<DXGI_FORMAT> duplication_formats(bool fp16_fits);

// How a duplicated texture of format `desktop` reaches the region.
struct PublishPlan {
    protocol::PixelFormat format = protocol::PixelFormat::bgra8;  // what the region carries
    bool fp16_to_rgb10a2 = false;  // convert (the desktop is FP16 and does not fit)
    bool swizzle_rgba = false;     // R8G8B8A8: swap R and B while copying
};
// ok=false when the desktop cannot be carried: an unknown format, or a frame
// larger than the slot even at 4 bytes a pixel (the region is too small).
struct PublishChoice {
    bool ok = false;
    PublishPlan plan;
    std::string why;  // when !ok
};
PublishChoice plan_publish(DXGI_FORMAT desktop, std::uint32_t width, std::uint32_t height,
                           std::uint64_t max_frame_bytes);

// The one-time notice for an HDR desktop converted to RGB10A2: what region
// size full FP16 needs for this desktop with `slots` frame slots.
std::string fp16_region_notice(std::uint32_t width, std::uint32_t height, std::uint32_t slots);

// IEEE half to float (denormals, infinities and NaN included).
float half_to_float(std::uint16_t h);
// One scRGB FP16 pixel (R,G,B,A halves, linear, 1.0 = SDR white) as
// R10G10B10A2: sRGB-encoded, clamped to SDR (the protocol has no HDR
// transfer function yet), R in bits 0-9, A in 30-31.
std::uint32_t scrgb_to_rgb10a2(const std::uint16_t rgba[4]);
// Converts rectangle r (clipped) of an FP16 image to RGB10A2 pixels at the
// same place in dst (4 bytes a pixel, same size).
void convert_fp16_rect(ConstImageView src, ImageView dst, const protocol::Rect& r);
// Copies rectangle r of an R8G8B8A8 image to dst as B8G8R8A8.
void swizzle_rgba_rect(ConstImageView src, ImageView dst, const protocol::Rect& r);

}  // namespace porthole::agent::win
