// Frame pacing (app/frame_pacer.hpp) and the latency p99 the overlay and
// --stats show (app/stats.hpp), on clocks the tests drive.
#include <gtest/gtest.h>

#include <vector>

#include "app/frame_pacer.hpp"
#include "app/stats.hpp"

namespace {

using porthole::client::FramePacer;
using porthole::client::FrameStats;
using porthole::client::LatencyWindow;

constexpr std::uint64_t kMs = 1'000'000;
constexpr std::uint64_t kPeriod = 16'666'667;  // 60 Hz

TEST(FramePacer, WithoutVsyncEveryFrameIsDueAsItArrives) {
    FramePacer p(false, kPeriod);
    const std::uint64_t t0 = 1'000 * kMs;
    p.frame_complete(t0);
    EXPECT_TRUE(p.due(t0));
    p.presented(t0 + 1 * kMs);
    p.frame_complete(t0 + 2 * kMs);
    EXPECT_TRUE(p.due(t0 + 2 * kMs));  // well inside the refresh: still drawn now
    p.presented(t0 + 60 * kMs);        // however late: no refresh to be late for
    EXPECT_EQ(p.late(), 0U);
    EXPECT_EQ(p.superseded(), 0U);
}

TEST(FramePacer, WithVsyncANewFrameWaitsUntilShortlyBeforeTheNextVblank) {
    FramePacer p(true, kPeriod);
    const std::uint64_t t0 = 1'000 * kMs;
    p.frame_complete(t0);
    EXPECT_TRUE(p.due(t0));  // nothing presented yet: nothing to pace against
    p.presented(t0);
    p.frame_complete(t0 + 2 * kMs);
    EXPECT_FALSE(p.due(t0 + 2 * kMs));
    const std::uint64_t lead = kPeriod / FramePacer::kLeadDivisor;
    EXPECT_FALSE(p.due(t0 + kPeriod - lead));
    EXPECT_TRUE(p.due(t0 + kPeriod - lead + 1));
    // Drawn then: the next is due a whole refresh later, not a refresh after that present.
    p.presented(t0 + kPeriod - lead + 1);
    p.frame_complete(t0 + kPeriod);
    EXPECT_FALSE(p.due(t0 + 2 * kPeriod - lead));
    EXPECT_TRUE(p.due(t0 + 2 * kPeriod - lead + 1));
}

TEST(FramePacer, WithVsyncAtMostOneFrameIsDrawnARefreshWhateverTheLoopDoes) {
    FramePacer p(true, kPeriod);
    const std::uint64_t t0 = 1'000 * kMs;
    // A loop polling every 100 us for a second, a new frame each poll, drawing whenever due.
    int draws = 0;
    for (std::uint64_t now = t0; now < t0 + 1'000 * kMs; now += 100'000) {
        p.frame_complete(now);
        if (p.due(now)) {
            p.presented(now + 50'000);
            ++draws;
        }
    }
    EXPECT_GE(draws, 59);
    EXPECT_LE(draws, 61);
    // Every frame not drawn was superseded, but the last (still waiting for its vblank).
    EXPECT_EQ(p.superseded() + static_cast<unsigned>(draws), 10'000U - 1U);
}

TEST(FramePacer, AFrameReplacedBeforeItWasDrawnIsSupersededNotQueued) {
    FramePacer p(true, kPeriod);
    const std::uint64_t t0 = 1'000 * kMs;
    p.frame_complete(t0);
    p.presented(t0 + 1 * kMs);
    // Three frames within one refresh (a 180 fps guest): the first two are replaced.
    p.frame_complete(t0 + 3 * kMs);
    p.frame_complete(t0 + 7 * kMs);
    p.frame_complete(t0 + 11 * kMs);
    EXPECT_EQ(p.superseded(), 2U);
    p.presented(t0 + 1 * kMs + kPeriod);
    EXPECT_EQ(p.superseded(), 2U);
    EXPECT_EQ(p.late(), 0U);
}

TEST(FramePacer, AFrameShownMoreThanARefreshAfterItWasCompleteIsLate) {
    FramePacer p(true, kPeriod);
    const std::uint64_t t0 = 1'000 * kMs;
    p.frame_complete(t0);
    p.presented(t0 + kPeriod);  // exactly one refresh: on time
    EXPECT_EQ(p.late(), 0U);
    p.frame_complete(t0 + 20 * kMs);
    p.presented(t0 + 20 * kMs + kPeriod + 1);
    EXPECT_EQ(p.late(), 1U);
    // A present with no new frame (a cursor move) is not a late frame.
    p.presented(t0 + 200 * kMs);
    EXPECT_EQ(p.late(), 1U);
}

TEST(FramePacer, AnUnknownRefreshRateIsTakenAs60Hz) {
    FramePacer p(true, 0);
    EXPECT_EQ(p.refresh_ns(), 1'000'000'000ULL / 60);
}

TEST(LatencyP99, NearestRankOfTheSamples) {
    std::vector<double> none;
    EXPECT_FALSE(porthole::client::percentile(none, 0.99).has_value());
    std::vector<double> one{7.0};
    EXPECT_EQ(porthole::client::percentile(one, 0.99), 7.0);
    std::vector<double> hundred;
    for (int i = 100; i >= 1; --i)
        hundred.push_back(i);  // 1..100 in reverse: the order does not matter
    EXPECT_EQ(porthole::client::percentile(hundred, 0.99), 99.0);
    std::vector<double> more;
    for (int i = 1; i <= 200; ++i)
        more.push_back(i);
    EXPECT_EQ(porthole::client::percentile(more, 0.99), 198.0);
    EXPECT_EQ(porthole::client::percentile(more, 0.5), 100.0);
}

TEST(LatencyP99, CoversOnlyTheLastSecond) {
    LatencyWindow w;
    const std::uint64_t t0 = 10'000 * kMs;
    EXPECT_FALSE(w.p99(t0).has_value());
    w.add(t0, 500.0);  // a spike, more than a second before the query below
    for (int i = 1; i <= 60; ++i)
        w.add(t0 + 500 * kMs + static_cast<std::uint64_t>(i) * 10 * kMs, 5.0 + i * 0.1);
    EXPECT_EQ(w.p99(t0 + 900 * kMs), 500.0);  // the spike is still inside the second
    const auto later = w.p99(t0 + 1'100 * kMs);
    ASSERT_TRUE(later.has_value());
    EXPECT_DOUBLE_EQ(*later, 5.0 + 60 * 0.1);  // 60 samples: the p99 is the largest
    EXPECT_FALSE(w.p99(t0 + 5'000 * kMs).has_value());
}

TEST(LatencyP99, TheRingKeepsTheNewestSamples) {
    LatencyWindow w;
    const std::uint64_t t0 = 10'000 * kMs;
    // More samples inside one second than the ring holds: the oldest go first.
    for (std::size_t i = 0; i < LatencyWindow::kCapacity + 100; ++i)
        w.add(t0 + i * 100'000, i < 100 ? 1000.0 : 1.0);
    EXPECT_EQ(w.p99(t0 + 200 * kMs), 1.0);
}

TEST(LatencyP99, TheStatsWindowCarriesItAndTheOverlayShowsIt) {
    FrameStats s;
    const std::uint64_t t0 = 10'000 * kMs;
    for (std::uint64_t i = 1; i <= 100; ++i)
        s.frame_shown(i, static_cast<double>(i), t0 + i * kMs);
    const auto w = s.roll(t0 + 200 * kMs);
    ASSERT_TRUE(w.latency_p99_ms.has_value());
    EXPECT_EQ(*w.latency_p99_ms, 99.0);
    porthole::client::StatsLine e;
    e.vsync = true;
    e.superseded = 3;
    e.late = 2;
    const auto lines = porthole::client::overlay_lines(w, s.totals(), e);
    EXPECT_EQ(lines[1], "Latency    50.5 ms, p99 99.0 ms");
    EXPECT_EQ(lines[3], "Dropped    0, 3 superseded, 2 late");
    const auto json = porthole::client::stats_json(w, s.totals(), e);
    EXPECT_NE(json.find("\"latency_p99_ms\":99.0"), std::string::npos) << json;
    EXPECT_NE(json.find("\"superseded\":3"), std::string::npos) << json;
    EXPECT_NE(json.find("\"late\":2"), std::string::npos) << json;
}

}  // namespace
