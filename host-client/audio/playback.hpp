#pragma once
// The client's audio output: a PipeWire playback stream on its own thread
// loop, fed by a PlayoutEngine. Its context loads libpipewire-module-rt, as
// PipeWire's client-rt.conf does for its real-time clients: the data thread
// (where the callback runs) gets real-time priority through
// RLIMIT_RTPRIO/CAP_SYS_NICE or RTKit, and where neither is granted it runs
// at normal priority (stats() says so and why). It shows up as "Porthole" (media role Game)
// in pavucontrol and Helvum. The source is handed over at any time from any
// thread (a new agent session's AudioReader, or a Scream ring); the stream
// follows the source's rate and channel count.

#include <cstdint>
#include <memory>
#include <string>

#include "audio/pcm_source.hpp"
#include "audio/playout.hpp"
#include "porthole/util/result.hpp"

namespace porthole::client::audio {

struct PlaybackOptions {
    double latency_ms = 20.0;    // --audio-latency: target buffered between guest and speakers
    bool follow_volume = false;  // --audio-follow-volume
    std::string app_name = "Porthole";
    std::string node_name = "porthole";
    std::string target;  // sink to play to ("" = default)
    int quality = 4;     // resampler quality 0..10
};

// A consistent snapshot for --stats and the overlay.
struct PlaybackStats {
    std::uint64_t underruns = 0;
    std::uint64_t overruns = 0;
    std::uint64_t resets = 0;
    std::uint64_t trims = 0;  // excess latency cut out with a crossfade
    std::uint64_t frames_out = 0;
    std::uint64_t source_errors = 0;   // the source rejected its data (e.g. a bad Scream header)
    std::uint64_t format_changes = 0;  // the source's format changed
    // Cycles the callback played silence because the engine was busy
    // (set_source or a reconnect held it); stats() never causes one.
    std::uint64_t missed_cycles = 0;
    // Cycles whose callback started more than one quantum after the graph's
    // cycle did (the data thread not scheduled in time: that cycle's audio
    // is late for the sink), and the longest such wake-up delay.
    std::uint64_t late_cycles = 0;
    double max_wake_ms = 0;
    double latency_ms = 0;       // smoothed: source + engine + PipeWire's delay
    double output_delay_ms = 0;  // PipeWire's part of it
    double target_ms = 0;        // the latency held: the target, or the floor the arrivals need
    double ratio = 1.0;
    bool playing = false;
    std::uint32_t rate = 0;
    std::uint16_t channels = 0;
    std::string error;  // last source error (invalid data), "" if none
    // The data thread's scheduling as the callback found it: -1 until the
    // first cycle, else SCHED_OTHER, SCHED_FIFO or SCHED_RR (and its priority).
    int sched_policy = -1;
    int sched_priority = 0;
    [[nodiscard]] bool realtime() const;
    // Why the data thread has no real-time priority ("" when it has, or before
    // the first cycle): the rights this process lacks.
    std::string realtime_why;
};

class AudioPlayback {
  public:
    // Connects to PipeWire (XDG_RUNTIME_DIR's daemon) and starts the loop.
    static Result<std::unique_ptr<AudioPlayback>> create(const PlaybackOptions& options);
    ~AudioPlayback();
    AudioPlayback(const AudioPlayback&) = delete;
    AudioPlayback& operator=(const AudioPlayback&) = delete;

    // Hands over a new source (nullptr: play silence). Thread-safe; the old
    // source is destroyed before this returns, so the caller may then unmap
    // the region it read from.
    void set_source(std::unique_ptr<PcmSource> source);
    // Convenience for a new agent session.
    void set_reader(protocol::AudioReader reader) {
        set_source(make_region_source(std::move(reader)));
    }
    // Lock-free: reads what the callback published, never the engine's lock,
    // so a caller polling it can never cost the callback a cycle.
    [[nodiscard]] PlaybackStats stats() const;

    struct Impl;

  private:
    explicit AudioPlayback(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace porthole::client::audio
