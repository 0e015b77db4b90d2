#pragma once
// The test tone: a known up-and-down linear sine sweep (300 Hz -> 3 kHz ->
// 300 Hz each second) whose every sample is a pure function of its frame
// index, so a receiver can regenerate what was sent and correlate. The sweep
// holds a whole number of cycles per period: repeating it has no click.
// The speaker tone instead plays on each channel a steady sine whose
// frequency names the channel's speaker (speaker_tone_hz), so a listener or
// a test finds every speaker's signal where it comes out.

#include <cstdint>
#include <span>

#include "porthole/protocol/audio_ring.hpp"

namespace porthole::agent::audio {

enum class ToneKind {
    sweep,     // the sweep, channel c shifted by c/4 period
    speakers,  // a steady sine per channel at its speaker's frequency
};

// The speaker tone's frequency for one speaker (a speaker:: bit): 250 Hz
// for front left, then 150 Hz more for each later position (FR 400, FC 550,
// LFE 700, back left 850 ... side left 1600, side right 1750). Whole hertz,
// so a second holds whole cycles; 150 Hz apart, far more than the client's
// +-1% resampling moves them. 0 for no speaker.
double speaker_tone_hz(std::uint32_t speaker);

class ToneGenerator {
  public:
    explicit ToneGenerator(protocol::AudioFormat format, float amplitude = 0.5F,
                           ToneKind kind = ToneKind::sweep);
    [[nodiscard]] const protocol::AudioFormat& format() const { return format_; }
    // Frames in one period of the sweep (one second).
    [[nodiscard]] std::uint64_t period_frames() const { return format_.rate; }
    // Sample of channel `ch` at frame `n` (sweep: shifted by ch/4 period;
    // speakers: the sine of the speaker format().speakers() gives channel ch).
    [[nodiscard]] float sample(std::uint64_t n, std::uint32_t ch) const;
    // Fills `out` (whole frames in format()) with frames starting at `first`.
    void render(std::uint64_t first, std::span<std::byte> out) const;

  private:
    protocol::AudioFormat format_;
    float amplitude_;
    ToneKind kind_;
};

}  // namespace porthole::agent::audio
