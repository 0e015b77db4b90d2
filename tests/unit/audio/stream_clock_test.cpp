// The stream clock keeps the position moving when capture goes quiet.
#include <gtest/gtest.h>

#include "audio/stream_clock.hpp"

namespace porthole::agent::audio {
namespace {

constexpr std::uint64_t kMs = 1'000'000;

TEST(StreamClock, NoSilenceWhileDataFlows) {
    StreamClock clock(48000);
    for (std::uint64_t t = 0; t < 1000; t += 10) {
        clock.on_frames(480, t * kMs);
        EXPECT_EQ(clock.silence_due(t * kMs + 5 * kMs), 0U);
    }
}

TEST(StreamClock, SilenceKeepsTheStreamOnTimeAfterAGap) {
    StreamClock clock(48000);
    clock.on_frames(480, 0);  // 10 ms of data at t=0, then nothing
    std::uint64_t written = 480;
    for (std::uint64_t t = 5; t <= 1000; t += 5) {
        const std::uint64_t n = clock.silence_due(t * kMs);
        clock.on_silence(n);
        written += n;
    }
    // One second later the stream holds one second of frames (to a frame).
    EXPECT_NEAR(static_cast<double>(written), 48000.0, 1.0);
}

TEST(StreamClock, RealDataAfterSilenceReanchors) {
    StreamClock clock(48000);
    clock.on_frames(480, 0);
    const std::uint64_t n = clock.silence_due(100 * kMs);
    EXPECT_GT(n, 0U);
    clock.on_silence(n);
    clock.on_frames(480, 110 * kMs);  // capture resumes
    EXPECT_EQ(clock.silence_due(115 * kMs), 0U);
}

TEST(StreamClock, NothingBeforeTheFirstAnchor) {
    StreamClock clock(48000);
    EXPECT_EQ(clock.silence_due(5'000 * kMs), 0U);
}

}  // namespace
}  // namespace porthole::agent::audio
