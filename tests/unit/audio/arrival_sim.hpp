#pragma once
// Arrival patterns as test inputs: a simulated guest publishes its audio the
// way real drivers do (regular WASAPI periods, Scream's DPC timer, Windows'
// 15.6 ms timer tick, jittered chunks, a 100 ms stall and its backlog), the
// real ring, reader and PlayoutEngine play it out on a simulated host clock,
// and each run reports what a listener would hear: the pitch's wobble around
// the run's own long-term ratio (a drifting guest clock must shift the ratio;
// the wobble around it is what is heard), dropouts, trims and the latency
// held. Deterministic: simulated time and a fixed pseudo-random sequence.
// Shared by the unit tests (arrival_sim_test.cpp checks the patterns
// themselves) and `porthole-bench-audio --arrivals`.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "audio/playout.hpp"
#include "audio/tone.hpp"
#include "audio_sim.hpp"
#include "porthole/protocol/audio_ring.hpp"
#include "porthole/protocol/region.hpp"

namespace porthole::test {

enum class Arrival {
    regular,  // one chunk each period (WASAPI: 10 ms; 2 ms below a 10 ms target)
    dpc,      // Scream: 20 ms chunks published by a 10 ms DPC timer (+-0.5 ms)
    tick15,   // 10 ms chunks published on Windows' 15.625 ms timer tick
    jitter,   // 20 ms chunks published 0 or 10 ms late: 10/20/30 ms apart
    bursty,   // 10 ms chunks; every 5 s the guest stalls 100 ms, then writes the backlog
};
inline constexpr Arrival kArrivals[] = {Arrival::regular, Arrival::dpc, Arrival::tick15,
                                        Arrival::jitter, Arrival::bursty};

inline std::string_view arrival_name(Arrival a) {
    switch (a) {
        case Arrival::regular:
            return "regular";
        case Arrival::dpc:
            return "dpc";
        case Arrival::tick15:
            return "tick15.6";
        case Arrival::jitter:
            return "jitter";
        case Arrival::bursty:
            return "bursty";
    }
    return "?";
}

// The output quantum AudioPlayback asks PipeWire for at a target (a power of
// two, half the target from 10 ms up, a quarter below, 32..1024 frames).
inline std::uint32_t quantum_for_target(double target_ms, std::uint32_t rate) {
    const double frames = target_ms / (target_ms >= 10.0 ? 2.0 : 4.0) * rate / 1000.0;
    std::uint32_t q = 32;
    while (q * 2 <= frames && q < 1024)
        q *= 2;
    return q;
}

// When the guest publishes how much: events in host time, each giving the
// total frames published by then. The guest's audio clock runs at `scale`
// times the host's; its timers run on the host's time.
class ArrivalSchedule {
  public:
    ArrivalSchedule(Arrival a, double target_ms, double scale, std::uint32_t rate)
        : a_(a), scale_(scale), rate_(rate) {
        switch (a) {
            case Arrival::regular:
                chunk_ = target_ms < 10.0 ? rate / 500 : rate / 100;
                break;
            case Arrival::dpc:
                chunk_ = rate / 50;
                break;
            case Arrival::tick15:
                chunk_ = rate / 100;
                break;
            case Arrival::jitter:
                chunk_ = rate / 50;
                break;
            case Arrival::bursty:
                chunk_ = rate / 100;
                break;
        }
    }
    struct Event {
        double t = 0;             // host time (s)
        std::uint64_t total = 0;  // frames published by then
    };
    Event next() {
        ++i_;
        switch (a_) {
            case Arrival::regular:
                return {completes(i_), i_ * chunk_};
            case Arrival::dpc: {
                // Timer ticks every 10 ms at a phase of 3.3 ms, +-0.5 ms late.
                const double t = 0.0033 + static_cast<double>(i_) * 0.010 + 0.0005 * unit(i_);
                return {t, complete_by(t)};
            }
            case Arrival::tick15: {
                const double t = static_cast<double>(i_) * 0.015625;
                return {t, complete_by(t)};
            }
            case Arrival::jitter: {
                const double late = (mix(i_) & 1U) != 0 ? 0.010 : 0.0;
                return {completes(i_) + late, i_ * chunk_};
            }
            case Arrival::bursty: {
                // Chunks completing inside [5n + 2, 5n + 2.1) s wait for its end.
                double t = completes(i_);
                const double into = std::fmod(t, 5.0) - 2.0;
                if (t > 5.0 && into >= 0 && into < 0.1) t += 0.1 - into;
                return {t, i_ * chunk_};
            }
        }
        return {};
    }
    [[nodiscard]] std::uint32_t chunk() const { return chunk_; }

  private:
    static std::uint64_t mix(std::uint64_t x) {  // splitmix64: the same sequence everywhere
        x += 0x9E3779B97F4A7C15ULL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
        return x ^ (x >> 31);
    }
    static double unit(std::uint64_t i) {  // -1..1
        return static_cast<double>(mix(i) >> 11) / static_cast<double>(1ULL << 52) - 1.0;
    }
    [[nodiscard]] double completes(std::uint64_t k) const {
        return static_cast<double>(k * chunk_) / (rate_ * scale_);
    }
    [[nodiscard]] std::uint64_t complete_by(double t) const {
        const auto produced = static_cast<std::uint64_t>(std::max(t * rate_ * scale_, 0.0));
        return produced / chunk_ * chunk_;
    }
    Arrival a_;
    double scale_;
    double rate_;
    std::uint32_t chunk_ = 480;
    std::uint64_t i_ = 0;
};

struct ArrivalRunConfig {
    Arrival arrival = Arrival::regular;
    double target_ms = 20;
    double drift = 0;       // guest clock: +0.005 = 0.5% fast
    double seconds = 60;    // simulated host time
    double startup_s = 15;  // not measured: the start-up (fill, learn the drift)
    std::uint32_t rate = 48000;
    std::uint16_t channels = 2;
};

struct ArrivalResult {
    double p50_cents = 0, p95_cents = 0, max_cents = 0;  // |pitch - long-term pitch|, outside trims
    double long_term_ratio = 1;                          // mean applied ratio after the start-up
    std::uint64_t dropouts = 0;                          // underruns after the start-up
    std::uint64_t resets = 0;                            // re-buffers after the start-up
    std::uint64_t trims = 0;                             // after the start-up
    double latency_ms = 0;                               // mean true latency after the start-up
    double engine_target_ms = 0;  // what the engine holds (its target, or a floor above it)
    std::uint32_t quantum = 0;
    // Gaps between two publications, after the start-up, too long for the
    // latency held to bridge (see physical_limit below), and the longest gap.
    std::uint64_t stalls = 0;
    double longest_gap_ms = 0;
};

// The physical limit, one rule for every pattern: the engine holds
// `held` ms = its fill + the output's delay (one quantum Q), so right after a
// publication it has at most held - Q ms of audio in hand (plus half a
// chunk's sawtooth, less the quantum the next callback takes at once). A gap
// of G ms to the next publication is played through only if G <= held - Q;
// a longer one runs the buffer dry whatever the controller does, so each such
// gap may cost one dropout (and the re-buffer after it). Example: bursty's
// 100 ms stall is a 110 ms gap (its last 10 ms chunk is held back too); at
// 100 ms held with Q = 21.3 ms, 78.7 ms are in hand: a dropout is certain.
// At 200 ms, 178.7 ms are: it must be ridden out. Gaps up to 40 ms are a
// driver's granularity (WASAPI 10 ms, Scream's 20 ms chunks, a 15.6 ms tick,
// 10/20/30 ms jitter), never a limit: the controller must hold a floor above
// them. It is not asked to for longer stalls (a user asking for 20 ms would
// get 130 ms for a guest that stalls every few seconds).
inline constexpr double kGranularityMs = 40.0;
inline bool gap_is_physical_stall(double gap_ms, double held_ms, double quantum_ms) {
    return gap_ms > kGranularityMs && gap_ms > held_ms - quantum_ms;
}

// The pass criteria, judged on a run: p95 <= 2 cents, max <= 5 cents
// outside trims and re-buffers, latency within 1 ms of what the engine holds
// (or a quantum where that is larger), no dropout or re-buffer beyond one per
// physical stall (none where the pattern has none).
struct ArrivalVerdict {
    bool pitch_ok = false, dropouts_ok = false, latency_ok = false;
    bool limited = false;  // the pattern has stalls no buffer of this latency bridges
    [[nodiscard]] bool pass() const { return pitch_ok && dropouts_ok && latency_ok; }
};
inline ArrivalVerdict judge(const ArrivalResult& r, std::uint32_t rate = 48000) {
    ArrivalVerdict v;
    const double tol = std::max(1.0, r.quantum * 1000.0 / rate);
    v.pitch_ok = r.p95_cents <= 2.0 && r.max_cents <= 5.0;
    v.dropouts_ok = r.dropouts <= r.stalls && r.resets <= r.stalls;
    v.latency_ok = std::abs(r.latency_ms - r.engine_target_ms) <= tol;
    v.limited = r.stalls > 0;
    return v;
}

inline double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

inline ArrivalResult run_arrivals(const ArrivalRunConfig& rc,
                                  client::audio::PlayoutConfig playout = {}) {
    const protocol::AudioFormat fmt{rc.rate, rc.channels, protocol::SampleFormat::f32};
    std::vector<std::byte> channel(protocol::kPageSize + 1024 * 1024);
    auto writer = *protocol::AudioWriter::create(channel);
    (void)writer.set_format(fmt);
    agent::audio::ToneGenerator tone(fmt);
    auto reader = protocol::AudioReader::attach(channel);
    auto src = std::make_unique<CountingSource>(
        client::audio::make_region_source(std::move(*reader)), writer);
    CountingSource* counting = src.get();
    playout.target_ms = rc.target_ms;
    client::audio::PlayoutEngine engine(playout);
    engine.set_source(std::move(src));

    ArrivalResult r;
    r.quantum = quantum_for_target(rc.target_ms, rc.rate);
    const double cycle_s = static_cast<double>(r.quantum) / rc.rate;
    const double delay_ms = cycle_s * 1000.0;
    std::vector<float> out(std::size_t{r.quantum} * rc.channels);
    std::vector<std::byte> buf(std::size_t{4096} * fmt.frame_bytes());
    ArrivalSchedule schedule(rc.arrival, rc.target_ms, 1.0 + rc.drift, rc.rate);
    auto ev = schedule.next();
    std::uint64_t written = 0, fills = 0;

    struct Sample {
        double t, ratio;
    };
    std::vector<Sample> pitch;
    std::vector<double> quiet_until;  // ends of the windows around trims and resets
    double lat_sum = 0, target_sum = 0;
    std::uint64_t lat_n = 0;
    client::audio::PlayoutCounters at_start{};
    std::uint64_t events_seen = 0;  // trims + resets + underruns so far
    double last_publish = -1;
    while (true) {
        const double t_fill = static_cast<double>(fills) * cycle_s;
        if (t_fill >= rc.seconds) break;
        if (ev.t <= t_fill) {
            if (ev.total > written && ev.t > last_publish) {
                const double gap_ms = (ev.t - last_publish) * 1000.0;
                if (last_publish >= 0 && ev.t >= rc.startup_s) {
                    r.longest_gap_ms = std::max(r.longest_gap_ms, gap_ms);
                    if (gap_is_physical_stall(gap_ms, engine.counters().target_ms, delay_ms))
                        ++r.stalls;
                }
                last_publish = ev.t;
            }
            while (written < ev.total) {
                const auto n = std::min<std::uint64_t>(ev.total - written, 4096);
                auto piece = std::span(buf).first(n * fmt.frame_bytes());
                tone.render(written, piece);
                (void)writer.write(piece, static_cast<std::uint64_t>(ev.t * 1e9));
                written += n;
            }
            ev = schedule.next();
            continue;
        }
        ++fills;
        (void)engine.poll_format();
        engine.fill(out, {rc.rate, rc.channels}, delay_ms);
        const auto& c = engine.counters();
        const std::uint64_t events = c.trims + c.resets + c.underruns;
        if (events != events_seen) {
            events_seen = events;
            quiet_until.push_back(t_fill + 1.0);
        }
        if (t_fill < rc.startup_s) {
            at_start = c;
            continue;
        }
        pitch.push_back({t_fill, c.ratio});
        const double backlog = static_cast<double>(writer.position()) -
                               static_cast<double>(counting->consumed()) +
                               static_cast<double>(engine.internal_frames() + r.quantum);
        lat_sum += backlog * 1000.0 / rc.rate + delay_ms;
        target_sum += c.target_ms;
        ++lat_n;
    }
    const auto& c = engine.counters();
    r.dropouts = c.underruns - at_start.underruns;
    r.resets = c.resets - at_start.resets;
    r.trims = c.trims - at_start.trims;
    r.latency_ms = lat_n > 0 ? lat_sum / static_cast<double>(lat_n) : 0;
    r.engine_target_ms = lat_n > 0 ? target_sum / static_cast<double>(lat_n) : 0;
    double log_sum = 0;
    for (const auto& s : pitch)
        log_sum += std::log2(s.ratio);
    const double mean_log = pitch.empty() ? 0 : log_sum / static_cast<double>(pitch.size());
    r.long_term_ratio = std::exp2(mean_log);
    std::vector<double> cents;
    std::size_t q = 0;
    for (const auto& s : pitch) {
        // Outside trims: from 0.2 s before a trim or reset to 1 s after it.
        while (q < quiet_until.size() && quiet_until[q] < s.t)
            ++q;
        if (q < quiet_until.size() && s.t > quiet_until[q] - 1.2) continue;
        cents.push_back(std::abs(1200.0 * (std::log2(s.ratio) - mean_log)));
    }
    r.p50_cents = percentile(cents, 0.5);
    r.p95_cents = percentile(cents, 0.95);
    r.max_cents = cents.empty() ? 0 : *std::max_element(cents.begin(), cents.end());
    return r;
}

}  // namespace porthole::test
