#pragma once
// Waiting for the other side of the region: spin briefly after activity
// (lowest latency while things move), then sleep with a growing interval up to
// a cap (low CPU when idle). ivshmem-plain has no interrupt, so the cap bounds
// the notice latency; with a doorbell (ivshmem-doorbell: an eventfd the guest
// rings), a sleep ends when it rings and may be longer.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <thread>

#include "porthole/util/frame_cadence.hpp"

#if defined(__linux__)
#include <poll.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace porthole {

class AdaptiveWait {
  public:
    using Clock = std::chrono::steady_clock;
    // Chosen with porthole-bench-transport --notice: 64x64 updates every
    // 2-10 ms, 15 rounds alternating the waits, 1,200-3,000 samples each,
    // load average 3.7-10.7 on 2 shared cores (4 other builds). Median / CPU
    // while updates arrive, % of a core, same runs:
    //   old 200/50/250 us     159-171 us at 6.4-8.1%
    //   50/250/250            158-169 us at 4.7-5.4%
    //   30/250/250 (these)    152-167 us at 4.2-4.8%
    //   50/280/280            175 us at 4.6%;  50/50/250: 174 us at 5.9%
    //   50/230/230, 1 us slack 138 us at 5.4%; 50/200/200, 1 us: 95 us at 6.5%
    //   spin (busy poll)      12-24 us at 41-62% (preempted by the load)
    // A sleep costs 15-25 us of CPU on this machine, so the CPU budget sets
    // the sleep: median x CPU stays near 0.75 ms x % along the curve. p99 was
    // 0.6-6.6 ms for every wait (spin: 3-12 ms): set by the load.
    // At load average ~1 a sleep costs more (old: 175-185 us at 9.6-9.8%;
    // these: 176-180 us at 6.8-7.0%; 30/300/300: 188 us at 6.0%; 30/350/350:
    // 231 us at 5.4%): 165 us within 5% of a core is not on this VM's curve.
    // Again at load average 3.3 (2026-12-07, same run): spin 20.1 us at 90%,
    // old 177.0 us at 8.8% (8.80x spin), these 182.8 us at 5.9% (9.08x).
    // Sporadic updates have no rhythm for idle(WakeHint) to predict
    // (FrameCadence gives no hint for them); a doorbell does (set_doorbell).
    // Frames at a steady rate do: see FrameCadence and FrameReader::wake_hint.
    struct Config {
        // Busy-poll this long after activity: covers the writing of a
        // progressive frame's next chunk (128 KiB: 16-21 us in
        // bench/transport); 200 us cost 2.5% of a core at 170 messages a
        // second and noticed nothing sooner.
        std::chrono::microseconds spin_for{30};
        // No ramp from a shorter first sleep: it cost 0.5% of a core and
        // noticed nothing sooner.
        std::chrono::microseconds min_sleep{250};
        // Bounds the idle notice latency and sets the idle CPU (3.7-4.9% of a
        // core idle at 250 us).
        std::chrono::microseconds max_sleep{250};
        // Linux lets a sleep end up to the thread's timer slack late (50 us
        // by default); nonzero sets the waiting thread's slack to this. Off:
        // a shorter slack moves along the same curve (above), no better.
        std::chrono::nanoseconds timer_slack{0};
        // With a doorbell that has rung in this session: the sleep's cap. A
        // ring ends a sleep at once, so this bounds only what the other side
        // does not ring for (Porthole's agent rings for frames and the
        // cursor) and the idle CPU (about 0.3% of a core at 2 ms here).
        std::chrono::microseconds doorbell_max_sleep{2000};
    };
    // One round of waiting: yield (sleep == 0), busy-poll (spin: something
    // is due, so the thread keeps its core) or sleep this long.
    struct Step {
        std::chrono::microseconds sleep{0};
        bool spin = false;
        [[nodiscard]] bool yields() const { return sleep.count() == 0 && !spin; }
    };

    AdaptiveWait() = default;
    explicit AdaptiveWait(Config c) : config_(c) {}

    // Something happened: go back to spinning.
    void activity() { activity(Clock::now()); }
    void activity(Clock::time_point now) {
        idle_since_ = now;
        sleep_ = config_.min_sleep;
#if defined(__linux__)
        ring_unanswered_ = false;
#endif
    }
    // Nothing happened this round: wait a little before polling again.
    void idle() {
        const Step s = next(Clock::now());
        if (s.yields()) {
            std::this_thread::yield();
            return;
        }
        sleep(s.sleep);
    }
    // Nothing happened, but the other side's rhythm (FrameCadence, a frame
    // streaming in) says when something is due: spin while it is, and never
    // sleep past the moment it will be.
    void idle(const WakeHint& hint) {
        const Step s = next(Clock::now(), hint);
        if (s.spin) {
            for (int i = 0; i < kPausesPerSpin; ++i)
                cpu_relax();
            return;
        }
        if (s.yields()) {
            std::this_thread::yield();
            return;
        }
        sleep(s.sleep);
    }
#if defined(__linux__)
    // Sleeps end when `fd` (an eventfd: the doorbell's interrupt) becomes
    // readable; its count is drained. Once it has rung, sleeps may last up to
    // doorbell_max_sleep. -1: no doorbell. The fd stays the caller's.
    void set_doorbell(int fd) {
        doorbell_fd_ = fd;
        doorbell_rang_ = false;
    }
    // A new session on the other side: it has to ring again before sleeps grow
    // (an agent that does not ring keeps the short cap).
    void doorbell_session() {
        doorbell_rang_ = false;
    }
    // Rings that ended or cut short a wait, since construction.
    [[nodiscard]] std::uint64_t doorbell_rings() const {
        return rings_;
    }
#endif
    // What idle(hint) does at `now`.
    Step next(Clock::time_point now, const WakeHint& hint) {
        if (hint.spin) return Step{std::chrono::microseconds(0), true};
        Step s = next(now);
        if (!s.yields() && hint.wake_by) {
            const auto until = std::chrono::duration_cast<std::chrono::microseconds>(
                std::max(*hint.wake_by - now, Clock::duration::zero()));
            s.sleep = std::clamp(until, std::chrono::microseconds(1), s.sleep);
        }
        return s;
    }
    // What idle() does at `now`, advancing the backoff as it does: yield
    // within spin_for of the last activity, then sleeps from min_sleep,
    // doubling, never longer than max_sleep.
    Step next(Clock::time_point now) {
        if (now - idle_since_ < config_.spin_for) return Step{};
        const auto cap = std::max(current_max_sleep(), std::chrono::microseconds(1));
        const Step s{std::clamp(sleep_, std::chrono::microseconds(1), cap)};
        sleep_ = std::min(std::max(sleep_ * 2, std::chrono::microseconds(1)), cap);
        return s;
    }
    [[nodiscard]] const Config& config() const {
        return config_;
    }

  private:
    // A spin round: a few hundred nanoseconds of pause instructions (they
    // leave the core's other thread and the memory bus alone) between polls.
    static constexpr int kPausesPerSpin = 16;
    static void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
        _mm_pause();
#else
        std::this_thread::yield();
#endif
    }
    [[nodiscard]] std::chrono::microseconds current_max_sleep() const {
#if defined(__linux__)
        if (doorbell_fd_ >= 0 && doorbell_rang_)
            return std::max(config_.max_sleep, config_.doorbell_max_sleep);
#endif
        return config_.max_sleep;
    }
    void sleep(std::chrono::microseconds d) {
        apply_timer_slack();
#if defined(__linux__)
        // A ring that woke us for nothing (a guest ringing in a loop, or a
        // ring for what the last round already took) is answered by one
        // plain sleep before the doorbell is heard again: a ringing storm
        // costs what polling does, never a busy loop.
        if (doorbell_fd_ >= 0 && ring_unanswered_) {
            ring_unanswered_ = false;
            std::this_thread::sleep_for(d);
            return;
        }
        if (doorbell_fd_ >= 0) {
            pollfd p{doorbell_fd_, POLLIN, 0};
            const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
            const timespec ts{static_cast<time_t>(ns / 1'000'000'000),
                              static_cast<long>(ns % 1'000'000'000)};
            if (::ppoll(&p, 1, &ts, nullptr) > 0 && (p.revents & POLLIN) != 0) {
                std::uint64_t count = 0;
                // A nonblocking eventfd reads its whole count at once; a
                // blocking one is readable here, so the read cannot block.
                if (::read(doorbell_fd_, &count, sizeof count) == sizeof count) {
                    ++rings_;
                    doorbell_rang_ = true;
                    ring_unanswered_ = true;  // until activity() says it brought something
                }
            }
            return;
        }
#endif
        std::this_thread::sleep_for(d);
    }
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
#if defined(__linux__)
    int doorbell_fd_ = -1;
    bool doorbell_rang_ = false;
    bool ring_unanswered_ = false;
    std::uint64_t rings_ = 0;
#endif
};

// For bursty streams, events 0.2-2 ms apart (the agent's input pump):
// spinning 200 us after each event and a 50 us first sleep catch the next one
// sooner. bench/input, the two alternating twice (load average 9-11 on 2
// cores): median 124-130 us with this, 174-196 us with the defaults.
inline constexpr AdaptiveWait::Config kBurstyWait{
    std::chrono::microseconds(200), std::chrono::microseconds(50), std::chrono::microseconds(250),
    std::chrono::nanoseconds(0)};

inline std::uint64_t monotonic_ns() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::steady_clock::now().time_since_epoch())
                                          .count());
}

}  // namespace porthole
