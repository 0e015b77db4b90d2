// The host's checks on a guest's PNG before the desktop gets it.
#include <gtest/gtest.h>
#include <png.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "clipboard/png_check.hpp"

using porthole::client::clipboard::check_guest_png;

namespace {

std::string small_png(std::uint32_t w, std::uint32_t h) {
    std::vector<std::uint8_t> rgba(std::size_t{w} * h * 4, 0x7F);
    png_image image{};
    image.version = PNG_IMAGE_VERSION;
    image.width = w;
    image.height = h;
    image.format = PNG_FORMAT_RGBA;
    png_alloc_size_t size = 0;
    EXPECT_NE(png_image_write_to_memory(&image, nullptr, &size, 0, rgba.data(), 0, nullptr), 0);
    std::string out(size, '\0');
    EXPECT_NE(png_image_write_to_memory(&image, out.data(), &size, 0, rgba.data(), 0, nullptr), 0);
    out.resize(size);
    return out;
}

std::uint32_t crc32(const std::string& bytes) {
    std::uint32_t c = 0xFFFFFFFFU;
    for (const char ch : bytes) {
        c ^= static_cast<std::uint8_t>(ch);
        for (int k = 0; k < 8; ++k)
            c = (c & 1U) != 0 ? 0xEDB88320U ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xFFFFFFFFU;
}

void put32(std::string& s, std::uint32_t v) {
    for (int i = 3; i >= 0; --i)
        s += static_cast<char>((v >> (8 * i)) & 0xFFU);
}

// A signature and a well-formed IHDR (valid CRC) claiming w x h.
std::string header_claiming(std::uint32_t w, std::uint32_t h) {
    std::string s("\x89PNG\r\n\x1A\n", 8);
    std::string chunk = "IHDR";
    put32(chunk, w);
    put32(chunk, h);
    chunk += std::string("\x08\x06\x00\x00\x00", 5);  // 8-bit RGBA
    put32(s, 13);
    s += chunk;
    put32(s, crc32(chunk));
    return s;
}

}  // namespace

TEST(GuestPngCheck, AValidPngPasses) {
    const auto png = small_png(20, 10);
    EXPECT_TRUE(check_guest_png(png, 1U << 20));
}

TEST(GuestPngCheck, OverTheSizeLimitIsRefusedNamingTheOption) {
    const auto png = small_png(20, 10);
    auto r = check_guest_png(png, png.size() - 1);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("--clipboard-max-size"), std::string::npos);
}

TEST(GuestPngCheck, NotAPngOrATruncatedHeaderIsRefused) {
    auto text = check_guest_png("GIF89a and more bytes", 1000);
    ASSERT_FALSE(text);
    EXPECT_NE(text.error().message.find("not a PNG"), std::string::npos);
    const auto png = small_png(20, 10);
    auto cut = check_guest_png(png.substr(0, 20), 1000);
    ASSERT_FALSE(cut);
    EXPECT_NE(cut.error().message.find("invalid PNG header"), std::string::npos);
    std::string bad_crc = header_claiming(10, 10);
    bad_crc.back() = static_cast<char>(bad_crc.back() ^ 1);
    EXPECT_FALSE(check_guest_png(bad_crc, 1000));
}

TEST(GuestPngCheck, HugeDimensionsAreRefusedFromTheHeaderAlone) {
    // libpng's user limits stop at the IHDR: nothing past it is needed.
    auto wide = check_guest_png(header_claiming(100000, 10), 1000);
    ASSERT_FALSE(wide);
    auto tall = check_guest_png(header_claiming(10, 0x7FFFFFFFU), 1000);
    ASSERT_FALSE(tall);
}
