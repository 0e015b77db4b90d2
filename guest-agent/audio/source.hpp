#pragma once
// Audio capture sources of the agent: "tone" (the known sweep, tests and the
// demo), "pipewire" (Linux guests: the monitor of the default sink) and
// "wasapi" (Windows: loopback of the default render device). A source runs
// its own thread and is the only user of the AudioWriter it is given (the
// agent's audio channel) until it is destroyed; it never waits for the host.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "porthole/protocol/audio_ring.hpp"
#include "porthole/util/result.hpp"

namespace porthole::agent::audio {

struct AudioSourceOptions {
    protocol::AudioFormat tone_format{};  // tone: format it writes (its mask: the speakers)
    bool tone_per_speaker = false;        // tone: a steady sine per speaker instead of the sweep
    std::uint32_t chunk_ms = 5;           // tone: frames written per wake-up
    double clock_scale = 1.0;             // tone: >1 runs the guest clock fast (drift tests)
    std::string pipewire_target;          // pipewire: sink to capture ("" = default sink)
    float tone_volume = 1.0F;             // tone: the guest volume it reports (0..1)
    bool tone_muted = false;              // tone: reports the guest muted
};

// Counters a source keeps for logs and tests; read from any thread.
struct AudioSourceStats {
    std::atomic<std::uint64_t> frames{0};          // captured frames written
    std::atomic<std::uint64_t> silence_frames{0};  // silence written to keep the clock going
    std::atomic<std::uint64_t> format_changes{0};
    std::atomic<std::uint64_t> restarts{0};        // device lost / default device changed
    std::atomic<std::uint64_t> volume_changes{0};  // guest volume or mute reported anew
};

// Reports the guest's output volume and mute in the channel (the host applies
// them with --audio-follow-volume): loopback and monitor capture take the mix
// before the device's volume, so the samples alone do not carry it. Called
// from the source's own thread; writes only when something changed.
class VolumeReporter {
  public:
    VolumeReporter(protocol::AudioWriter& writer, AudioSourceStats& stats)
        : writer_(writer), stats_(stats) {}
    void report(float gain, bool muted);

  private:
    protocol::AudioWriter& writer_;
    AudioSourceStats& stats_;
    bool sent_ = false;
    float gain_ = 1.0F;
    bool muted_ = false;
};

class AudioSource {
  public:
    virtual ~AudioSource() = default;  // stops the thread; the writer is free again after
    [[nodiscard]] virtual std::string_view name() const = 0;
    [[nodiscard]] virtual const AudioSourceStats& stats() const = 0;
    // Non-empty once the source has failed for good (its thread has ended).
    [[nodiscard]] virtual std::string last_error() const = 0;
};

// Sources compiled into this build, for --help and errors.
std::vector<std::string_view> available_audio_sources();

// Starts the named source writing into `writer` ("tone", "pipewire",
// "wasapi"; "none" is the caller's business). The writer must outlive it.
Result<std::unique_ptr<AudioSource>> start_audio_source(std::string_view name,
                                                        protocol::AudioWriter& writer,
                                                        const AudioSourceOptions& options = {});

}  // namespace porthole::agent::audio
