#include "porthole/util/frame_cadence.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <random>

#include "porthole/util/adaptive_wait.hpp"

using porthole::AdaptiveWait;
using porthole::FrameCadence;
using porthole::WakeHint;
using std::chrono::microseconds;

namespace {
const FrameCadence::Clock::time_point t0{std::chrono::seconds(1000)};
constexpr microseconds kPeriod{16667};

// Seen at its stamp (the same clock, no delay).
void announce(FrameCadence& c, FrameCadence::Clock::time_point t) {
    c.announced(t, t.time_since_epoch());
}
// Announcements every period from t0, `n` of them; returns the last one's time.
FrameCadence::Clock::time_point steady(FrameCadence& c, int n, microseconds period = kPeriod) {
    auto t = t0;
    for (int i = 0; i < n; ++i) {
        t = t0 + period * i;
        announce(c, t);
    }
    return t;
}
}  // namespace

TEST(FrameCadence, LearnsASteadyPeriodAndSpinsOnlyAroundTheNextAnnouncement) {
    FrameCadence c;
    const auto last = steady(c, 8);
    ASSERT_TRUE(c.period());
    EXPECT_EQ(*c.period(), kPeriod);
    const auto lead = c.config().lead, after = c.config().after;
    const WakeHint between = c.hint(last + microseconds(5000));
    EXPECT_FALSE(between.spin);
    ASSERT_TRUE(between.wake_by);
    EXPECT_EQ(*between.wake_by, last + kPeriod - lead);
    EXPECT_FALSE(c.hint(last + kPeriod - lead - microseconds(1)).spin);
    EXPECT_TRUE(c.hint(last + kPeriod - lead).spin);
    EXPECT_TRUE(c.hint(last + kPeriod + after).spin);
    // The frame is late or skipped: the spin ends, the next one is expected a period on.
    const WakeHint late = c.hint(last + kPeriod + after + microseconds(1));
    EXPECT_FALSE(late.spin);
    ASSERT_TRUE(late.wake_by);
    EXPECT_EQ(*late.wake_by, last + kPeriod * 2 - lead);
}

TEST(FrameCadence, NeedsAFewIntervalsBeforePredicting) {
    FrameCadence c;
    const auto last = steady(c, 4);  // 3 intervals
    EXPECT_FALSE(c.period());
    EXPECT_FALSE(c.hint(last + kPeriod).spin);
    announce(c, last + kPeriod);
    EXPECT_TRUE(c.period());
}

TEST(FrameCadence, IrregularUpdatesGiveNoPredictionAndNoSpin) {
    FrameCadence c;
    std::mt19937 rng(3);
    auto t = t0;
    for (int i = 0; i < 40; ++i) {
        t += microseconds(2000 + static_cast<int>(rng() % 8000));  // bench/transport's notice case
        announce(c, t);
    }
    EXPECT_FALSE(c.period());
    for (int us = 0; us < 20000; us += 100) {
        const WakeHint h = c.hint(t + microseconds(us));
        EXPECT_FALSE(h.spin);
        EXPECT_FALSE(h.wake_by);
    }
}

// The writer's stamps are on its own clock and the host sees each one late
// by however long its wait slept: the period comes from the stamps, the phase
// from the least late sighting.
TEST(FrameCadence, TakesThePeriodFromTheStampsAndThePhaseFromTheLeastLateSighting) {
    FrameCadence c;
    const auto guest_clock = std::chrono::seconds(5);  // the guest's clock reads 5 s behind
    const int late_us[] = {240, 90, 180, 3, 250, 120, 60, 200};
    FrameCadence::Clock::time_point seen;
    for (int i = 0; i < 8; ++i) {
        const auto announced = t0 + kPeriod * i;
        seen = announced + microseconds(late_us[i]);
        c.announced(seen, announced.time_since_epoch() - guest_clock);
    }
    ASSERT_TRUE(c.period());
    EXPECT_EQ(*c.period(), kPeriod) << "the stamps' intervals, not the sightings'";
    const auto next = t0 + kPeriod * 8 + microseconds(3);  // the least late sighting's delay
    EXPECT_EQ(c.expected(seen + microseconds(1000)), next);
    EXPECT_FALSE(c.hint(next - c.config().lead - microseconds(1)).spin);
    EXPECT_TRUE(c.hint(next - c.config().lead).spin);
}

TEST(FrameCadence, AStampThatGoesBackStartsOver) {
    FrameCadence c;
    const auto last = steady(c, 8);
    ASSERT_TRUE(c.period());
    c.announced(last + kPeriod, std::chrono::seconds(1));  // the guest restarted
    EXPECT_FALSE(c.period());
    EXPECT_FALSE(c.hint(last + kPeriod * 2).spin);
}

TEST(FrameCadence, AFewSkippedFramesKeepThePeriod) {
    FrameCadence c;
    auto t = t0;
    announce(c, t);
    for (int i = 1; i <= 16; ++i) {
        t += (i % 6 == 0) ? kPeriod * 2 : kPeriod;  // 2 of 16 intervals span a skipped frame
        announce(c, t);
    }
    ASSERT_TRUE(c.period());
    EXPECT_EQ(*c.period(), kPeriod);
}

TEST(FrameCadence, StopsPredictingOnceTheStreamGoesQuiet) {
    FrameCadence c;
    const auto last = steady(c, 8);
    const auto quiet = kPeriod * c.config().missed_periods + c.config().after;
    EXPECT_TRUE(c.hint(last + quiet - kPeriod / 2).wake_by);
    const WakeHint h = c.hint(last + quiet + microseconds(1));
    EXPECT_FALSE(h.spin);
    EXPECT_FALSE(h.wake_by);
}

TEST(FrameCadence, PeriodsOutsideItsRangeAreNotPredicted) {
    FrameCadence fast, slow;
    steady(fast, 10, microseconds(500));
    steady(slow, 10, microseconds(250000));
    EXPECT_FALSE(fast.period());
    EXPECT_FALSE(slow.period());
}

TEST(AdaptiveWait, SpinsWithoutYieldingWhenTheHintSaysSomethingIsDue) {
    AdaptiveWait w(AdaptiveWait::Config{microseconds(30), microseconds(250), microseconds(250)});
    const auto t = AdaptiveWait::Clock::now();
    w.activity(t);
    const auto s = w.next(t + microseconds(5000), WakeHint{true, std::nullopt});
    EXPECT_TRUE(s.spin);
    EXPECT_FALSE(s.yields());
    EXPECT_EQ(s.sleep, microseconds(0));
}

TEST(AdaptiveWait, NeverSleepsPastTheHintsWakeTime) {
    AdaptiveWait w(AdaptiveWait::Config{microseconds(30), microseconds(250), microseconds(250)});
    const auto t = AdaptiveWait::Clock::now();
    w.activity(t);
    const auto now = t + microseconds(1000);
    EXPECT_EQ(w.next(now, WakeHint{false, now + microseconds(100)}).sleep, microseconds(100));
    EXPECT_EQ(w.next(now, WakeHint{false, now - microseconds(5)}).sleep, microseconds(1))
        << "a wake time already past is a short sleep, not a busy loop";
    EXPECT_EQ(w.next(now, WakeHint{false, now + microseconds(9000)}).sleep, microseconds(250))
        << "a far wake time leaves the usual sleep";
    EXPECT_EQ(w.next(now, WakeHint{}).sleep, microseconds(250));
    EXPECT_TRUE(w.next(t + microseconds(10), WakeHint{false, t + microseconds(5000)}).yields())
        << "within the spin window after activity it still yields";
}
