#pragma once
// Counters of what the client showed, per one-second window and in total,
// for --stats (one JSON line a second) and the overlay.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace porthole::client {

struct StatsTotals {
    std::uint64_t frames = 0;      // guest frames shown
    std::uint64_t presents = 0;    // images presented (frames, cursor moves, overlay...)
    std::uint64_t verified = 0;    // shown frames equal to the pattern
    std::uint64_t mismatched = 0;  // shown frames that differ
    std::uint64_t repeats = 0;     // pattern counter shown twice in a row
    std::uint64_t gaps = 0;        // pattern counters never shown
};

// Nearest-rank percentile q (0 < q <= 1) of `samples` (reordered); none when empty.
std::optional<double> percentile(std::vector<double>& samples, double q);

// Capture-to-present latencies of the last second, for their p99: a ring of
// timestamped samples (a second of frames at up to kCapacity Hz).
class LatencyWindow {
  public:
    void add(std::uint64_t at_ns, double ms);
    // The 99th percentile of the samples taken in (now - kSpanNs, now]; none without any.
    [[nodiscard]] std::optional<double> p99(std::uint64_t now_ns) const;
    static constexpr std::uint64_t kSpanNs = 1'000'000'000;
    static constexpr std::size_t kCapacity = 1024;

  private:
    std::array<std::uint64_t, kCapacity> at_{};
    std::array<double, kCapacity> ms_{};
    std::size_t count_ = 0;  // samples taken in all (the ring's next slot: count % kCapacity)
};

class FrameStats {
  public:
    // `at_ns`: when it was presented (0: unknown; the latency then stays out of the p99).
    void frame_shown(std::uint64_t serial, std::optional<double> latency_ms,
                     std::uint64_t at_ns = 0);
    void presented();
    StatsTotals& totals() { return totals_; }
    [[nodiscard]] const StatsTotals& totals() const { return totals_; }

    struct Window {
        std::uint64_t fps = 0;  // presents in the last second
        std::uint64_t ups = 0;  // guest frames published over the window (serial span)
        std::uint64_t shown = 0;
        std::optional<double> latency_ms;      // capture to present, average
        std::optional<double> latency_p99_ms;  // its p99 over the second before the roll
    };
    // The finished window; starts the next one. `now_ns` (0: none) dates the p99's second.
    Window roll(std::uint64_t now_ns = 0);
    // The last finished window (for the overlay).
    [[nodiscard]] const Window& last() const { return last_; }
    // A new guest frame was presented at `present_ns`: the time since the
    // previous one joins the frame-time graph's samples.
    void frame_presented_at(std::uint64_t present_ns);
    // The last kFrameTimeSamples frame times in ms, oldest first.
    [[nodiscard]] std::vector<float> frame_times() const;
    static constexpr std::size_t kFrameTimeSamples = 120;

  private:
    StatsTotals totals_;
    std::uint64_t presents_ = 0, shown_ = 0, first_serial_ = 0, last_serial_ = 0;
    double latency_sum_ = 0;
    std::uint64_t latency_n_ = 0;
    LatencyWindow latencies_;
    Window last_;
    std::array<float, kFrameTimeSamples> frame_ms_{};
    std::size_t frame_ms_count_ = 0;  // samples taken in all (the ring's next slot: count % N)
    std::uint64_t last_present_ns_ = 0;
};

// The audio playback's part of a stats line.
struct AudioLine {
    std::uint64_t underruns = 0, overruns = 0;
    std::uint64_t trims = 0;  // excess latency cut out (host stalls)
    double latency_ms = 0;
    double ratio = 1.0;  // guest frames played per output frame (clock drift correction)
    bool playing = false;
    std::uint64_t frames_out = 0;  // frames the sink has asked for: its clock
    double at_s = 0;               // monotonic time of this snapshot (s)
    // --audio-source scream: the format the ring's header announces.
    struct Scream {
        std::uint32_t rate = 0;
        std::uint16_t channels = 0;
        std::uint8_t bits = 0;
        std::uint16_t channel_mask = 0;
    };
    std::optional<Scream> scream;  // none: not Scream, or no valid header yet
};

// The input's part of a stats line.
struct InputStats {
    std::string mode;            // window, evdev, none
    std::string owner;           // host or guest (window: captured = guest)
    std::uint64_t events = 0;    // events handed to the sink
    std::uint64_t overflow = 0;  // region: events not written (ring full, no agent)
    bool qmp = false;            // QMP delivery: the counters below mean something
    bool qmp_connected = false;
    std::uint64_t qmp_sent = 0, qmp_accepted = 0, qmp_rejected = 0, qmp_dropped = 0;
};

struct StatsLine {
    std::string state;
    std::string copy_path;
    std::string present_mode;
    std::uint64_t torn = 0, skipped = 0, invalid = 0;
    // Frame pacing (app/frame_pacer.hpp): vsync paces draws to the refresh;
    // superseded frames were replaced before they could be drawn, late ones
    // shown more than a refresh after they were complete.
    bool vsync = false;
    std::uint64_t superseded = 0, late = 0;
    std::uint64_t cpu_bytes = 0, gpu_bytes = 0;
    bool verify = false;
    std::optional<AudioLine> audio;  // none: audio off
    std::optional<InputStats> input;
    std::optional<std::uint64_t> doorbell_rings;  // none: no doorbell
};
// One JSON object (no newline).
std::string stats_json(const FrameStats::Window& w, const StatsTotals& t, const StatsLine& extra);
// The overlay's lines.
std::vector<std::string> overlay_lines(const FrameStats::Window& w, const StatsTotals& t,
                                       const StatsLine& extra);

}  // namespace porthole::client
