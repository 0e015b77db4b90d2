// The session loop's observers (app/session_observer.hpp): the pattern
// check behind --verify-pattern on images read back as the loop hands them
// over, and the run limits behind --exit-after-frames and --timeout.
#include <gtest/gtest.h>

#include "app/session_observer.hpp"
#include "porthole/protocol/test_pattern.hpp"

namespace {

using porthole::client::PatternVerifier;
using porthole::client::ReadbackImage;
using porthole::client::RunLimits;
using porthole::client::ShownFrame;
using porthole::client::StatsTotals;
namespace pattern = porthole::protocol::pattern;

constexpr std::uint64_t kSecond = 1'000'000'000;

// Pattern n drawn whole at 1:1 in a target of its own size.
ReadbackImage pattern_image(std::uint64_t n, std::uint32_t w = 160, std::uint32_t h = 120) {
    ReadbackImage img;
    img.width = w;
    img.height = h;
    img.stride = w * 4;
    img.bgra.resize(std::size_t{img.stride} * h);
    pattern::render_full(n, w, h, porthole::protocol::PixelFormat::bgra8, img.bgra, img.stride);
    for (std::size_t i = 3; i < img.bgra.size(); i += 4)
        img.bgra[i] = std::byte{0xFF};  // the target writes frames opaque
    img.frame_rect = {0, 0, w, h};
    img.frame_width = w;
    img.frame_height = h;
    img.frame_serial = n;
    return img;
}

void show(PatternVerifier& v, const ReadbackImage& img, StatsTotals& t) {
    v.on_frame_shown(ShownFrame{img.frame_serial, 1, &img}, t);
}

TEST(PatternVerifier, CountsVerifiedFramesGapsAndRepeats) {
    PatternVerifier v;
    EXPECT_TRUE(v.wants_readback());
    EXPECT_TRUE(v.verifies());
    StatsTotals t;
    show(v, pattern_image(5), t);
    show(v, pattern_image(8), t);  // 6 and 7 never shown
    show(v, pattern_image(8), t);  // shown twice
    EXPECT_EQ(t.verified, 3U);
    EXPECT_EQ(t.gaps, 2U);
    EXPECT_EQ(t.repeats, 1U);
    EXPECT_EQ(t.mismatched, 0U);
    EXPECT_EQ(v.on_exit(0, t), 0);
    // A new agent session starts counting again: its first frame is no gap.
    v.on_new_session();
    show(v, pattern_image(1), t);
    EXPECT_EQ(t.gaps, 2U);
    EXPECT_EQ(t.repeats, 1U);
}

TEST(PatternVerifier, AChangedPixelOrAFrameNotAt1To1IsAMismatchAndExitCode4) {
    PatternVerifier v;
    StatsTotals t;
    auto img = pattern_image(9);
    img.bgra[std::size_t{60} * img.stride + 80 * 4] ^= std::byte{0x40};
    show(v, img, t);
    EXPECT_EQ(t.mismatched, 1U);
    auto scaled = pattern_image(10);
    scaled.frame_rect = {0, 0, 80, 60};  // drawn at half size
    show(v, scaled, t);
    EXPECT_EQ(t.mismatched, 2U);
    EXPECT_EQ(t.verified, 0U);
    EXPECT_EQ(v.on_exit(0, t), 4);
    EXPECT_EQ(v.on_exit(3, t), 3);  // a timeout stays a timeout
    // No image (nothing read back) and no frame drawn: nothing to count.
    v.on_frame_shown(ShownFrame{11, 1, nullptr}, t);
    auto message_only = pattern_image(12);
    message_only.frame_rect = {};
    show(v, message_only, t);
    EXPECT_EQ(t.mismatched + t.verified, 2U);
}

TEST(RunLimits, EndsWithZeroOnceTheFramesWereShown) {
    RunLimits l(40, 0, 100 * kSecond);
    StatsTotals t;
    t.frames = 39;
    EXPECT_FALSE(l.on_tick(500 * kSecond, t).has_value());
    t.frames = 40;
    EXPECT_EQ(l.on_tick(500 * kSecond, t), 0);
}

TEST(RunLimits, EndsWithThreeOnceTheTimeoutPassedSinceTheStart) {
    RunLimits l(0, 2.5, 100 * kSecond);
    StatsTotals t;
    EXPECT_FALSE(l.on_tick(102 * kSecond, t).has_value());
    EXPECT_EQ(l.on_tick(103 * kSecond, t), 3);
    EXPECT_EQ(l.on_exit(3, t), 3);
}

TEST(RunLimits, WithoutLimitsTheRunNeverEnds) {
    RunLimits l(0, 0, 1);
    StatsTotals t;
    t.frames = 1'000'000;
    EXPECT_FALSE(l.on_tick(1'000'000 * kSecond, t).has_value());
}

}  // namespace
