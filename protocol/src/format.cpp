#include "porthole/protocol/format.hpp"

namespace porthole::protocol {

std::string_view to_string(PixelFormat f) {
    switch (f) {
        case PixelFormat::bgra8: return "bgra8";
        case PixelFormat::rgb10a2: return "rgb10a2";
        case PixelFormat::rgba16f: return "rgba16f";
    }
    return "unknown";
}

std::optional<PixelFormat> parse_pixel_format(std::string_view name) {
    for (auto f : {PixelFormat::bgra8, PixelFormat::rgb10a2, PixelFormat::rgba16f}) {
        if (name == to_string(f)) return f;
    }
    return std::nullopt;
}

void DamageList::add(const Rect& r) {
    if (r.empty()) return;
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
    for (const auto& r : rects()) a += r.area();
    return a;
}

Rect DamageList::bounds() const {
    Rect b{};
    for (const auto& r : rects()) b = bounding_box(b, r);
    return b;
}

}  // namespace porthole::protocol
