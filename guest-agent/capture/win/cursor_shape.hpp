#pragma once
// DXGI pointer shapes (GetFramePointerShape) to the protocol's cursor layouts
// (protocol/region.hpp, CursorType): colour and masked colour stay 32-bit
// B,G,R,A rows; monochrome stays 1 bpp, AND rows then XOR rows, where DXGI's
// height counts both masks and ours counts one. Rows are repacked to the
// smallest pitch.

#include <dxgi1_2.h>

#include <cstddef>
#include <span>

#include "capture/source.hpp"
#include "porthole/util/result.hpp"

namespace porthole::agent::win {

// Converts one shape; errors name what is malformed (unknown type, a buffer
// smaller than pitch x height, a shape over kMaxCursorSize).
Result<CursorShapeUpdate> convert_pointer_shape(const DXGI_OUTDUPL_POINTER_SHAPE_INFO& info,
                                                std::span<const std::byte> buffer);

// The hotspot position on the desktop, from DXGI's top-left of the shape.
inline std::int32_t hotspot_coordinate(LONG shape_origin, std::int32_t hotspot) {
    return static_cast<std::int32_t>(shape_origin) + hotspot;
}

}  // namespace porthole::agent::win
