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

}  // namespace porthole::client
