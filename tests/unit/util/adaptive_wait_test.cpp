#include "porthole/util/adaptive_wait.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <sys/prctl.h>
#endif

using porthole::AdaptiveWait;
using std::chrono::microseconds;

namespace {
AdaptiveWait::Config config(int spin, int min_sleep, int max_sleep) {
    return {microseconds(spin), microseconds(min_sleep), microseconds(max_sleep)};
}
}  // namespace

TEST(AdaptiveWait, YieldsWithinTheSpinWindowAfterActivityThenSleeps) {
    AdaptiveWait w(config(100, 20, 200));
    const auto t0 = AdaptiveWait::Clock::now();
    w.activity(t0);
    EXPECT_TRUE(w.next(t0).yields());
    EXPECT_TRUE(w.next(t0 + microseconds(99)).yields());
    const auto s = w.next(t0 + microseconds(100));
    EXPECT_FALSE(s.yields()) << "the spin window is over";
    EXPECT_EQ(s.sleep, microseconds(20)) << "the first sleep is the shortest";
}

TEST(AdaptiveWait, BacksOffByDoublingUpToItsLongestSleep) {
    AdaptiveWait w(config(0, 20, 200));
    const auto t0 = AdaptiveWait::Clock::now();
    w.activity(t0);
    std::vector<long> sleeps;
    for (int i = 0; i < 7; ++i)
        sleeps.push_back(static_cast<long>(w.next(t0 + microseconds(i)).sleep.count()));
    EXPECT_EQ(sleeps, (std::vector<long>{20, 40, 80, 160, 200, 200, 200}));
}

TEST(AdaptiveWait, NeverSleepsLongerThanItsCapWhateverTheConfig) {
    for (const auto& c : {config(0, 20, 200), config(0, 500, 250), config(0, 0, 0),
                          config(50, 250, 250), AdaptiveWait::Config{}}) {
        AdaptiveWait w(c);
        const auto t0 = AdaptiveWait::Clock::now();
        w.activity(t0);
        for (int i = 0; i < 100; ++i) {
            const auto s = w.next(t0 + c.spin_for + microseconds(i));
            ASSERT_FALSE(s.yields()) << "past the spin window it sleeps";
            EXPECT_LE(s.sleep, std::max(c.max_sleep, microseconds(1)));
            EXPECT_GE(s.sleep, microseconds(1)) << "a sleep is never a hidden busy loop";
        }
    }
}

TEST(AdaptiveWait, ActivityReturnsToSpinningAndRestartsTheBackoff) {
    AdaptiveWait w(config(100, 20, 200));
    auto t = AdaptiveWait::Clock::now();
    w.activity(t);
    for (int i = 0; i < 5; ++i)
        (void)w.next(t + microseconds(1000));  // backed off to 200 us
    t += microseconds(5000);
    w.activity(t);
    EXPECT_TRUE(w.next(t + microseconds(10)).yields());
    EXPECT_EQ(w.next(t + microseconds(150)).sleep, microseconds(20));
}

// Not a speed test: only that a thread waiting with idle() sees another
// thread's write at all (the deadline guards a hang).
TEST(AdaptiveWait, NoticesAWriteFromAnotherThread) {
    std::atomic<int> value{0};
    std::atomic<bool> seen{false};
    std::thread waiter([&] {
        AdaptiveWait w(config(50, 20, 200));
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (std::chrono::steady_clock::now() < deadline) {
            if (value.load() == 7) {
                seen = true;
                return;
            }
            w.idle();
        }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // past the spin window
    value = 7;
    waiter.join();
    EXPECT_TRUE(seen.load());
}

#if defined(__linux__)
TEST(AdaptiveWait, SetsTheSleepingThreadsTimerSlackWhenAsked) {
    unsigned long before = 0, after = 0, untouched = 0;
    std::thread([&] {
        before = static_cast<unsigned long>(prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0));
        AdaptiveWait::Config c = config(0, 5, 5);
        c.timer_slack = std::chrono::nanoseconds(2000);
        AdaptiveWait w(c);
        w.idle();
        after = static_cast<unsigned long>(prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0));
    }).join();
    std::thread([&] {
        AdaptiveWait w(config(0, 5, 5));  // no slack asked: the thread's own stays
        w.idle();
        untouched = static_cast<unsigned long>(prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0));
    }).join();
    EXPECT_NE(before, 2000U) << "the test needs a default slack other than 2 us";
    EXPECT_EQ(after, 2000U);
    EXPECT_EQ(untouched, before);
}
#endif

#if defined(__linux__)
#include <sys/eventfd.h>
#include <unistd.h>

#include "porthole/util/unique_fd.hpp"

TEST(AdaptiveWaitDoorbell, ARingEndsASleepAtOnceAndIsDrained) {
    porthole::UniqueFd bell(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    ASSERT_TRUE(bell.valid());
    AdaptiveWait w(config(0, 5'000'000, 5'000'000));  // 5 s sleeps
    w.set_doorbell(bell.get());
    std::thread ringer([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        const std::uint64_t one = 1;
        ASSERT_EQ(::write(bell.get(), &one, sizeof one), static_cast<ssize_t>(sizeof one));
    });
    const auto t0 = AdaptiveWait::Clock::now();
    w.idle();
    const auto waited = AdaptiveWait::Clock::now() - t0;
    ringer.join();
    // Without the doorbell this sleep lasts 5 s; the bound only tells the two apart.
    EXPECT_LT(waited, std::chrono::seconds(2));
    EXPECT_EQ(w.doorbell_rings(), 1U);
    std::uint64_t left = 0;
    EXPECT_EQ(::read(bell.get(), &left, sizeof left), -1) << "the ring's count was drained";
    EXPECT_EQ(errno, EAGAIN);
}

TEST(AdaptiveWaitDoorbell, SleepsGrowPastThePollingCapOnlyOnceTheDoorbellHasRung) {
    porthole::UniqueFd bell(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    ASSERT_TRUE(bell.valid());
    AdaptiveWait::Config c = config(0, 250, 250);
    c.doorbell_max_sleep = microseconds(2000);
    AdaptiveWait w(c);
    w.set_doorbell(bell.get());
    const auto longest = [&w] {
        microseconds m{0};
        const auto t = AdaptiveWait::Clock::now();
        for (int i = 0; i < 10; ++i)
            m = std::max(m, w.next(t).sleep);
        return m;
    };
    EXPECT_EQ(longest(), microseconds(250)) << "a doorbell that never rang may be dead";
    const std::uint64_t one = 1;
    ASSERT_EQ(::write(bell.get(), &one, sizeof one), static_cast<ssize_t>(sizeof one));
    w.idle();  // the ring ends this sleep
    EXPECT_EQ(w.doorbell_rings(), 1U);
    EXPECT_EQ(longest(), microseconds(2000));
    w.doorbell_session();  // a new agent: it must ring before sleeps grow again
    w.activity();
    EXPECT_EQ(longest(), microseconds(250));
}

TEST(AdaptiveWaitDoorbell, WithoutARingASleepLastsItsTimeAsBefore) {
    porthole::UniqueFd bell(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    ASSERT_TRUE(bell.valid());
    AdaptiveWait w(config(0, 30'000, 30'000));
    w.set_doorbell(bell.get());
    const auto t0 = AdaptiveWait::Clock::now();
    w.idle();
    EXPECT_GE(AdaptiveWait::Clock::now() - t0, std::chrono::milliseconds(29));
    EXPECT_EQ(w.doorbell_rings(), 0U);
}
#endif

#if defined(__linux__)
TEST(AdaptiveWaitDoorbell, ARingThatBroughtNothingIsAnsweredByOnePlainSleep) {
    porthole::UniqueFd bell(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    ASSERT_TRUE(bell.valid());
    AdaptiveWait w(config(0, 1000, 1000));
    w.set_doorbell(bell.get());
    const std::uint64_t one = 1;
    const auto ring = [&] {
        ASSERT_EQ(::write(bell.get(), &one, sizeof one), static_cast<ssize_t>(sizeof one));
    };
    ring();
    w.idle();
    EXPECT_EQ(w.doorbell_rings(), 1U);
    // A guest ringing in a loop: the round after a ring that found nothing
    // sleeps without hearing the doorbell (the ring stays pending)...
    ring();
    w.idle();
    EXPECT_EQ(w.doorbell_rings(), 1U) << "a ringing storm must not make the loop spin";
    // ...and the next one hears it again.
    w.idle();
    EXPECT_EQ(w.doorbell_rings(), 2U);
    // A ring that brought something (activity) keeps the doorbell heard at once.
    w.activity();
    ring();
    w.idle();
    EXPECT_EQ(w.doorbell_rings(), 3U);
}
#endif
