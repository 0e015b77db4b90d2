#pragma once
// PNG files of read-back images (screenshots), through libpng.

#include <string>

#include "porthole/util/result.hpp"
#include "render/render_types.hpp"

namespace porthole::client {

// Writes the image as an 8-bit RGBA PNG.
Status write_png(const std::string& path, const ReadbackImage& image);
// Reads any PNG libpng understands into 8-bit B,G,R,A rows.
Result<ReadbackImage> read_png(const std::string& path);

}  // namespace porthole::client
