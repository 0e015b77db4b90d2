// The latency controller, in simulated time against the real ring and
// resampler: drift never builds delay or underruns, jumps reset cleanly.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <utility>
#include <vector>

#include "audio_sim.hpp"

namespace porthole::test {
namespace {

struct Window {  // true latency averaged over one second
    double sum = 0;
    int n = 0;
    double min_avg = 1e9, max_avg = -1e9;
    void add(double v) {
        sum += v;
        ++n;
    }
    void close() {
        if (n == 0) return;
        min_avg = std::min(min_avg, sum / n);
        max_avg = std::max(max_avg, sum / n);
        sum = 0;
        n = 0;
    }
};

struct DriftResult {
    std::uint64_t underruns_after_start = 0;
    std::uint64_t underruns_before_switch = 0;  // after the start, before the clock switch
    std::uint64_t underruns_after_switch = 0;   // from one second after the switch on
    double worst_steady_error_ms = 0;           // 1 s averages, away from the clock switch
    double worst_error_ms = 0;                  // 1 s averages, anywhere after the start
    std::uint64_t resets = 0;
    std::uint64_t trims = 0;
};

DriftResult run_drift(double target_ms, std::uint32_t quantum, std::uint32_t chunk, double seconds,
                      double first_scale = 1.005, double second_scale = 0.995) {
    AudioSimConfig c;
    c.writer_chunk = chunk;
    c.playout.target_ms = target_ms;
    c.quantum = quantum;
    c.output_delay_ms = quantum * 1000.0 / 48000.0;
    const double half = seconds / 2;
    c.clock_scale = [=](double t) { return t < half ? first_scale : second_scale; };
    AudioSim sim(c);
    DriftResult r;
    std::uint64_t underruns_at_start = 0, underruns_at_switch = 0, underruns_switched = 0;
    Window w;
    double next_close = 1.0;
    sim.run(seconds, [&](const AudioSim::Cycle& cy) {
        if (cy.t < 1.0) {
            underruns_at_start = sim.counters().underruns;
            return;
        }
        if (cy.t < half) underruns_at_switch = sim.counters().underruns;
        if (cy.t < half + 1.0) underruns_switched = sim.counters().underruns;
        w.add(cy.true_latency_ms);
        if (cy.t >= next_close) {
            const double avg = w.sum / std::max(w.n, 1);
            w.close();
            next_close += 1.0;
            const double err = std::abs(avg - target_ms);
            r.worst_error_ms = std::max(r.worst_error_ms, err);
            const bool settling = cy.t < 5.0 || (cy.t > half && cy.t < half + 5.0);
            if (!settling) r.worst_steady_error_ms = std::max(r.worst_steady_error_ms, err);
        }
    });
    r.underruns_after_start = sim.counters().underruns - underruns_at_start;
    r.underruns_before_switch = underruns_at_switch - underruns_at_start;
    r.underruns_after_switch = sim.counters().underruns - underruns_switched;
    r.resets = sim.counters().resets;
    r.trims = sim.counters().trims;
    return r;
}

// Ten minutes of audio: 0.5% fast for five, then 0.5% slow for five. The
// switch is instant (a migrated VM): a 1% step drains the 20 ms buffer's few
// ms of slack within 0.4 s, faster than any ratio glide below audibility can
// follow, so it costs one re-buffer, after which the drift is acquired again
// (no second underrun, no trim, the same latency). A gradual drift never
// underruns: the five minutes on either side of the switch are clean.
TEST(PlayoutEngine, DriftingGuestClockHoldsTwentyMsForTenMinutes) {
    const auto r = run_drift(20.0, 256, 480, 600.0);
    EXPECT_EQ(r.underruns_before_switch, 0U);
    EXPECT_LE(r.underruns_after_start, 1U) << "the clock step: one re-buffer, not a series";
    EXPECT_EQ(r.underruns_after_switch, 0U);
    EXPECT_LE(r.resets, 1U);
    EXPECT_EQ(r.trims, 0U) << "drift is the resampler's to follow, not the trim's";
    EXPECT_LT(r.worst_steady_error_ms, 1.0);
    // The re-buffer refills to the target, but until the new drift is
    // measured (about a second) the old one drains it further: 3.1 ms in
    // that second's average. The old fast loop stayed within 3 ms by
    // swinging the pitch 17 cents; now that costs the one re-buffer instead.
    EXPECT_LT(r.worst_error_ms, 3.5);
}

TEST(PlayoutEngine, DriftingGuestClockHoldsFiveMs) {
    // 5 ms needs a small quantum (AudioPlayback asks for target/4) and a
    // guest publishing in small pieces (2 ms here). A sudden 1% clock swing
    // would dip below the 1 ms of slack: each drift direction runs alone.
    for (double scale : {1.005, 0.995}) {
        const auto r = run_drift(5.0, 32, 96, 30.0, scale, scale);
        EXPECT_EQ(r.underruns_after_start, 0U) << "clock x" << scale;
        EXPECT_LT(r.worst_steady_error_ms, 1.0) << "clock x" << scale;
        EXPECT_LT(r.worst_error_ms, 2.0) << "clock x" << scale;
    }
}

// A start waits for a write within a driver's granularity of the one before
// (not the backlog ending a stall); a guest whose writes are all further
// apart (80 ms periods) must still start, on its second write.
TEST(PlayoutEngine, CoarseGuestPeriodStillStarts) {
    AudioSimConfig c;
    c.writer_chunk = 3840;  // 80 ms
    c.quantum = 1024;
    c.output_delay_ms = 1024.0 / 48.0;
    c.playout.target_ms = 200;
    AudioSim sim(c);
    double started = -1;
    sim.run(5.0, [&](const AudioSim::Cycle& cy) {
        if (started < 0 && sim.counters().playing) started = cy.t;
    });
    ASSERT_GE(started, 0.0) << "never started";
    EXPECT_LT(started, 0.5);
    EXPECT_GT(sim.counters().frames_out, 0U);
}

TEST(PlayoutEngine, EngineReportsTheLatencyItHolds) {
    AudioSim sim(AudioSimConfig{});
    double engine = 0, truth = 0;
    int n = 0;
    sim.run(10.0, [&](const AudioSim::Cycle& cy) {
        if (cy.t < 5.0) return;
        engine += cy.engine_latency_ms;
        truth += cy.true_latency_ms;
        ++n;
    });
    ASSERT_GT(n, 0);
    // The engine also counts its resampler's half filter (~0.5 ms) and fifo.
    EXPECT_NEAR(engine / n, truth / n, 1.0);
}

TEST(PlayoutEngine, PausedGuestUnderrunsOnceThenResumesWithoutABurst) {
    AudioSimConfig c;
    c.paused = [](double t) { return t >= 3.0 && t < 3.5; };  // VM paused for 500 ms
    AudioSim sim(c);
    float peak = 0;
    double late_err = 0;
    std::uint64_t before_pause = 0;
    sim.run(8.0, [&](const AudioSim::Cycle& cy) {
        for (float v : cy.out)
            peak = std::max(peak, std::abs(v));
        if (cy.t < 2.9) before_pause = sim.counters().underruns;
        if (cy.t > 6.0) late_err = std::max(late_err, std::abs(cy.engine_latency_ms - 20.0));
    });
    EXPECT_EQ(before_pause, 0U);
    EXPECT_EQ(sim.counters().underruns, 1U);  // the pause itself, once
    EXPECT_LE(peak, 0.5F * 1.05F);            // never louder than the tone: no noise burst
    EXPECT_LT(late_err, 2.0);                 // back at the target
}

TEST(PlayoutEngine, WriterBurstIsDroppedBackToTheTarget) {
    AudioSimConfig c;
    // A resumed VM's writer catches up: ~400 ms of audio lands within 10 ms.
    c.clock_scale = [](double t) { return t >= 3.0 && t < 3.02 ? 40.0 : 1.0; };
    AudioSim sim(c);
    double late_err = 0;
    float peak = 0;
    sim.run(8.0, [&](const AudioSim::Cycle& cy) {
        for (float v : cy.out)
            peak = std::max(peak, std::abs(v));
        if (cy.t > 5.0) late_err = std::max(late_err, std::abs(cy.true_latency_ms - 20.0));
    });
    EXPECT_GE(sim.counters().overruns, 1U);
    EXPECT_LT(late_err, 6.0);  // instantaneous: the writer's 10 ms chunks are in it
    EXPECT_LE(peak, 0.5F * 1.05F);
}

struct StallRun {
    double max_ratio_deviation = 0;  // after the start
    double pitched_s = 0;            // time spent beyond 0.5%
    float max_step = 0;              // largest sample-to-sample change, left channel
    float peak = 0;
    double late_err_ms = 0;  // worst 1-s average error from 5 s on
    std::uint64_t underruns_after_start = 0;
};

StallRun run_with_stall(double stall_ms) {
    AudioSimConfig c;
    c.output_stalled = [=](double t) { return t >= 3.0 && t < 3.0 + stall_ms / 1000.0; };
    AudioSim sim(c);
    StallRun r;
    std::uint64_t underruns_at_start = 0;
    float prev = 0;
    Window w;
    double next_close = 6.0;
    sim.run(9.0, [&](const AudioSim::Cycle& cy) {
        if (cy.t < 1.0) {
            underruns_at_start = sim.counters().underruns;
            prev = cy.out[cy.out.size() - 2];
            return;
        }
        const double dev = std::abs(sim.counters().ratio - 1);
        r.max_ratio_deviation = std::max(r.max_ratio_deviation, dev);
        if (dev > 0.005) r.pitched_s += 256.0 / 48000.0;
        for (std::size_t i = 0; i < cy.out.size(); i += 2) {
            r.max_step = std::max(r.max_step, std::abs(cy.out[i] - prev));
            prev = cy.out[i];
            r.peak = std::max(r.peak, std::abs(cy.out[i]));
        }
        if (cy.t >= 5.0) w.add(cy.true_latency_ms);
        if (cy.t >= next_close) {
            r.late_err_ms = std::max(r.late_err_ms, std::abs(w.sum / std::max(w.n, 1) - 20.0));
            w.close();
            next_close += 1.0;
        }
    });
    r.underruns_after_start = sim.counters().underruns - underruns_at_start;
    return r;
}

// The host misses 15 ms of output cycles (a scheduling stall on a busy
// desktop): the guest's audio piles up by as much. It must come back to the
// target as a short crossfaded cut, not as a pitch swing or a click.
TEST(PlayoutEngine, HostStallIsTrimmedWithoutAPitchSwingOrClick) {
    const StallRun calm = run_with_stall(0);
    const StallRun r = run_with_stall(15);
    EXPECT_LE(r.max_ratio_deviation, 0.0101);  // never beyond the 1% clamp (17 cents)
    EXPECT_EQ(r.underruns_after_start, 0U);
    EXPECT_LT(r.late_err_ms, 1.0);
    EXPECT_LE(r.peak, 0.5F * 1.05F);
    // The stall itself leaves a gap in the sink, not in what we write; what
    // we write steps no more than the tone itself does (a bare cut would
    // step by up to the full swing, 1.0).
    EXPECT_LE(r.max_step, calm.max_step * 1.25F) << "calm run: " << calm.max_step;
    EXPECT_LT(r.pitched_s, 0.1);  // beyond 0.5% (9 cents) only until the step is seen
}

TEST(PlayoutEngine, HostStallTrimsOnceAndCounts) {
    for (double stall_ms : {12.0, 40.0, 120.0}) {
        AudioSimConfig c;
        c.output_stalled = [=](double t) { return t >= 3.0 && t < 3.0 + stall_ms / 1000.0; };
        AudioSim sim(c);
        sim.run(6.0, [](const AudioSim::Cycle&) {});
        EXPECT_EQ(sim.counters().trims, 1U) << stall_ms << " ms stall";
        EXPECT_EQ(sim.counters().resets, 0U) << stall_ms << " ms stall";
        EXPECT_NEAR(sim.counters().latency_ms, 20.0, 1.0) << stall_ms << " ms stall";
    }
}

TEST(PlayoutEngine, PlaysTheSentSignal) {
    // No drift: after the start, output frame k is a copy of some source frame
    // (the ratio hovers near 1): find the offset, compare sample by sample.
    AudioSim sim(AudioSimConfig{});
    std::vector<float> left;
    sim.run(3.0, [&](const AudioSim::Cycle& cy) {
        if (cy.t < 2.0) return;
        for (std::size_t i = 0; i < cy.out.size(); i += 2)
            left.push_back(cy.out[i]);
    });
    ASSERT_GT(left.size(), 4800U);
    const auto& tone = sim.tone();
    double best = -1;
    for (std::uint64_t off = 0; off < tone.period_frames(); ++off) {
        double dot = 0, e1 = 0, e2 = 0;
        for (std::size_t i = 0; i < 2400; i += 3) {
            const double a = left[i], b = tone.sample(off + i, 0);
            dot += a * b;
            e1 += a * a;
            e2 += b * b;
        }
        best = std::max(best, dot / std::sqrt(e1 * e2 + 1e-12));
    }
    EXPECT_GT(best, 0.99);
}

// RMS of the left channel over [from, to) seconds of host time.
std::vector<double> left_rms(bool follow, double seconds,
                             std::function<std::pair<float, bool>(double)> volume,
                             const std::vector<std::pair<double, double>>& spans,
                             double* max_step = nullptr) {
    AudioSimConfig c;
    c.playout.follow_volume = follow;
    c.guest_volume = std::move(volume);
    AudioSim sim(c);
    std::vector<double> sum(spans.size()), n(spans.size());
    float prev = 0;
    sim.run(seconds, [&](const AudioSim::Cycle& cy) {
        for (std::size_t i = 0; i < cy.out.size(); i += 2) {
            const double t = cy.t + static_cast<double>(i / 2) / 48000.0;
            for (std::size_t k = 0; k < spans.size(); ++k) {
                if (t >= spans[k].first && t < spans[k].second) {
                    sum[k] += double{cy.out[i]} * cy.out[i];
                    n[k] += 1;
                }
            }
            if (max_step != nullptr && t > 1.5)
                *max_step = std::max(*max_step, double{std::abs(cy.out[i] - prev)});
            prev = cy.out[i];
        }
    });
    std::vector<double> out;
    for (std::size_t k = 0; k < spans.size(); ++k)
        out.push_back(n[k] > 0 ? std::sqrt(sum[k] / n[k]) : -1);
    return out;
}

// The guest turns its volume down to a quarter at 2 s and mutes at 3 s
// (--audio-follow-volume): the output follows within a few ms, with a ramp,
// not a step, and without the option the guest's volume is ignored.
TEST(PlayoutEngine, FollowsTheGuestsVolumeAndMuteWithARamp) {
    auto volume = [](double t) {
        if (t < 2.0) return std::pair{1.0F, false};
        if (t < 3.0) return std::pair{0.25F, false};
        return std::pair{0.25F, true};
    };
    const std::vector<std::pair<double, double>> spans{{1.5, 2.0}, {2.2, 3.0}, {3.2, 4.0}};
    double max_step = 0;
    const auto followed = left_rms(true, 4.0, volume, spans, &max_step);
    ASSERT_GT(followed[0], 0.1) << "the tone did not play";
    EXPECT_NEAR(followed[1] / followed[0], 0.25, 0.01);
    EXPECT_LT(followed[2], 1e-4) << "muted, yet playing";

    double steady_step = 0;
    const auto full = left_rms(
        true, 2.0,
        [](double) {
            return std::pair{1.0F, false};
        },
        {{1.5, 2.0}}, &steady_step);
    // The tone's own largest sample step, plus what one ramp step adds: a cut
    // from full to a quarter in one sample would step by ~0.75 of the peak.
    EXPECT_LT(max_step, steady_step + 0.01);
    EXPECT_NEAR(full[0], followed[0], 0.01 * followed[0]);

    const auto ignored = left_rms(false, 4.0, volume, spans);
    EXPECT_NEAR(ignored[1] / ignored[0], 1.0, 0.01);
    EXPECT_NEAR(ignored[2] / ignored[0], 1.0, 0.01);
}

}  // namespace
}  // namespace porthole::test
