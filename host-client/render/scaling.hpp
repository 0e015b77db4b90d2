#pragma once
// Where a frame goes on the target for each scaling mode.

#include <cstdint>

#include "render/render_types.hpp"

namespace porthole::client {

// The frame's rectangle on a target_w x target_h target, centred:
// fit keeps the aspect ratio and fills one dimension; integer uses the largest
// whole multiple that fits (falling back to fit when even 1x does not);
// stretch fills the target.
PixelRect place_frame(ScaleMode mode, std::uint32_t frame_w, std::uint32_t frame_h,
                      std::uint32_t target_w, std::uint32_t target_h);

// The cursor's rectangle on the target, for a frame_w x frame_h frame drawn at
// `frame`. The guest chooses position and hotspot: the cursor's top-left is
// clamped to the frame grown by the cursor's size, so any values (INT32_MIN
// too) give a rectangle next to the frame, never a viewport far out of range.
PixelRect place_cursor(const PixelRect& frame, std::uint32_t frame_w, std::uint32_t frame_h,
                       std::int32_t x, std::int32_t y, std::int32_t hotspot_x,
                       std::int32_t hotspot_y, std::uint32_t cursor_w, std::uint32_t cursor_h);

}  // namespace porthole::client
