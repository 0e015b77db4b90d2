#include "porthole/util/log_limiter.hpp"

#include <gtest/gtest.h>

#include <cstdint>

using porthole::LogLimiter;

namespace {
constexpr std::uint64_t kSecond = 1'000'000'000;
}

TEST(LogLimiter, AllowsABurstPerKeyThenCountsWhatItSuppresses) {
    LogLimiter l({3, 60 * kSecond});
    int emitted = 0;
    for (int i = 0; i < 1000; ++i)
        emitted += l.check("session", kSecond + static_cast<std::uint64_t>(i) * 1000).emit ? 1 : 0;
    EXPECT_EQ(emitted, 3);
    EXPECT_EQ(l.suppressed("session"), 997U);
    EXPECT_TRUE(l.check("frame", 2 * kSecond).emit) << "keys are limited separately";
}

TEST(LogLimiter, TheFirstLineOfTheNextWindowCarriesTheSuppressedCount) {
    LogLimiter l({2, 60 * kSecond});
    for (int i = 0; i < 10; ++i)
        l.check("k", kSecond + static_cast<std::uint64_t>(i));
    const auto still = l.check("k", 60 * kSecond);
    EXPECT_FALSE(still.emit) << "within the minute";
    const auto next = l.check("k", 61 * kSecond);
    EXPECT_TRUE(next.emit);
    EXPECT_EQ(next.suppressed_before, 9U);
    EXPECT_EQ(l.check("k", 62 * kSecond).suppressed_before, 0U) << "said once";
    EXPECT_EQ(l.suppressed("k"), 0U);
}

TEST(LogLimiter, ExpiredReportsQuietKeysOnce) {
    LogLimiter l({1, 10 * kSecond});
    for (int i = 0; i < 5; ++i)
        l.check("cursor", kSecond);
    l.check("frame", kSecond);  // nothing suppressed: nothing to report
    EXPECT_TRUE(l.expired(5 * kSecond).empty()) << "window not over yet";
    const auto e = l.expired(11 * kSecond);
    ASSERT_EQ(e.size(), 1U);
    EXPECT_EQ(e[0].key, "cursor");
    EXPECT_EQ(e[0].suppressed, 4U);
    EXPECT_TRUE(l.expired(30 * kSecond).empty());
}

TEST(LogLimiter, AFloodStaysWithinTheBurstPerWindow) {
    LogLimiter l({5, 60 * kSecond});
    std::uint64_t emitted = 0, reported = 0;
    // 1,000 lines a second for ten minutes (a session-flapping guest caused 3,300).
    for (std::uint64_t t = 0; t < 600 * kSecond; t += kSecond / 1000) {
        const auto d = l.check("link", t);
        emitted += d.emit ? 1 : 0;
        reported += d.suppressed_before;
    }
    EXPECT_LE(emitted, 5U * 11);
    EXPECT_EQ(emitted + reported + l.suppressed("link"), 600'000U)
        << "every line is emitted, reported in a summary or still counted";
}
