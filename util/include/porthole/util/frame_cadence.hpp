#pragma once
// Predictive wake for a steady stream of announcements (frames at 60 or 144
// Hz): learns the period from the times the host first saw each one and says
// when the next is due, so that a waiting thread busy-polls only from a little
// before that moment and sleeps otherwise. Announcements at irregular times
// (a desktop's sporadic updates) give no prediction and cost nothing.

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <optional>

namespace porthole {

// What the waited-for side's rhythm says about now, for AdaptiveWait::idle.
struct WakeHint {
    bool spin = false;  // something is due now (or is streaming): busy-poll
    // Something is due then: sleep no later than this.
    std::optional<std::chrono::steady_clock::time_point> wake_by;
};

class FrameCadence {
  public:
    using Clock = std::chrono::steady_clock;
    // Measured with porthole-bench-transport (its third stream path waits as
    // the session loop does): at load average 2-3 the period was learned
    // within 0.1% and the host saw the frame at once. 4K 60 Hz, the guest's
    // pacing steady (frame start interval - period p10 -35 us, p90 67 us):
    // notice 0.00x memcpy (plain wait: 0.03-0.04x), copy-done 0.94-0.96x
    // memcpy beside 0.97-0.99x without the hint and 2.17-2.19x for today's
    // publish; 1080p 60 Hz (pacing p90 1.9-2.4 ms) notice 0.01x against
    // 0.17-0.19x, copy-done 1.01-1.02x against 1.02-1.05x. Reader CPU 35% against 33% of a core at
    // 4K (it copies most of that time), 15-16% against 14% at 1080p. At load
    // average 3-6 the guest's own pacing wandered by 1-18 ms (p10/p90), few
    // frames fell in the 300 us window and the hint gained nothing above the
    // noise. lead/after are not tuned beyond that.
    struct Config {
        // Spin from this long before the expected announcement: covers the
        // guest's pacing jitter and, while the phase is learned from notices
        // that came out of a sleep (late by up to that sleep), the lateness
        // of the last one (the next notice then comes from the spin: exact).
        std::chrono::microseconds lead{150};
        // ...and until this long after it, then back to sleeping: bounds the
        // spin to lead + after per period (300 us a frame = 1.8% of a core at
        // 60 Hz) when a frame is late or skipped.
        std::chrono::microseconds after{150};
        // Periods outside this range are not predicted.
        std::chrono::microseconds min_period{2000};
        std::chrono::microseconds max_period{100000};
        // Periods without an announcement before prediction stops (the guest
        // went quiet); the next announcements start it again.
        int missed_periods = 4;
    };

    FrameCadence() = default;
    explicit FrameCadence(Config c) : config_(c) {}

    // The host saw a new announcement at `seen`; the writer stamped it
    // `stamp` on its own clock (a frame's capture time). The period comes
    // from the stamps (exact, whatever the host's wait), the phase from the
    // least delay between a stamp and its sight over the recent ones (a
    // sight can only be late: the least late one came from a spin).
    void announced(Clock::time_point seen, Clock::duration stamp) {
        if (count_ > 0 && stamp <= last_stamp_) {  // a clock that went back: start over
            count_ = 0;
            period_.reset();
        }
        if (count_ > 0) intervals_[(count_ - 1) % kHistory] = stamp - last_stamp_;
        delays_[count_ % kHistory] = seen.time_since_epoch() - stamp;
        ++count_;
        last_stamp_ = stamp;
        last_seen_ = seen;
        period_ = estimate_period();
        delay_ = *std::min_element(
            delays_.begin(),
            delays_.begin() + static_cast<std::ptrdiff_t>(std::min(count_, kHistory)));
    }

    // The learned period, once the recent intervals agree on one.
    [[nodiscard]] std::optional<Clock::duration> period() const { return period_; }

    // The next expected announcement after `now` (within `after` of it still
    // counts as expected), on the host's clock, if the stream is steady and
    // not gone quiet.
    [[nodiscard]] std::optional<Clock::time_point> expected(Clock::time_point now) const {
        if (!period_ || count_ == 0) return std::nullopt;
        const auto p = *period_;
        if (now - last_seen_ > p * config_.missed_periods + config_.after) return std::nullopt;
        const Clock::time_point last{last_stamp_ + delay_};  // the last one, seen without delay
        // The first point last + k*p (k >= 1) whose spin window has not
        // ended: k = ceil((now - last - after) / p).
        const auto d = now - last - config_.after;
        const auto k = d <= Clock::duration::zero()
                           ? 1
                           : std::max<long long>((d + p - Clock::duration(1)) / p, 1);
        return last + p * k;
    }

    // Spin within [expected - lead, expected + after]; before that, sleep no
    // later than the window's start.
    [[nodiscard]] WakeHint hint(Clock::time_point now) const {
        const auto e = expected(now);
        if (!e) return {};
        const auto from = *e - config_.lead;
        if (now >= from) return WakeHint{true, std::nullopt};
        return WakeHint{false, from};
    }

    [[nodiscard]] const Config& config() const { return config_; }

  private:
    static constexpr std::size_t kHistory = 16;
    static constexpr std::size_t kMinIntervals = 4;

    // The median of the recent intervals, if at least 3/4 of them lie within
    // 1/8 of it (skipped frames and sporadic updates break the agreement).
    [[nodiscard]] std::optional<Clock::duration> estimate_period() const {
        const std::size_t n = count_ == 0 ? 0 : std::min(count_ - 1, kHistory);
        if (n < kMinIntervals) return std::nullopt;
        std::array<Clock::duration, kHistory> v{};
        std::copy_n(intervals_.begin(), n, v.begin());
        std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n / 2),
                         v.begin() + static_cast<std::ptrdiff_t>(n));
        const Clock::duration median = v[n / 2];
        if (median < config_.min_period || median > config_.max_period) return std::nullopt;
        const auto tolerance = median / 8;
        const auto agree = std::count_if(
            v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n),
            [&](Clock::duration d) { return d >= median - tolerance && d <= median + tolerance; });
        if (static_cast<std::size_t>(agree) * 4 < n * 3) return std::nullopt;
        return median;
    }

    Config config_{};
    std::size_t count_ = 0;  // announcements since the start (or a clock that went back)
    Clock::duration last_stamp_{};
    Clock::time_point last_seen_{};
    Clock::duration delay_{};  // the least sight - stamp of the recent ones
    std::array<Clock::duration, kHistory> intervals_{};
    std::array<Clock::duration, kHistory> delays_{};
    std::optional<Clock::duration> period_;
};

}  // namespace porthole
