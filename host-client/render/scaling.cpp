#include "render/scaling.hpp"

#include <algorithm>

namespace porthole::client {

namespace {
PixelRect centred(std::uint32_t w, std::uint32_t h, std::uint32_t tw, std::uint32_t th) {
    return PixelRect{static_cast<std::int32_t>((std::int64_t{tw} - w) / 2),
                     static_cast<std::int32_t>((std::int64_t{th} - h) / 2), w, h};
}
}  // namespace

PixelRect place_frame(ScaleMode mode, std::uint32_t fw, std::uint32_t fh, std::uint32_t tw,
                      std::uint32_t th) {
    if (fw == 0 || fh == 0 || tw == 0 || th == 0) return {};
    switch (mode) {
        case ScaleMode::stretch:
            return PixelRect{0, 0, tw, th};
        case ScaleMode::integer: {
            const std::uint32_t k = std::min(tw / fw, th / fh);
            if (k >= 1) return centred(fw * k, fh * k, tw, th);
            break;  // smaller than 1x: fit instead
        }
        case ScaleMode::fit:
            break;
    }
    // Compare tw/fw with th/fh exactly in integers.
    if (std::uint64_t{tw} * fh <= std::uint64_t{th} * fw) {
        const auto h = static_cast<std::uint32_t>((std::uint64_t{fh} * tw + fw / 2) / fw);
        return centred(tw, std::max(h, 1U), tw, th);
    }
    const auto w = static_cast<std::uint32_t>((std::uint64_t{fw} * th + fh / 2) / fh);
    return centred(std::max(w, 1U), th, tw, th);
}

PixelRect place_cursor(const PixelRect& frame, std::uint32_t frame_w, std::uint32_t frame_h,
                       std::int32_t x, std::int32_t y, std::int32_t hotspot_x,
                       std::int32_t hotspot_y, std::uint32_t cursor_w, std::uint32_t cursor_h) {
    if (frame_w == 0 || frame_h == 0 || cursor_w == 0 || cursor_h == 0) return {};
    const double sx = static_cast<double>(frame.w) / frame_w;
    const double sy = static_cast<double>(frame.h) / frame_h;
    // In frame pixels, exact in 64 bits: from fully left of (above) the frame
    // to just past its right (bottom) edge.
    const std::int64_t left =
        std::clamp<std::int64_t>(std::int64_t{x} - hotspot_x, -std::int64_t{cursor_w}, frame_w);
    const std::int64_t top =
        std::clamp<std::int64_t>(std::int64_t{y} - hotspot_y, -std::int64_t{cursor_h}, frame_h);
    // Frame and cursor sizes are bounded (16384, cursor limits), so these fit in int32.
    return PixelRect{frame.x + static_cast<std::int32_t>(static_cast<double>(left) * sx),
                     frame.y + static_cast<std::int32_t>(static_cast<double>(top) * sy),
                     static_cast<std::uint32_t>(cursor_w * sx + 0.5),
                     static_cast<std::uint32_t>(cursor_h * sy + 0.5)};
}

}  // namespace porthole::client
