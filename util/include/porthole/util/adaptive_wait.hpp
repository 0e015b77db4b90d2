#pragma once
// Waiting for the other side of the region without a doorbell (ivshmem-plain
// has no interrupt): spin briefly after activity (lowest latency while things
// move), then sleep with a growing interval up to a cap (low CPU when idle).

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <thread>

#if defined(__linux__)
#include <sys/prctl.h>
#endif

namespace porthole {

class AdaptiveWait {
  public:
    using Clock = std::chrono::steady_clock;
    // Chosen with porthole-bench-transport --notice (64x64 updates every 2-10
    // ms; 15 alternating rounds, 1,200 samples per wait, load average 5.8-6.7
    // on 2 cores): the old 200/50/250 us gave a median of 171 us at 8.1% of a
    // core, 50/250/250 158 us at 5.4%, 0/250/250 152 us at 4.8%, 50/200/200
    // with 1 us slack 95 us at 6.5%. A sleep costs 15-25 us of CPU here, so
    // the CPU bounds the sleep; p99 was 3-4 ms for every wait (spin: 12 ms),
    // set by the load, not by the wait.
    struct Config {
        // Busy-poll this long after activity: covers the gap between a
        // progressive frame's chunks (tens of us); 200 us cost 2.5% of a core
        // at 170 messages a second and shortened no notice.
        std::chrono::microseconds spin_for{50};
        // No ramp from a shorter first sleep: it cost 0.5% of a core and
        // noticed nothing sooner (50/50/250: 174 us at 5.9%).
        std::chrono::microseconds min_sleep{250};
        // Bounds the idle notice latency and sets the idle CPU: 250 us gave
        // 4.9% of a core idle (200 us with 1 us slack: 6.1%). Input p99 stays
        // under the 1 ms target with it (bench/input).
        std::chrono::microseconds max_sleep{250};
        // Linux lets a sleep end up to the thread's timer slack late (50 us
        // by default); nonzero sets the waiting thread's slack to this.
        std::chrono::nanoseconds timer_slack{0};
    };
    // One round of waiting: yield (sleep == 0) or sleep this long.
    struct Step {
        std::chrono::microseconds sleep{0};
        [[nodiscard]] bool yields() const { return sleep.count() == 0; }
    };

    AdaptiveWait() = default;
    explicit AdaptiveWait(Config c) : config_(c) {}

    // Something happened: go back to spinning.
    void activity() { activity(Clock::now()); }
    void activity(Clock::time_point now) {
        idle_since_ = now;
        sleep_ = config_.min_sleep;
    }
    // Nothing happened this round: wait a little before polling again.
    void idle() {
        const Step s = next(Clock::now());
        if (s.yields()) {
            std::this_thread::yield();
            return;
        }
        apply_timer_slack();
        std::this_thread::sleep_for(s.sleep);
    }
    // What idle() does at `now`, advancing the backoff as it does: yield
    // within spin_for of the last activity, then sleeps from min_sleep,
    // doubling, never longer than max_sleep.
    Step next(Clock::time_point now) {
        if (now - idle_since_ < config_.spin_for) return Step{};
        const Step s{std::clamp(sleep_, std::chrono::microseconds(1),
                                std::max(config_.max_sleep, std::chrono::microseconds(1)))};
        sleep_ = std::min(std::max(sleep_ * 2, std::chrono::microseconds(1)), config_.max_sleep);
        return s;
    }
    [[nodiscard]] const Config& config() const { return config_; }

  private:
    // Once, on the thread that sleeps (the object may be built elsewhere).
    void apply_timer_slack() {
#if defined(__linux__)
        if (slack_applied_ || config_.timer_slack.count() <= 0) return;
        slack_applied_ = true;
        (void)prctl(PR_SET_TIMERSLACK, static_cast<unsigned long>(config_.timer_slack.count()), 0,
                    0, 0);
#endif
    }

    Config config_{};
    Clock::time_point idle_since_ = Clock::now();
    std::chrono::microseconds sleep_{config_.min_sleep};
    bool slack_applied_ = false;
};

inline std::uint64_t monotonic_ns() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::steady_clock::now().time_since_epoch())
                                          .count());
}

}  // namespace porthole
