#include <gtest/gtest.h>

#include <bit>
#include <limits>

#include "porthole/protocol/layout.hpp"

using namespace porthole::protocol;

namespace {

constexpr std::uint64_t kMiB = 1024 * 1024;

RegionHeader valid_header(std::uint64_t size = 32 * kMiB) {
    auto l = plan_layout(size);
    EXPECT_TRUE(l);
    return make_header(*l);
}

int code_of(const porthole::Result<RegionLayout>& r) {
    return r ? 0 : r.error().code;
}

}  // namespace

TEST(Layout, PlannedLayoutValidatesAndRoundTrips) {
    const std::uint64_t size = 32 * kMiB;
    auto l = plan_layout(size);
    ASSERT_TRUE(l) << l.error().message;
    auto v = validate_region(make_header(*l), size);
    ASSERT_TRUE(v) << v.error().message;
    EXPECT_EQ(v->frames.offset, l->frames.offset);
    EXPECT_EQ(v->frames.size, l->frames.size);
    EXPECT_EQ(v->input.offset, l->input.offset);
    EXPECT_EQ(v->audio_out.size, l->audio_out.size);
    EXPECT_LE(l->frames.offset + l->frames.size, size);
}

TEST(Layout, EveryChannelIsPageAlignedAndDisjoint) {
    auto l = plan_layout(64 * kMiB);
    ASSERT_TRUE(l);
    const ChannelSpan all[] = {
        l->frames, l->cursor, l->input, l->audio_out, l->clipboard_to_host, l->clipboard_to_guest};
    for (const auto& a : all) {
        EXPECT_EQ(a.offset % kPageSize, 0U);
        EXPECT_GE(a.offset, kChannelsOffset);
        for (const auto& b : all) {
            if (&a == &b) continue;
            EXPECT_TRUE(a.offset + a.size <= b.offset || b.offset + b.size <= a.offset);
        }
    }
}

TEST(Layout, RecommendedSizesAreThePowersOfTwoThatFit) {
    // The README's table: 3 slots of BGRA8.
    EXPECT_EQ(recommended_region_size(1920, 1080, PixelFormat::bgra8), 32 * kMiB);
    EXPECT_EQ(recommended_region_size(2560, 1440, PixelFormat::bgra8), 64 * kMiB);
    EXPECT_EQ(recommended_region_size(3840, 2160, PixelFormat::bgra8), 128 * kMiB);
    EXPECT_EQ(recommended_region_size(3840, 2160, PixelFormat::rgba16f), 256 * kMiB);
    for (auto [w, h] : {std::pair{1920U, 1080U}, {2560U, 1440U}, {3840U, 2160U}}) {
        const auto size = recommended_region_size(w, h, PixelFormat::bgra8);
        EXPECT_TRUE(std::has_single_bit(size));
        EXPECT_GE(size, required_region_size(w, h, PixelFormat::bgra8));
        auto l = plan_layout(size);
        ASSERT_TRUE(l);
        EXPECT_GE(l->max_frame_bytes(), std::uint64_t{w} * h * 4) << w << "x" << h;
    }
}

TEST(Layout, RequiredSizeIsEnoughForTheFrame) {
    const auto need = required_region_size(1920, 1080, PixelFormat::bgra8, 4);
    LayoutParams p;
    p.frame_slots = 4;
    auto l = plan_layout(need, p);
    ASSERT_TRUE(l) << l.error().message;
    EXPECT_GE(l->max_frame_bytes(), 1920ULL * 1080 * 4);
}

TEST(Layout, TooSmallRegionIsAClearError) {
    auto l = plan_layout(64 * 1024);
    ASSERT_FALSE(l);
    EXPECT_NE(l.error().message.find("too small"), std::string::npos);
}

TEST(Layout, SlotCountOutOfRangeIsRejected) {
    LayoutParams p;
    p.frame_slots = 2;
    EXPECT_FALSE(plan_layout(32 * kMiB, p));
    p.frame_slots = kMaxFrameSlots + 1;
    EXPECT_FALSE(plan_layout(32 * kMiB, p));
}

TEST(RegionValidation, RejectsBadMagic) {
    auto h = valid_header();
    h.magic ^= 1;
    EXPECT_EQ(code_of(validate_region(h, 32 * kMiB)), static_cast<int>(RegionError::bad_magic));
}

TEST(RegionValidation, FutureVersionIsUnsupportedWithItsNumber) {
    auto h = valid_header();
    h.version = kVersion + 1;
    auto r = validate_region(h, 32 * kMiB);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, static_cast<int>(RegionError::unsupported_version));
    EXPECT_NE(r.error().message.find("version " + std::to_string(kVersion + 1)), std::string::npos);
}

TEST(RegionValidation, RejectsHeaderSizeMismatch) {
    auto h = valid_header();
    h.header_size += 8;
    EXPECT_EQ(code_of(validate_region(h, 32 * kMiB)), static_cast<int>(RegionError::bad_size));
}

TEST(RegionValidation, RejectsRegionLargerThanTheMapping) {
    auto h = valid_header(64 * kMiB);
    EXPECT_EQ(code_of(validate_region(h, 32 * kMiB)), static_cast<int>(RegionError::bad_size));
}

TEST(RegionValidation, RejectsTooManyChannels) {
    auto h = valid_header();
    h.channel_count = kMaxChannels + 1;
    EXPECT_EQ(code_of(validate_region(h, 32 * kMiB)),
              static_cast<int>(RegionError::bad_channel_table));
}

TEST(RegionValidation, RejectsChannelPastTheEnd) {
    auto h = valid_header();
    h.channels[0].size = 32 * kMiB;
    EXPECT_EQ(code_of(validate_region(h, 32 * kMiB)),
              static_cast<int>(RegionError::bad_channel_table));
}

TEST(RegionValidation, RejectsOffsetAndSizeThatOverflow) {
    auto h = valid_header();
    h.channels[1].offset = std::numeric_limits<std::uint64_t>::max() - kPageSize + 1;
    h.channels[1].size = 2 * kPageSize;
    EXPECT_EQ(code_of(validate_region(h, 32 * kMiB)),
              static_cast<int>(RegionError::bad_channel_table));
}

TEST(RegionValidation, RejectsUnalignedChannel) {
    auto h = valid_header();
    h.channels[2].offset += 8;
    EXPECT_EQ(code_of(validate_region(h, 32 * kMiB)),
              static_cast<int>(RegionError::bad_channel_table));
}

TEST(RegionValidation, RejectsChannelInsideTheHeaderPage) {
    auto h = valid_header();
    h.channels[2].offset = 0;
    EXPECT_FALSE(validate_region(h, 32 * kMiB));
}

TEST(RegionValidation, RejectsOverlappingChannels) {
    auto h = valid_header();
    h.channels[2].offset = h.channels[1].offset;
    EXPECT_EQ(code_of(validate_region(h, 32 * kMiB)),
              static_cast<int>(RegionError::bad_channel_table));
}

TEST(RegionValidation, RejectsDuplicateChannelKind) {
    auto h = valid_header();
    h.channels[2].kind = h.channels[1].kind;
    EXPECT_EQ(code_of(validate_region(h, 32 * kMiB)),
              static_cast<int>(RegionError::bad_channel_table));
}

TEST(RegionValidation, RequiresAFramesChannel) {
    auto h = valid_header();
    for (std::uint32_t i = 0; i < h.channel_count; ++i) {
        if (h.channels[i].kind == static_cast<std::uint32_t>(ChannelKind::frames))
            h.channels[i].kind = 99;
    }
    EXPECT_EQ(code_of(validate_region(h, 32 * kMiB)),
              static_cast<int>(RegionError::missing_channel));
}

TEST(RegionValidation, IgnoresUnknownChannelKindsFromNewerAgents) {
    auto h = valid_header();
    for (std::uint32_t i = 0; i < h.channel_count; ++i) {
        if (h.channels[i].kind == static_cast<std::uint32_t>(ChannelKind::clipboard_to_guest)) {
            h.channels[i].kind = 1000;
        }
    }
    auto r = validate_region(h, 32 * kMiB);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->clipboard_to_guest.size, 0U);
}

TEST(RegionValidation, RejectsUndersizedCursorChannel) {
    auto h = valid_header();
    for (std::uint32_t i = 0; i < h.channel_count; ++i) {
        if (h.channels[i].kind == static_cast<std::uint32_t>(ChannelKind::cursor))
            h.channels[i].size = kPageSize;
    }
    EXPECT_FALSE(validate_region(h, 32 * kMiB));
}

TEST(DamageList, CollapsesTheSixtyFifthRectToABoundingBox) {
    DamageList d;
    for (std::uint32_t i = 0; i < kMaxDamageRects; ++i)
        d.add(Rect{i * 10, i, 5, 5});
    EXPECT_EQ(d.size(), kMaxDamageRects);
    d.add(Rect{1000, 500, 10, 10});
    ASSERT_EQ(d.size(), 1U);
    EXPECT_EQ(d.rects()[0], (Rect{0, 0, 1010, 510}));
}

TEST(DamageList, IgnoresEmptyRects) {
    DamageList d;
    d.add(Rect{5, 5, 0, 10});
    d.add(Rect{5, 5, 10, 0});
    EXPECT_TRUE(d.empty());
}

TEST(Rect, InsideIsOverflowSafe) {
    EXPECT_TRUE((Rect{0, 0, 10, 10}.inside(10, 10)));
    EXPECT_FALSE((Rect{1, 0, 10, 10}.inside(10, 10)));
    EXPECT_FALSE((Rect{0xFFFFFFF0U, 0, 0x20, 1}.inside(100, 100)));
    EXPECT_FALSE((Rect{5, 0xFFFFFFFFU, 1, 2}.inside(100, 100)));
}

TEST(DamageList, MergesStripsThatTouchAndDropsContainedRects) {
    DamageList d;
    d.add(Rect{0, 0, 32, 100});
    d.add(Rect{8, 0, 32, 100});   // overlapping columns, same rows
    d.add(Rect{40, 0, 10, 100});  // touching
    d.add(Rect{10, 10, 5, 5});    // contained
    ASSERT_EQ(d.size(), 1U);
    EXPECT_EQ(d.rects()[0], (Rect{0, 0, 50, 100}));
    d.add(Rect{100, 100, 10, 10});  // disjoint: kept apart
    EXPECT_EQ(d.size(), 2U);
}
