#pragma once
// Keeps a capture stream's clock going when the capture API goes quiet
// (WASAPI loopback delivers nothing while nothing plays; a suspended PipeWire
// sink stops its monitor): after `gap` without data, the backend writes the
// silence this says is due, so the host's position keeps advancing in real
// time instead of stalling.

#include <cstdint>

namespace porthole::agent::audio {

class StreamClock {
  public:
    // gap_ns: how long without data before silence is due.
    StreamClock(std::uint32_t rate, std::uint64_t gap_ns = 30'000'000)
        : rate_(rate), gap_ns_(gap_ns) {}
    // Real frames arrived at now_ns.
    void on_frames(std::uint64_t frames, std::uint64_t now_ns);
    // Silence was written (keeps the anchor: only real data moves it).
    void on_silence(std::uint64_t frames) { since_anchor_ += frames; }
    // Frames of silence to write now to keep the stream on time (0 while data flows).
    [[nodiscard]] std::uint64_t silence_due(std::uint64_t now_ns) const;
    // Forget the history (format change, device change).
    void reset() { anchored_ = false; }

  private:
    std::uint32_t rate_;
    std::uint64_t gap_ns_;
    bool anchored_ = false;
    std::uint64_t last_data_ns_ = 0;
    std::uint64_t anchor_ns_ = 0;     // time of the anchor frame
    std::uint64_t since_anchor_ = 0;  // frames written since the anchor
};

}  // namespace porthole::agent::audio
