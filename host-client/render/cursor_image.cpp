#include "render/cursor_image.hpp"

#include <cstring>

namespace porthole::client {

namespace {
void put(std::vector<std::byte>& img, std::size_t i, std::uint8_t b, std::uint8_t g, std::uint8_t r,
         std::uint8_t a) {
    img[i * 4 + 0] = std::byte{b};
    img[i * 4 + 1] = std::byte{g};
    img[i * 4 + 2] = std::byte{r};
    img[i * 4 + 3] = std::byte{a};
}
std::uint8_t at(const std::vector<std::byte>& d, std::size_t off) {
    return off < d.size() ? std::to_integer<std::uint8_t>(d[off]) : 0;
}
}  // namespace

CursorImages convert_cursor(const protocol::CursorShape& s) {
    CursorImages out;
    out.width = s.width;
    out.height = s.height;
    out.hotspot_x = s.hotspot_x;
    out.hotspot_y = s.hotspot_y;
    const std::size_t n = std::size_t{s.width} * s.height;
    out.blend.assign(n * 4, std::byte{0});
    out.invert.assign(n * 4, std::byte{0});
    for (std::uint32_t y = 0; y < s.height; ++y) {
        for (std::uint32_t x = 0; x < s.width; ++x) {
            const std::size_t i = std::size_t{y} * s.width + x;
            if (s.type == protocol::CursorType::monochrome) {
                const std::size_t byte = x / 8;
                const auto bit = static_cast<std::uint8_t>(0x80U >> (x % 8));
                const bool and_bit = (at(s.data, std::size_t{y} * s.pitch + byte) & bit) != 0;
                const bool xor_bit =
                    (at(s.data, (std::size_t{y} + s.height) * s.pitch + byte) & bit) != 0;
                if (!and_bit) {
                    const std::uint8_t v = xor_bit ? 255 : 0;
                    put(out.blend, i, v, v, v, 255);
                } else if (xor_bit) {
                    put(out.invert, i, 255, 255, 255, 255);
                    out.has_invert = true;
                }
                continue;
            }
            const std::size_t off = std::size_t{y} * s.pitch + std::size_t{x} * 4;
            const std::uint8_t b = at(s.data, off), g = at(s.data, off + 1),
                               r = at(s.data, off + 2), a = at(s.data, off + 3);
            if (s.type == protocol::CursorType::color) {
                put(out.blend, i, b, g, r, a);
            } else if (a == 0) {  // masked: replace
                put(out.blend, i, b, g, r, 255);
            } else if ((b | g | r) != 0) {  // masked: XOR with the screen
                put(out.invert, i, b, g, r, 255);
                out.has_invert = true;
            }
        }
    }
    return out;
}

}  // namespace porthole::client
