#include <gtest/gtest.h>

#include <vector>

#include "porthole/protocol/test_pattern.hpp"

using namespace porthole::protocol;

TEST(TestPattern, EveryFormatEncodesAndDecodesExactly) {
    for (auto fmt : {PixelFormat::bgra8, PixelFormat::rgb10a2, PixelFormat::rgba16f}) {
        for (int v = 0; v < 256; ++v) {
            const auto u = static_cast<std::uint8_t>(v);
            const pattern::Rgba8 c{u, static_cast<std::uint8_t>(255 - u),
                                   static_cast<std::uint8_t>(u / 2), 255};
            std::byte buf[8];
            pattern::encode(c, fmt, buf);
            EXPECT_EQ(pattern::decode(fmt, buf), c) << to_string(fmt) << " " << v;
        }
    }
}

TEST(TestPattern, DamageCoversEverythingThatChanged) {
    const std::uint32_t w = 300, h = 80;
    for (std::uint64_t n = 1; n < 60; ++n) {
        const auto d = pattern::damage(n, w, h);
        for (std::uint32_t y = 0; y < h; ++y) {
            for (std::uint32_t x = 0; x < w; ++x) {
                if (pattern::pixel(n, x, y, w, h) == pattern::pixel(n - 1, x, y, w, h)) continue;
                bool covered = false;
                for (const auto& r : d.rects()) {
                    covered |= x >= r.x && x < r.x + r.w && y >= r.y && y < r.y + r.h;
                }
                ASSERT_TRUE(covered) << "frame " << n << " pixel " << x << "," << y;
            }
        }
        EXPECT_LT(d.area(), std::uint64_t{w} * h / 2) << "damage stays small";
    }
}

TEST(TestPattern, CounterReadsBackAndVerifyFindsDifferences) {
    const std::uint32_t w = 256, h = 64;
    std::vector<std::byte> img(w * h * 4);
    pattern::render_full(0x1234567, w, h, PixelFormat::bgra8, img, w * 4);
    EXPECT_EQ(pattern::read_counter(PixelFormat::bgra8, img, w * 4, w, h), 0x1234567U);
    EXPECT_EQ(pattern::verify(0x1234567, w, h, PixelFormat::bgra8, img, w * 4).count, 0U);
    img[(10 * w + 200) * 4] ^= std::byte{1};
    const auto m = pattern::verify(0x1234567, w, h, PixelFormat::bgra8, img, w * 4);
    EXPECT_EQ(m.count, 1U);
    EXPECT_EQ(m.first_x, 200U);
    EXPECT_EQ(m.first_y, 10U);
}
