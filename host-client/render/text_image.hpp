#pragma once
// Draws lines of text with a built-in 5x7 bitmap font into an 8-bit BGRA
// image (white text on a translucent black box), for the overlay and the
// connection-state messages. Lower case is drawn as upper case.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace porthole::client {

struct TextImage {
    std::uint32_t width = 0, height = 0;  // stride width*4
    std::vector<std::byte> bgra;
};

// An image just large enough for the lines at `scale` pixels per font pixel.
TextImage render_text(const std::vector<std::string>& lines, std::uint32_t scale = 1);

}  // namespace porthole::client
