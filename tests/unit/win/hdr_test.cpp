// HDR desktops within the region: which formats are asked for, what the
// region carries, and the FP16 -> RGB10A2 reference conversion.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "capture/win/hdr.hpp"

using namespace porthole::agent::win;
using porthole::protocol::PixelFormat;
using porthole::protocol::Rect;

namespace {
constexpr std::uint16_t kHalfOne = 0x3C00;
constexpr std::uint16_t kHalfHalf = 0x3800;  // 0.5
constexpr std::uint16_t kHalfTwo = 0x4000;
constexpr std::uint16_t kHalfMinusOne = 0xBC00;
constexpr std::uint64_t k1080pAt4 = 1920ULL * 1080 * 4;

bool has(const std::vector<DXGI_FORMAT>& v, DXGI_FORMAT f) {
    return std::find(v.begin(), v.end(), f) != v.end();
}
}  // namespace

TEST(Hdr, Fp16IsAskedForOnlyWhenItFitsAndBgraAlways) {
    const auto small = duplication_formats(false);
    EXPECT_FALSE(has(small, DXGI_FORMAT_R16G16B16A16_FLOAT));
    EXPECT_TRUE(has(small, DXGI_FORMAT_B8G8R8A8_UNORM));
    EXPECT_TRUE(has(small, DXGI_FORMAT_R8G8B8A8_UNORM));
    const auto big = duplication_formats(true);
    ASSERT_FALSE(big.empty());
    EXPECT_EQ(big.front(), DXGI_FORMAT_R16G16B16A16_FLOAT);
    EXPECT_TRUE(has(big, DXGI_FORMAT_B8G8R8A8_UNORM));
}

TEST(Hdr, FrameFitsComparesBytesWithTheSlot) {
    EXPECT_TRUE(frame_fits(1920, 1080, PixelFormat::bgra8, k1080pAt4));
    EXPECT_FALSE(frame_fits(1920, 1080, PixelFormat::rgba16f, k1080pAt4));
    EXPECT_TRUE(frame_fits(1920, 1080, PixelFormat::rgba16f, 2 * k1080pAt4));
    EXPECT_TRUE(frame_fits(7680, 4320, PixelFormat::rgba16f, 0)) << "0 means no known limit";
}

TEST(Hdr, Fp16DesktopInASmallRegionIsConvertedToRgb10a2) {
    const auto c = plan_publish(DXGI_FORMAT_R16G16B16A16_FLOAT, 1920, 1080, k1080pAt4);
    ASSERT_TRUE(c.ok) << c.why;
    EXPECT_EQ(c.plan.format, PixelFormat::rgb10a2);
    EXPECT_TRUE(c.plan.fp16_to_rgb10a2);
}

TEST(Hdr, Fp16DesktopInALargeRegionStaysFp16) {
    const auto c = plan_publish(DXGI_FORMAT_R16G16B16A16_FLOAT, 1920, 1080, 2 * k1080pAt4);
    ASSERT_TRUE(c.ok) << c.why;
    EXPECT_EQ(c.plan.format, PixelFormat::rgba16f);
    EXPECT_FALSE(c.plan.fp16_to_rgb10a2);
}

TEST(Hdr, Rgba8DesktopIsSwizzledToBgra) {
    const auto c = plan_publish(DXGI_FORMAT_R8G8B8A8_UNORM, 640, 480, k1080pAt4);
    ASSERT_TRUE(c.ok) << c.why;
    EXPECT_EQ(c.plan.format, PixelFormat::bgra8);
    EXPECT_TRUE(c.plan.swizzle_rgba);
}

TEST(Hdr, DesktopLargerThanTheSlotAtFourBytesIsRefusedWithAdvice) {
    const auto c = plan_publish(DXGI_FORMAT_B8G8R8A8_UNORM, 3840, 2160, k1080pAt4);
    EXPECT_FALSE(c.ok);
    EXPECT_NE(c.why.find("3840x2160"), std::string::npos) << c.why;
    EXPECT_NE(c.why.find("enlarge"), std::string::npos) << c.why;
    EXPECT_FALSE(plan_publish(DXGI_FORMAT_R32G32B32A32_FLOAT, 64, 64, k1080pAt4).ok);
}

TEST(Hdr, NoticeSaysWhatRegionFullFp16Needs) {
    const auto n = fp16_region_notice(1920, 1080, 3);
    // 3 slots of 1920x1080x8 bytes (~47 MiB) plus the fixed channels: 64 MiB rounded up.
    EXPECT_NE(n.find("64 MiB"), std::string::npos) << n;
    EXPECT_NE(n.find("RGB10A2"), std::string::npos) << n;
}

TEST(Hdr, HalfToFloatCoversNormalsDenormalsAndSpecials) {
    EXPECT_EQ(half_to_float(kHalfOne), 1.0F);
    EXPECT_EQ(half_to_float(kHalfHalf), 0.5F);
    EXPECT_EQ(half_to_float(kHalfMinusOne), -1.0F);
    EXPECT_EQ(half_to_float(0x7BFF), 65504.0F);
    EXPECT_FLOAT_EQ(half_to_float(0x0001), 5.9604645e-08F);
    EXPECT_TRUE(std::isinf(half_to_float(0x7C00)));
    EXPECT_TRUE(std::isnan(half_to_float(0x7E00)));
}

TEST(Hdr, ScrgbPixelsAreSrgbEncodedAndClampedToSdr) {
    const std::uint16_t white[4] = {kHalfOne, kHalfOne, kHalfOne, kHalfOne};
    EXPECT_EQ(scrgb_to_rgb10a2(white), 0xFFFFFFFFU);
    const std::uint16_t bright[4] = {kHalfTwo, 0, kHalfMinusOne, kHalfOne};
    EXPECT_EQ(scrgb_to_rgb10a2(bright), 1023U | (3U << 30)) << "above white clips, below 0 is 0";
    const std::uint16_t grey[4] = {kHalfHalf, kHalfHalf, kHalfHalf, 0};
    // sRGB(0.5) = 0.7354 -> 752 of 1023.
    EXPECT_EQ(scrgb_to_rgb10a2(grey), 752U | (752U << 10) | (752U << 20));
}

TEST(Hdr, ConvertFp16RectTouchesOnlyTheRect) {
    constexpr std::uint32_t w = 4, h = 3;
    std::vector<std::uint16_t> src(std::size_t{w} * h * 4, kHalfOne);
    std::vector<std::uint32_t> dst(std::size_t{w} * h, 0x12345678U);
    convert_fp16_rect({reinterpret_cast<const std::byte*>(src.data()), w, h, w * 8, 8},
                      {reinterpret_cast<std::byte*>(dst.data()), w, h, w * 4, 4},
                      Rect{1, 1, 2, 5});  // clipped to the image
    for (std::uint32_t y = 0; y < h; ++y)
        for (std::uint32_t x = 0; x < w; ++x) {
            const bool inside = x >= 1 && x <= 2 && y >= 1;
            EXPECT_EQ(dst[y * w + x], inside ? 0xFFFFFFFFU : 0x12345678U) << x << "," << y;
        }
}

TEST(Hdr, SwizzleSwapsRedAndBlue) {
    const std::uint8_t rgba[4] = {0x11, 0x22, 0x33, 0x44};
    std::uint8_t out[4] = {};
    swizzle_rgba_rect({reinterpret_cast<const std::byte*>(rgba), 1, 1, 4, 4},
                      {reinterpret_cast<std::byte*>(out), 1, 1, 4, 4}, Rect{0, 0, 1, 1});
    EXPECT_EQ(out[0], 0x33);
    EXPECT_EQ(out[1], 0x22);
    EXPECT_EQ(out[2], 0x11);
    EXPECT_EQ(out[3], 0x44);
}
