#pragma once
// Checks on an image (PNG) that comes from the guest before the desktop gets it.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "porthole/util/result.hpp"

namespace porthole::client::clipboard {

// The largest side accepted (a paster would decode width x height x 4 bytes).
inline constexpr std::uint32_t kMaxPngSide = 16384;

// At most `limit` bytes, a PNG signature and a header libpng accepts, with
// sides of 1..kMaxPngSide: an error naming the problem otherwise.
Status check_guest_png(std::string_view png, std::size_t limit);

}  // namespace porthole::client::clipboard
