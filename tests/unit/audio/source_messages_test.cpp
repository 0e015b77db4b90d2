// A bad guest can repeat a Scream event every audio period: the log says it
// once, then counts it at most every interval (RepeatLimiter, SourceMessages),
// and the Scream source does not rebuild its error every period.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "audio/playout.hpp"
#include "audio/repeat_limiter.hpp"
#include "audio/scream_ring.hpp"
#include "audio/source_messages.hpp"
#include "scream_test_writer.hpp"

namespace porthole::client::audio {
namespace {

constexpr std::uint64_t kSecond = 1'000'000'000ULL;

TEST(RepeatLimiter, SaysOnceThenACountEveryInterval) {
    RepeatLimiter lim(10 * kSecond);
    EXPECT_TRUE(lim.note(0));
    std::uint64_t said = 0, counted = 0;
    // Every 10 ms for 35 s: the first line, then a count at 10, 20 and 30 s.
    for (std::uint64_t t = 10'000'000; t < 35 * kSecond; t += 10'000'000) {
        said += lim.note(t) ? 1U : 0U;
        if (const auto n = lim.due(t); n > 0) {
            ++counted;
            EXPECT_NEAR(static_cast<double>(n), 1000.0, 1.0);
        }
    }
    EXPECT_EQ(said, 0U);
    EXPECT_EQ(counted, 3U);
    // The repeats since the count at 30 s wait for the next interval.
    EXPECT_EQ(lim.due(36 * kSecond), 0U);
    EXPECT_FALSE(lim.note(37 * kSecond));
    EXPECT_EQ(lim.due(40 * kSecond), 500U);  // 30..35 s and the one at 37 s
    // Quiet for a whole interval after the last count: said again.
    EXPECT_EQ(lim.due(55 * kSecond), 0U);
    EXPECT_TRUE(lim.note(55 * kSecond));
}

// The same bad header every period: one error from the source, not one per
// period (each would build the message in the real-time callback); a new bad
// header is reported again.
TEST(ScreamRing, RepeatedBadHeaderIsReportedOnce) {
    std::vector<std::byte> region(64 * 1024);
    test::ScreamTestWriter w(region, 1, 16, 2, 4);
    auto src = make_scream_source(region);
    const ScreamHeader ok = w.header();
    ScreamHeader h = ok;
    h.bits = 8;
    w.set_header(h);
    int errors = 0;
    for (int i = 0; i < 100; ++i) {
        auto f = src->format();
        if (!f) {
            ++errors;
        } else {
            EXPECT_FALSE(*f);  // no format to play meanwhile
        }
    }
    EXPECT_EQ(errors, 1);
    h.channels = 0;  // another fault
    w.set_header(h);
    EXPECT_FALSE(src->format());
    EXPECT_TRUE(src->format());
    w.set_header(ok);  // good again, then the same fault: said again
    auto good = src->format();
    ASSERT_TRUE(good && *good);
    w.set_header(h);
    EXPECT_FALSE(src->format());
}

PlaybackStats snapshot(std::uint64_t errors, std::uint64_t formats, bool playing) {
    PlaybackStats s;
    s.source_errors = errors;
    s.format_changes = formats;
    s.playing = playing;
    s.rate = 48000;
    s.channels = 2;
    s.error = "Scream ring: 8-bit samples";
    return s;
}

// A ring that goes bad, flaps its format and restarts its stream every
// period, polled once a second for a minute: each kind is said once, then a
// count every 10 s.
TEST(SourceMessages, RepeatingEventsAreSaidOnceThenCounted) {
    SourceMessages m(10 * kSecond);
    std::vector<std::string> all;
    for (std::uint64_t s = 1; s <= 60; ++s) {
        // 100 periods a second, each an error, a format change and a restart.
        const auto lines = m.update(snapshot(100 * s, 100 * s, s % 2 == 0), s * kSecond);
        all.insert(all.end(), lines.begin(), lines.end());
    }
    auto count = [&](const std::string& needle) {
        int n = 0;
        for (const auto& l : all)
            n += l.find(needle) != std::string::npos ? 1 : 0;
        return n;
    };
    EXPECT_EQ(count("8-bit samples"), 6) << "once, then a count at 11, 21 .. 51 s";
    EXPECT_EQ(count("more times in the last 10 s"), 15);  // 5 each
    EXPECT_EQ(count("format changed"), 6);
    EXPECT_EQ(count("stream st"), 6);
    EXPECT_LE(all.size(), 18U);  // against 18000 events
}

// The engine counts what the log reports: a rejected header once per fault,
// a format change per change; nothing when all is well.
TEST(SourceMessages, EngineCountsSourceErrorsAndFormatChanges) {
    std::vector<std::byte> region(1 << 20);
    test::ScreamTestWriter w(region, 1, 16, 2);
    PlayoutEngine engine(PlayoutConfig{});
    engine.set_source(make_scream_source(region));
    for (int i = 0; i < 10; ++i)
        (void)engine.poll_format();
    EXPECT_EQ(engine.counters().source_errors, 0U);
    EXPECT_EQ(engine.counters().format_changes, 0U);
    auto h = w.header();
    h.rate = 0x81;
    h.chunk_size = 44100 / 50 * 2 * 2;
    w.set_header(h);
    for (int i = 0; i < 10; ++i)
        (void)engine.poll_format();
    EXPECT_EQ(engine.counters().format_changes, 1U);
    h.bits = 8;
    w.set_header(h);
    for (int i = 0; i < 10; ++i)
        (void)engine.poll_format();
    EXPECT_EQ(engine.counters().source_errors, 1U);
    EXPECT_NE(engine.last_error().find("8-bit"), std::string::npos);
}

// A data thread without real-time priority is said once, with the reason
// AudioPlayback gives; one that has it, or before the first cycle, nothing.
TEST(SourceMessages, NoRealTimePriorityIsSaidOnceWithWhy) {
    SourceMessages m;
    PlaybackStats s;
    EXPECT_TRUE(m.update(s, 0).empty()) << "no cycle yet: nothing known";
    s.sched_policy = 0;  // SCHED_OTHER
    s.realtime_why = "RLIMIT_RTPRIO is 0 and no CAP_SYS_NICE";
    const auto lines = m.update(s, kSecond);
    ASSERT_EQ(lines.size(), 1U);
    EXPECT_NE(lines[0].find("no real-time priority"), std::string::npos) << lines[0];
    EXPECT_NE(lines[0].find(s.realtime_why), std::string::npos) << lines[0];
    for (std::uint64_t t = 2; t < 30; ++t)
        EXPECT_TRUE(m.update(s, t * kSecond).empty());
    SourceMessages rt;
    s.sched_policy = 1;  // SCHED_FIFO
    s.realtime_why.clear();
    EXPECT_TRUE(rt.update(s, kSecond).empty());
}

}  // namespace
}  // namespace porthole::client::audio
