#include "render/png_file.hpp"

#include <png.h>

#include <cstring>

namespace porthole::client {

Status write_png(const std::string& path, const ReadbackImage& image) {
    png_image png;
    std::memset(&png, 0, sizeof png);
    png.version = PNG_IMAGE_VERSION;
    png.width = image.width;
    png.height = image.height;
    png.format = PNG_FORMAT_BGRA;
    if (png_image_write_to_file(&png, path.c_str(), 0, image.bgra.data(),
                                static_cast<png_int_32>(image.stride), nullptr) == 0) {
        return Error::make("cannot write the screenshot " + path + ": " + png.message +
                           " (check the folder exists and is writable)");
    }
    return {};
}

Result<ReadbackImage> read_png(const std::string& path) {
    png_image png;
    std::memset(&png, 0, sizeof png);
    png.version = PNG_IMAGE_VERSION;
    if (png_image_begin_read_from_file(&png, path.c_str()) == 0) {
        return Error::make("cannot read PNG " + path + ": " + png.message);
    }
    png.format = PNG_FORMAT_BGRA;
    ReadbackImage out;
    out.width = png.width;
    out.height = png.height;
    out.stride = png.width * 4;
    out.bgra.resize(PNG_IMAGE_SIZE(png));
    if (png_image_finish_read(&png, nullptr, out.bgra.data(), static_cast<png_int_32>(out.stride),
                              nullptr) == 0) {
        return Error::make("cannot decode PNG " + path + ": " + png.message);
    }
    return out;
}

}  // namespace porthole::client
