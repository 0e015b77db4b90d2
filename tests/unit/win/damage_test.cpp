// Damage from DXGI dirty and move rectangles, and GDI's tile comparison.
#include <gtest/gtest.h>

#include <vector>

#include "capture/win/damage.hpp"

using namespace porthole::agent::win;
using porthole::protocol::Rect;

namespace {
DXGI_OUTDUPL_MOVE_RECT move(LONG sx, LONG sy, RECT dst) {
    DXGI_OUTDUPL_MOVE_RECT m{};
    m.SourcePoint = POINT{sx, sy};
    m.DestinationRect = dst;
    return m;
}
bool covers(const porthole::protocol::DamageList& d, const Rect& r) {
    for (const auto& c : d.rects())
        if (r.x >= c.x && r.y >= c.y && r.x + r.w <= c.x + c.w && r.y + r.h <= c.y + c.h)
            return true;
    return false;
}
}  // namespace

TEST(WinDamage, DirtyRectsBecomeDamage) {
    const std::vector<RECT> dirty{{10, 20, 30, 60}, {0, 0, 1, 1}};
    const auto d = damage_from_dxgi(dirty, {}, {1920, 1080}, Rotation::identity);
    ASSERT_EQ(d.size(), 2u);
    EXPECT_EQ(d.rects()[0], (Rect{10, 20, 20, 40}));
    EXPECT_EQ(d.rects()[1], (Rect{0, 0, 1, 1}));
}

TEST(WinDamage, AMoveDamagesItsDestinationNotItsSource) {
    // A window dragged 100 px right: the duplicated image already shows it there.
    const std::vector<DXGI_OUTDUPL_MOVE_RECT> moves{move(100, 100, RECT{200, 100, 500, 400})};
    const auto d = damage_from_dxgi({}, moves, {1920, 1080}, Rotation::identity);
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d.rects()[0], (Rect{200, 100, 300, 300}));
    EXPECT_FALSE(covers(d, Rect{100, 100, 50, 50}));
}

TEST(WinDamage, MovesAndDirtyRectsAreBothKept) {
    const std::vector<RECT> dirty{{100, 100, 200, 400}};  // the uncovered strip
    const std::vector<DXGI_OUTDUPL_MOVE_RECT> moves{move(100, 100, RECT{200, 100, 500, 400})};
    const auto d = damage_from_dxgi(dirty, moves, {1920, 1080}, Rotation::identity);
    EXPECT_TRUE(covers(d, Rect{100, 100, 100, 300}));
    EXPECT_TRUE(covers(d, Rect{200, 100, 300, 300}));
}

TEST(WinDamage, RectsAreClippedToTheDesktopAndBadOnesDropped) {
    const std::vector<RECT> dirty{{-10, -10, 10, 10},        // partly outside: clipped
                                  {1900, 1000, 2000, 1200},  // partly outside: clipped
                                  {3000, 0, 3100, 10},       // wholly outside: dropped
                                  {50, 50, 40, 60},          // inverted: dropped
                                  {5, 5, 5, 9}};             // empty: dropped
    const auto d = damage_from_dxgi(dirty, {}, {1920, 1080}, Rotation::identity);
    ASSERT_EQ(d.size(), 2u);
    EXPECT_EQ(d.rects()[0], (Rect{0, 0, 10, 10}));
    EXPECT_EQ(d.rects()[1], (Rect{1900, 1000, 20, 80}));
    for (const auto& r : d.rects())
        EXPECT_TRUE(r.inside(1920, 1080));
}

TEST(WinDamage, RotatedDisplayTurnsTheDamage) {
    // A 1920x1080 texture shown turned 90 degrees is a 1080x1920 desktop.
    const std::vector<RECT> dirty{{0, 0, 100, 50}};
    const auto d = damage_from_dxgi(dirty, {}, {1920, 1080}, Rotation::rotate90);
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d.rects()[0], (Rect{1030, 0, 50, 100}));
    EXPECT_TRUE(d.rects()[0].inside(1080, 1920));
}

TEST(WinDamage, MoreThanSixtyFourRectsStillCoverEverything) {
    std::vector<RECT> dirty;
    for (LONG i = 0; i < 100; ++i)
        dirty.push_back(RECT{i * 10, i * 5, i * 10 + 4, i * 5 + 3});
    const auto d = damage_from_dxgi(dirty, {}, {1920, 1080}, Rotation::identity);
    for (LONG i = 0; i < 100; ++i)
        EXPECT_TRUE(covers(
            d, Rect{static_cast<std::uint32_t>(i * 10), static_cast<std::uint32_t>(i * 5), 4, 3}));
}

TEST(WinDamage, UnchangedGdiFrameHasNoDamage) {
    std::vector<std::byte> a(100 * 4 * 70, std::byte{7});
    const auto b = a;
    const auto d = diff_tiles({a.data(), 100, 70, 400, 4}, {b.data(), 100, 70, 400, 4}, 32);
    EXPECT_TRUE(d.empty());
}

TEST(WinDamage, OneChangedPixelDamagesItsTileOnly) {
    std::vector<std::byte> a(100 * 4 * 70, std::byte{7});
    auto b = a;
    b[(std::size_t{40} * 100 + 70) * 4] = std::byte{8};  // pixel (70, 40)
    const auto d = diff_tiles({a.data(), 100, 70, 400, 4}, {b.data(), 100, 70, 400, 4}, 32);
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d.rects()[0], (Rect{64, 32, 32, 32}));
}

TEST(WinDamage, NeighbouringTilesMergeAndEdgeTilesAreTrimmed) {
    std::vector<std::byte> a(100 * 4 * 70, std::byte{7});
    auto b = a;
    b[(std::size_t{69} * 100 + 40) * 4 + 1] = std::byte{1};  // (40, 69): tile row 2
    b[(std::size_t{66} * 100 + 70) * 4 + 0] = std::byte{1};  // (70, 66): the tile between
    b[(std::size_t{69} * 100 + 99) * 4 + 2] = std::byte{1};  // (99, 69): last, partial tile
    const auto d = diff_tiles({a.data(), 100, 70, 400, 4}, {b.data(), 100, 70, 400, 4}, 32);
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d.rects()[0], (Rect{32, 64, 68, 6}));
}
