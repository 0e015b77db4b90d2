#pragma once
// The Windows clipboard's images (CF_DIB: a BITMAPINFOHEADER, masks, pixels)
// to and from PNG, through WIC. Call on a thread with COM initialised.

#include <cstdint>
#include <string>
#include <string_view>

#include "porthole/util/result.hpp"

namespace porthole::agent::clipboard {

// The largest side converted either way.
inline constexpr std::uint32_t kMaxImageSide = 16384;

// A packed DIB (24 or 32 bits, BI_RGB or BI_BITFIELDS) as a PNG; an error for
// anything else or sizes that do not fit the bytes.
Result<std::string> dib_to_png(std::string_view dib);
// A PNG as a packed 32-bit bottom-up BI_RGB DIB.
Result<std::string> png_to_dib(std::string_view png);

}  // namespace porthole::agent::clipboard
