#include "porthole/protocol/format.hpp"

namespace porthole::protocol {

std::string_view to_string(PixelFormat f) {
    switch (f) {
        case PixelFormat::bgra8:
            return "bgra8";
        case PixelFormat::rgb10a2:
            return "rgb10a2";
        case PixelFormat::rgba16f:
            return "rgba16f";
    }
    return "unknown";
}

std::optional<PixelFormat> parse_pixel_format(std::string_view name) {
    for (auto f : {PixelFormat::bgra8, PixelFormat::rgb10a2, PixelFormat::rgba16f}) {
        if (name == to_string(f)) return f;
    }
    return std::nullopt;
}

namespace {

constexpr bool contains(const Rect& outer, const Rect& in) {
    return in.x >= outer.x && in.y >= outer.y && in.x + in.w <= outer.x + outer.w &&
           in.y + in.h <= outer.y + outer.h;
}

// Two rects whose union is exactly their bounding box: same rows and
// overlapping or touching columns, or the other way round.
constexpr bool merges_exactly(const Rect& a, const Rect& b) {
    if (a.y == b.y && a.h == b.h) return a.x <= b.x + b.w && b.x <= a.x + a.w;
    if (a.x == b.x && a.w == b.w) return a.y <= b.y + b.h && b.y <= a.y + a.h;
    return false;
}

}  // namespace

void DamageList::add(const Rect& in) {
    if (in.empty()) return;
    // Absorb containment and exact merges so that damage accumulated over
    // several frames (a moving bar, scrolling text) does not grow.
    Rect r = in;
    for (std::uint32_t i = 0; i < count_;) {
        const Rect& e = rects_[i];
        if (contains(e, r)) return;
        if (contains(r, e) || merges_exactly(r, e)) {
            r = bounding_box(r, e);
            rects_[i] = rects_[--count_];
            i = 0;  // the grown rect may now absorb earlier ones
            continue;
        }
        ++i;
    }
    if (count_ < kMaxDamageRects) {
        rects_[count_++] = r;
        return;
    }
    // Full: collapse everything to one bounding box.
    const Rect box = bounding_box(bounds(), r);
    rects_[0] = box;
    count_ = 1;
}

std::uint64_t DamageList::area() const {
    std::uint64_t a = 0;
    for (const auto& r : rects())
        a += r.area();
    return a;
}

Rect DamageList::bounds() const {
    Rect b{};
    for (const auto& r : rects())
        b = bounding_box(b, r);
    return b;
}

}  // namespace porthole::protocol
