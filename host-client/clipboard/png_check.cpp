#include "clipboard/png_check.hpp"

#include <png.h>

#include <csetjmp>
#include <cstring>
#include <string>

namespace porthole::client::clipboard {
namespace {

struct Source {
    std::string_view data;
    std::size_t at = 0;
};

extern "C" void read_from_memory(png_structp png, png_bytep out, png_size_t n) {
    auto* s = static_cast<Source*>(png_get_io_ptr(png));
    if (n > s->data.size() - s->at) png_error(png, "truncated");
    std::memcpy(out, s->data.data() + s->at, n);
    s->at += n;
}

extern "C" void quiet_warning(png_structp, png_const_charp) {}

// Only the header is decoded, libpng's own limits set; false when libpng
// refuses it. Kept apart: nothing here may be clobbered by its longjmp.
[[gnu::noinline]] bool read_header(png_structp png, png_infop info, Source* src, png_uint_32* w,
                                   png_uint_32* h) {
    if (setjmp(png_jmpbuf(png)) != 0) return false;
    png_set_user_limits(png, kMaxPngSide, kMaxPngSide);
    png_set_read_fn(png, src, read_from_memory);
    png_read_info(png, info);
    *w = png_get_image_width(png, info);
    *h = png_get_image_height(png, info);
    return true;
}

}  // namespace

Status check_guest_png(std::string_view data, std::size_t limit) {
    if (data.size() > limit) {
        return Error::make("the guest's clipboard image of " + std::to_string(data.size()) +
                           " bytes is over the limit of " + std::to_string(limit) +
                           " bytes (--clipboard-max-size)");
    }
    if (data.size() < 8 || png_sig_cmp(reinterpret_cast<png_const_bytep>(data.data()), 0, 8) != 0)
        return Error::make("the guest's clipboard image is not a PNG: refused");
    png_structp png =
        png_create_read_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, quiet_warning);
    if (png == nullptr) return Error::make("libpng: out of memory");
    png_infop info = png_create_info_struct(png);
    if (info == nullptr) {
        png_destroy_read_struct(&png, nullptr, nullptr);
        return Error::make("libpng: out of memory");
    }
    Source src{data, 0};
    png_uint_32 w = 0, h = 0;
    const bool ok = read_header(png, info, &src, &w, &h);
    png_destroy_read_struct(&png, &info, nullptr);
    if (!ok) return Error::make("the guest's clipboard image has an invalid PNG header: refused");
    if (w == 0 || h == 0 || w > kMaxPngSide || h > kMaxPngSide) {
        return Error::make("the guest's clipboard image of " + std::to_string(w) + "x" +
                           std::to_string(h) + " is over " + std::to_string(kMaxPngSide) +
                           " pixels a side: refused");
    }
    return {};
}

}  // namespace porthole::client::clipboard
