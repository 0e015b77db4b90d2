#pragma once
// The test tone: a known up-and-down linear sine sweep (300 Hz -> 3 kHz ->
// 300 Hz each second) whose every sample is a pure function of its frame
// index, so a receiver can regenerate what was sent and correlate. The sweep
// holds a whole number of cycles per period: repeating it has no click.

#include <cstdint>
#include <span>

#include "porthole/protocol/audio_ring.hpp"

namespace porthole::agent::audio {

class ToneGenerator {
  public:
    explicit ToneGenerator(protocol::AudioFormat format, float amplitude = 0.5F);
    [[nodiscard]] const protocol::AudioFormat& format() const { return format_; }
    // Frames in one period of the sweep (one second).
    [[nodiscard]] std::uint64_t period_frames() const { return format_.rate; }
    // Sample of channel `ch` at frame `n` (channel c is the sweep shifted by c/4 period).
    [[nodiscard]] float sample(std::uint64_t n, std::uint32_t ch) const;
    // Fills `out` (whole frames in format()) with frames starting at `first`.
    void render(std::uint64_t first, std::span<std::byte> out) const;

  private:
    protocol::AudioFormat format_;
    float amplitude_;
};

}  // namespace porthole::agent::audio
