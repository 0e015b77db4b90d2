#pragma once
// The playout engine: pulls frames from a PcmSource and fills the output
// stream's buffers, keeping the audio buffered between the guest's writer
// and the speakers at a target. Latency here = frames the source holds +
// frames inside this engine + the output's own delay, in ms. The ratio
// (input frames per output frame) is applied with speexdsp's resampler,
// whose ratio can change every buffer without a reset or a click.
//
// The controller. What a listener hears is the ratio's wobble: 5 cents on a
// sustained tone is audible. The guest publishes in chunks (10 ms WASAPI
// periods, Scream's 20 ms chunks on a 10 ms DPC or a 15.6 ms timer tick,
// 10/20/30 ms apart), so the latency at each callback is a sawtooth that
// jumps by a whole chunk; a loop fast enough to chase it warbles. So:
//  - Drift is measured, not chased: the guest's long-term arrival rate
//    against the output clock (two clocks), from total arrivals (frames
//    read + a filtered fill, so the chunk steps average out) over a sliding
//    window of up to 20 s: a 1 ms fill error moves it by 1 ms / 20 s = 5e-5
//    (0.09 cents). It is the ratio's centre, and is known to 0.1% within a
//    second of playing, which is what the 5 ms target needs.
//  - The latency error is corrected by a proportional term only, on the fill
//    filtered by one pole (tau = 1 / (4 Kp): the loop is critically damped).
//    Kp = 0.0116 / max(target, 2 x chunk) (1/s): an error of a quarter of
//    that bends the pitch 5 cents; 0.58/s at 20 ms (time constant 1.7 s,
//    filter 0.43 s), 0.058/s at 200 ms. The sawtooth (50-100 Hz) comes out of
//    the filter below 0.05 ms, a 10/20/30 ms jitter at about 0.8 ms: under 1
//    cent. The chunk term: Scream's 20 ms chunks below a 40 ms target get
//    0.29/s (3.4 s, filter 0.86 s), so the lateness ramp below (10 ms at
//    0.5 Hz) moves the pitch under 1 cent instead of 16.
//  - The target held is at least the floor the arrivals allow: the deepest
//    dip of the fill below its mean between two arrivals (up to 40 ms + a
//    quantum apart; longer gaps are stalls, not granularity), plus what one
//    callback needs and 1 ms. Gains follow that effective target, so a
//    coarse arrival pattern gets a proportionally slower, quieter loop.
//  - The mean moves too: chunks published by a timer against a drifting
//    guest clock (Scream's DPC) are late by 0 to 10 ms, a lateness that
//    ramps and wraps every 10 ms / drift (2 s at 0.5%), so the sawtooth's
//    mean swings 10 ms at 0.5-1 Hz, below the level filter. So the floor
//    also takes dips below a slow mean (tau 2 s, while locked and settled)
//    and below the target itself (the level lags the ramp 1-3 ms under the
//    target at its end: measured from the level alone, the floor's 1 ms
//    margin ran out there once a minute), and locking waits for that mean
//    to sit on the target. The lock band
//    (the mean's distance to lock, the level's to unlock) is an eighth of
//    the gains' reference, max(target, 2 x chunk), not of the target: the
//    ramp swings the level 2-3 ms, which a 10 ms target's 2.5 ms band took
//    for a lost lock. Unlocking still
//    watches the level (a clock step must be caught before it drains the
//    buffer); an underrun unlocks only as described below: unlocked, the 2 s
//    drift window reads the ramp as a 0.5% drift (the ratio then swung 16
//    cents with dropouts).
//  - A (re)start happens on a regular arrival only, where the fill is at its
//    sawtooth's top; never on the backlog that ends a stall (its newest
//    chunk is already a grain old: the start sat half a grain high), which
//    is no write grain either. Where in the callbacks' beat against the
//    chunks it starts still puts the mean up to half a chunk off (10 ms
//    chunks, 5.3 ms quanta: 4.3 ms high at 20 ms). So 0.25 s after a
//    re-buffer (locked: the drift is known; not a format's first start, nor
//    while a changed clock is acquired), once the fast average has seen a
//    whole beat, an excess over 1 ms is trimmed at once: left to the
//    controller it was a glide of seconds after every stall (bursty: 2.2
//    cents p95, 0.3 with the trim). That trim is the start's, not a sign of
//    a changed clock: the lock's repeated-trim test does not count it.
//  - The ratio moves at most 2 cents per second (50 in the first 5 s after
//    a format starts, while the drift is learned): a glide that slow is not
//    heard as a wobble.
//  - A step in latency (the host stalled while the guest kept writing) is
//    not left to the controller, whose catch-up would be a pitch glide of
//    tens of seconds: once a fast average has settled more than a margin
//    above the target, the excess is cut out of the source with a short
//    crossfade (a "trim"), and the filters and the arrival count are
//    shifted by the cut, so the ratio does not move.
//  - The drift window opens only once the fill filter has settled after a
//    start (three time constants): its start value is the sawtooth's mean
//    only to a ms or two, which in a 0.25 s window reads as a 0.5% drift.
//  - An underrun while locked, with the guest writing on time, the fast
//    average below the target by half the lock band and the level by 0.85
//    of it, is a clock step (a migrated VM), not the grain: it re-acquires
//    the drift instead of raising the floor. The fast average alone sinks
//    that far at the bottom of a DPC lateness ramp; the level follows a
//    clock step's drain, but a 2 s mean does not in time (a 1% step then
//    cost two re-buffers instead of one).
// A jump (guest paused, VM resumed, format change, lost frames, latency far
// off) resets: silence, re-buffer to the target, fade in; the drift learned
// is kept for the same format.
//
// Why speexdsp: installed everywhere PipeWire is (Debian's libspeexdsp), its
// fractional-ratio API changes the ratio in place keeping filter state, it
// costs little at quality 4, and doing the resampling here (not via
// PipeWire's adapter rate control) keeps the controller deterministic and
// testable without a daemon: a simulated 10-minute drift run is a unit test
// (tests/unit/audio/arrival_test.cpp runs every arrival pattern).
// Not thread-safe: the owner (AudioPlayback) serializes access.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "audio/pcm_source.hpp"

struct SpeexResamplerState_;

namespace porthole::client::audio {

struct PlayoutConfig {
    double target_ms = 20.0;     // --audio-latency (5..500)
    bool follow_volume = false;  // apply the guest's volume and mute
    int quality = 4;             // speexdsp resampler quality 0..10
    // Resampling ratio clamp: 1 +- this (26 cents): follows a clock drift of
    // +-1% (sound cards drift < 0.01%, a timer-driven sink on a loaded
    // machine more) with room for the correction; what the ratio cannot
    // follow the trims take out.
    double max_deviation = 0.015;
    double slew_cents_per_s = 2.0;           // the ratio's largest glide once the drift is known
    double startup_slew_cents_per_s = 50.0;  // ... in the first startup_s after a format starts
    double startup_s = 5.0;                  // acquiring at least this long before locking
    double drift_window_s = 20.0;            // arrival-rate window
    double fade_ms = 3.0;                    // fade-in after a (re)start
    // Trim when the settled latency exceeds the target by max(this, target / 4).
    double trim_margin_ms = 5.0;
    double trim_fade_ms = 5.0;  // crossfade length of a trim
};

struct PlayoutCounters {
    std::uint64_t underruns = 0;   // the source ran dry while playing
    std::uint64_t overruns = 0;    // frames lost (reader too far behind) or latency dropped
    std::uint64_t resets = 0;      // re-buffer to the target (after a jump)
    std::uint64_t trims = 0;       // excess latency cut out with a crossfade
    std::uint64_t frames_out = 0;  // output frames produced, silence included
    // For the log (rate limited by its reader, never logged from the callback):
    std::uint64_t source_errors = 0;   // the source rejected its data (a bad header)
    std::uint64_t format_changes = 0;  // the source's format changed while one was known
    double latency_ms = 0;             // smoothed current latency
    double target_ms = 0;              // the latency held (the configured target)
    double ratio = 1.0;                // input/output ratio the resampler applies
    double drift = 1.0;                // the guest's arrival rate / the output's (measured)
    bool locked = false;               // the drift is known: tracking gains
    bool playing = false;
};

class PlayoutEngine {
  public:
    explicit PlayoutEngine(PlayoutConfig config);
    ~PlayoutEngine();
    PlayoutEngine(const PlayoutEngine&) = delete;
    PlayoutEngine& operator=(const PlayoutEngine&) = delete;

    // Replaces the source (nullptr: silence); playback restarts cleanly.
    void set_source(std::unique_ptr<PcmSource> source);
    [[nodiscard]] bool has_source() const { return source_ != nullptr; }
    // The format the output should run at (the source's); nullopt: none yet.
    // Checks the source, so call it before fill() each cycle.
    std::optional<PcmFormat> poll_format();
    // Fills `out` (interleaved floats in `output`'s format) for one output
    // cycle; output_delay_ms: how long until its first frame is heard.
    // An output format other than the source's plays silence.
    void fill(std::span<float> out, const PcmFormat& output, double output_delay_ms);
    [[nodiscard]] const PlayoutCounters& counters() const { return counters_; }
    // Frames read from the source but not yet output (queue + resampler delay).
    [[nodiscard]] std::uint64_t internal_frames() const { return format_ ? engine_frames() : 0; }
    // Last error the source reported (validation), for logs.
    [[nodiscard]] const std::string& last_error() const { return error_; }

  private:
    enum class State { idle, buffering, playing };
    void restart(State next);
    bool start_if_ready(const PcmFormat& f, double output_delay_ms);
    std::uint64_t engine_frames() const;
    double lock_band_ms() const;
    void set_ratio(double r, bool force = false);
    void forget_clock();
    void unlock();  // acquire the drift again (fast gains, short window)  // a new format or
                    // source: the drift and the floor are unknown
    // Sets the ratio for this cycle from the measured latency; false: restarted.
    bool control(std::size_t frames, double output_delay_ms, std::uint64_t avail);
    bool trim(std::uint64_t frames);
    void apply_gain(std::span<float> out, std::size_t channels);

    PlayoutConfig config_;
    std::unique_ptr<PcmSource> source_;
    std::optional<PcmFormat> format_;
    State state_ = State::idle;
    SpeexResamplerState_* resampler_ = nullptr;
    std::uint32_t resampler_num_ = 0;
    std::uint64_t frames_since_rate_ = 0;  // output frames since the ratio was last applied
    std::vector<float> fifo_;              // source frames not yet resampled
    std::vector<float> trim_a_, trim_b_;   // a trim's two crossfaded pieces
    std::size_t fifo_pos_ = 0;             // samples of fifo_ already consumed
    // Controller state (see the design above).
    double level_ms_ = 0;         // latency, filtered (tau = 1 / (4 Kp))
    double mean_ms_ = 0;          // latency, slow mean (the floor's reference)
    double fill_lp_ = 0;          // source + engine frames, filtered alike
    double smoothed_ms_ = 0;      // fast average (two 40 ms poles) for trims
    double prefiltered_ms_ = 0;   // first of those two
    double target_eff_ms_ = 0;    // max(target, floor)
    double dip_ms_ = 0;           // deepest fill dip below the mean between arrivals
    double pending_dip_ms_ = 0;   // deepest dip since the last arrival
    double underrun_dip_ms_ = 0;  // the floor an underrun since the last arrival asks
    double since_arrival_s_ = 0;  // output time since the last arrival
    double drift_ = 1.0;          // arrival rate / output rate: the ratio's centre
    bool drift_known_ = false;
    double ratio_ = 1.0;    // commanded ratio (slew-limited)
    double in_total_ = 0;   // frames read from the source while playing (trims excluded)
    double out_total_ = 0;  // frames output while playing
    struct Snapshot {
        double out, arrived;
    };
    std::vector<Snapshot> snaps_;
    double min_span_s_ = 0.25;
    bool locked_ = false;  // the drift is known: tracking gains
    double unlocked_s_ = 0;
    double since_trim_s_ = 0;
    double since_reset_s_ = 1e9;
    bool settle_pending_ = false;      // a re-buffer's start to check against the target
    double playing_s_ = 0;             // output time since the last start
    std::uint64_t trims_at_lock_ = 0;  // window needed before the estimate is used  // (output
                                       // frames, arrivals) every 0.25 s, oldest first
    std::uint64_t last_avail_ = 0;     // source frames left after the previous cycle
    double chunk_grain_ =
        0;  // smallest regular arrival between two cycles, up to 40 ms (creeping up)
    double write_grain_ = 0;           // largest write seen between two cycles (decaying)
    std::uint32_t irregular_run_ = 0;  // arrivals in a row after a gap beyond a driver's grain
    std::uint64_t fade_left_ = 0;      // frames of fade-in to go
    std::uint64_t fade_len_ = 1;
    float gain_ = 1.0F;
    PlayoutCounters counters_;
    std::string error_;
};

}  // namespace porthole::client::audio
