#include "capture/win/damage.hpp"

#include <algorithm>
#include <cstring>

namespace porthole::agent::win {

using protocol::DamageList;
using protocol::Rect;

Rect clip_rect(const RECT& r, std::uint32_t width, std::uint32_t height) {
    const auto lo = [](LONG v, std::uint32_t max) {
        return static_cast<std::uint32_t>(std::clamp<LONG>(v, 0, static_cast<LONG>(max)));
    };
    const std::uint32_t x0 = lo(r.left, width), x1 = lo(r.right, width);
    const std::uint32_t y0 = lo(r.top, height), y1 = lo(r.bottom, height);
    if (x1 <= x0 || y1 <= y0) return Rect{};
    return Rect{x0, y0, x1 - x0, y1 - y0};
}

DamageList damage_from_dxgi(std::span<const RECT> dirty,
                            std::span<const DXGI_OUTDUPL_MOVE_RECT> moves, Size texture,
                            Rotation rot) {
    DamageList out;
    const auto add = [&](const RECT& r) {
        const Rect c = clip_rect(r, texture.width, texture.height);
        if (!c.empty()) out.add(rotate_rect(c, texture, rot));
    };
    // The duplicated image already shows the moved pixels at their destination;
    // the source area is either still the same or reported as dirty.
    for (const auto& m : moves)
        add(m.DestinationRect);
    for (const auto& r : dirty)
        add(r);
    return out;
}

DamageList diff_tiles(ConstImageView prev, ConstImageView cur, std::uint32_t tile) {
    DamageList out;
    const std::size_t bpp = cur.bytes_per_pixel;
    for (std::uint32_t ty = 0; ty < cur.height; ty += tile) {
        const std::uint32_t th = std::min(tile, cur.height - ty);
        std::uint32_t run_x = 0, run_w = 0;  // a run of changed tiles on this row
        for (std::uint32_t tx = 0; tx < cur.width; tx += tile) {
            const std::uint32_t tw = std::min(tile, cur.width - tx);
            bool changed = false;
            for (std::uint32_t y = ty; y < ty + th && !changed; ++y) {
                const std::size_t off = std::size_t{y} * cur.stride + tx * bpp;
                changed = std::memcmp(prev.pixels + off, cur.pixels + off, tw * bpp) != 0;
            }
            if (changed) {
                if (run_w == 0) run_x = tx;
                run_w += tw;
            } else if (run_w != 0) {
                out.add(Rect{run_x, ty, run_w, th});
                run_w = 0;
            }
        }
        if (run_w != 0) out.add(Rect{run_x, ty, run_w, th});
    }
    return out;
}

}  // namespace porthole::agent::win
