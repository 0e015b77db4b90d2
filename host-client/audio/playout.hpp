#pragma once
// The playout engine: pulls frames from a PcmSource and fills the output
// stream's buffers, keeping the audio buffered between the guest's writer
// and the speakers at a target. Latency here = frames the source holds +
// frames inside this engine + the output's own delay, in ms. A PI controller
// on that (smoothed) latency sets a resampling ratio within +-1%, applied
// with speexdsp's resampler, whose ratio can change every buffer without a
// reset or a click: that follows clock drift, inaudibly. A step in latency
// (the host stalled while the guest kept writing) is not left to the
// controller, whose catch-up would be a pitch swing lasting most of a
// second: once the latency has settled more than a margin above the target,
// the excess is cut out of the source with a short crossfade (a "trim").
// A jump (guest paused, VM resumed, format change, lost frames, latency far
// off) resets: silence, re-buffer to the target, fade in.
//
// Why speexdsp: installed everywhere PipeWire is (Debian's libspeexdsp), its
// fractional-ratio API changes the ratio in place keeping filter state, it
// costs little at quality 4, and doing the resampling here (not via
// PipeWire's adapter rate control) keeps the controller deterministic and
// testable without a daemon: a simulated 10-minute drift run is a unit test.
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
    double kp = 4.0;             // proportional gain (ratio per second of error)
    double ki = 4.0;             // integral gain (ratio per second^2 of error): critically damped
    double smoothing_s = 0.04;   // time constant of each of the two latency averages
    // Resampling ratio clamp: 1 +- this (17 cents). Sound cards drift by
    // < 0.01%; a timer-driven sink on a loaded machine lags more, and what
    // the ratio cannot follow the trims take out.
    double max_deviation = 0.01;
    double fade_ms = 3.0;  // fade-in after a (re)start
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
    double latency_ms = 0;         // smoothed current latency
    double target_ms = 0;          // the latency held (the configured target)
    double ratio = 1.0;            // input/output ratio the resampler applies
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
    void set_ratio(double r, bool force = false);
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
    double integral_ = 0;
    double smoothed_ms_ = 0;
    double prefiltered_ms_ = 0;     // first of the two averages
    std::uint64_t last_avail_ = 0;  // source frames left after the previous cycle
    double write_grain_ = 0;        // largest write seen between two cycles (decaying)
    std::uint64_t fade_left_ = 0;   // frames of fade-in to go
    std::uint64_t fade_len_ = 1;
    float gain_ = 1.0F;
    PlayoutCounters counters_;
    std::string error_;
};

}  // namespace porthole::client::audio
