#pragma once
// Converts a guest cursor shape of any type into two 8-bit BGRA images the
// renderer draws on top of the frame: `blend` with straight alpha, then
// `invert`, whose colour is XORed with the screen (drawn with the blend
// src*(1-dst) + dst*(1-src), exact XOR for the black/white values cursors use).

#include <cstddef>
#include <cstdint>
#include <vector>

#include "porthole/protocol/cursor_channel.hpp"

namespace porthole::client {

struct CursorImages {
    std::uint32_t width = 0, height = 0;  // both images; stride width*4
    std::int32_t hotspot_x = 0, hotspot_y = 0;
    std::vector<std::byte> blend;   // B,G,R,A; A 0 = transparent
    std::vector<std::byte> invert;  // B,G,R,(unused); 0 = leaves the screen alone
    bool has_invert = false;        // any non-zero invert pixel
};

// Every shape type: colour (alpha-blended), masked colour (alpha 0 replaces,
// 0xFF XORs), monochrome (AND mask then XOR mask, most significant bit first).
CursorImages convert_cursor(const protocol::CursorShape& shape);

}  // namespace porthole::client
