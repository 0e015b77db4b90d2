// Format mapping and pixel copies of the Windows capture backends.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "capture/win/formats.hpp"

using namespace porthole::agent::win;
using porthole::protocol::PixelFormat;
using porthole::protocol::Rect;

namespace {
// A W x H image of 4-byte pixels whose value is its index + 1 (0 never occurs).
struct Numbered {
    std::uint32_t w, h;
    std::vector<std::uint32_t> px;
    Numbered(std::uint32_t width, std::uint32_t height)
        : w(width), h(height), px(std::size_t{width} * height) {
        for (std::size_t i = 0; i < px.size(); ++i)
            px[i] = static_cast<std::uint32_t>(i + 1);
    }
    [[nodiscard]] ConstImageView view() const {
        return {reinterpret_cast<const std::byte*>(px.data()), w, h, w * 4, 4};
    }
    [[nodiscard]] std::uint32_t at(std::uint32_t x, std::uint32_t y) const {
        return px[std::size_t{y} * w + x];
    }
};
struct Blank {
    std::uint32_t w, h;
    std::vector<std::uint32_t> px;
    Blank(std::uint32_t width, std::uint32_t height)
        : w(width), h(height), px(std::size_t{width} * height, 0) {}
    ImageView view() { return {reinterpret_cast<std::byte*>(px.data()), w, h, w * 4, 4}; }
    [[nodiscard]] std::uint32_t at(std::uint32_t x, std::uint32_t y) const {
        return px[std::size_t{y} * w + x];
    }
};
}  // namespace

TEST(WinFormats, DxgiFormatsMapToTheProtocolLayouts) {
    EXPECT_EQ(pixel_format_from_dxgi(DXGI_FORMAT_B8G8R8A8_UNORM), PixelFormat::bgra8);
    EXPECT_EQ(pixel_format_from_dxgi(DXGI_FORMAT_B8G8R8X8_UNORM), PixelFormat::bgra8);
    EXPECT_EQ(pixel_format_from_dxgi(DXGI_FORMAT_R10G10B10A2_UNORM), PixelFormat::rgb10a2);
    EXPECT_EQ(pixel_format_from_dxgi(DXGI_FORMAT_R16G16B16A16_FLOAT), PixelFormat::rgba16f);
}

TEST(WinFormats, LayoutsWeCannotCarryAreRejected) {
    EXPECT_FALSE(pixel_format_from_dxgi(DXGI_FORMAT_R8G8B8A8_UNORM));  // R and B swapped
    EXPECT_FALSE(pixel_format_from_dxgi(DXGI_FORMAT_NV12));
    EXPECT_FALSE(pixel_format_from_dxgi(DXGI_FORMAT_UNKNOWN));
}

TEST(WinFormats, QuarterTurnsSwapWidthAndHeight) {
    EXPECT_EQ(rotated_size({1920, 1080}, Rotation::identity), (Size{1920, 1080}));
    EXPECT_EQ(rotated_size({1920, 1080}, Rotation::rotate90), (Size{1080, 1920}));
    EXPECT_EQ(rotated_size({1920, 1080}, Rotation::rotate180), (Size{1920, 1080}));
    EXPECT_EQ(rotated_size({1920, 1080}, Rotation::rotate270), (Size{1080, 1920}));
    EXPECT_EQ(rotation_from_dxgi(DXGI_MODE_ROTATION_UNSPECIFIED), Rotation::identity);
    EXPECT_EQ(rotation_from_dxgi(DXGI_MODE_ROTATION_ROTATE90), Rotation::rotate90);
}

TEST(WinFormats, RotatedCopyTurnsTheWholeImage) {
    const Numbered src(4, 3);
    // 90: the texture's top-left lands top-right; 180: bottom-right; 270: bottom-left.
    Blank r90(3, 4), r180(4, 3), r270(3, 4);
    copy_rect_rotated(src.view(), r90.view(), Rect{0, 0, 4, 3}, Rotation::rotate90);
    copy_rect_rotated(src.view(), r180.view(), Rect{0, 0, 4, 3}, Rotation::rotate180);
    copy_rect_rotated(src.view(), r270.view(), Rect{0, 0, 4, 3}, Rotation::rotate270);
    EXPECT_EQ(r90.at(2, 0), src.at(0, 0));
    EXPECT_EQ(r180.at(3, 2), src.at(0, 0));
    EXPECT_EQ(r270.at(0, 3), src.at(0, 0));
    for (std::uint32_t y = 0; y < 3; ++y) {
        for (std::uint32_t x = 0; x < 4; ++x) {
            EXPECT_EQ(r90.at(2 - y, x), src.at(x, y));
            EXPECT_EQ(r180.at(3 - x, 2 - y), src.at(x, y));
            EXPECT_EQ(r270.at(y, 3 - x), src.at(x, y));
        }
    }
}

TEST(WinFormats, RotatedRectIsExactlyWhereThePixelsLand) {
    const Numbered src(7, 5);
    const Rect r{2, 1, 3, 2};
    for (auto rot :
         {Rotation::identity, Rotation::rotate90, Rotation::rotate180, Rotation::rotate270}) {
        const Size ds = rotated_size({7, 5}, rot);
        Blank dst(ds.width, ds.height);
        copy_rect_rotated(src.view(), dst.view(), r, rot);
        const Rect d = rotate_rect(r, {7, 5}, rot);
        for (std::uint32_t y = 0; y < ds.height; ++y) {
            for (std::uint32_t x = 0; x < ds.width; ++x) {
                const bool inside = x >= d.x && x < d.x + d.w && y >= d.y && y < d.y + d.h;
                EXPECT_EQ(dst.at(x, y) != 0, inside)
                    << "rotation " << static_cast<int>(rot) << " at " << x << "," << y;
            }
        }
    }
}

TEST(WinFormats, IdentityCopyKeepsStridePaddingUntouched) {
    std::vector<std::byte> src(3 * 16, std::byte{0x11}), dst(3 * 20, std::byte{0x00});
    copy_rect_rotated({src.data(), 4, 3, 16, 4}, {dst.data(), 4, 3, 20, 4}, Rect{1, 1, 2, 2},
                      Rotation::identity);
    for (std::size_t y = 0; y < 3; ++y) {
        for (std::size_t x = 0; x < 20; ++x) {
            const bool inside = y >= 1 && x >= 4 && x < 12;
            EXPECT_EQ(dst[y * 20 + x], inside ? std::byte{0x11} : std::byte{0x00});
        }
    }
}

TEST(WinFormats, GdiAlphaBecomesOpaqueOnlyInTheRect) {
    std::vector<std::byte> img(4 * 2 * 4, std::byte{0});
    make_opaque_bgra({img.data(), 4, 2, 16, 4}, Rect{1, 0, 2, 1});
    for (std::size_t i = 0; i < img.size(); ++i) {
        const std::size_t px = i / 4, x = px % 4, y = px / 4;
        const bool alpha_in_rect = i % 4 == 3 && y == 0 && (x == 1 || x == 2);
        EXPECT_EQ(img[i], alpha_in_rect ? std::byte{0xFF} : std::byte{0}) << i;
    }
}
