#pragma once
// A short capture for `porthole-agent --self-test`: the named source runs
// into a private channel and what it wrote is read back as the host reads
// it, so the report shows the format the host would be given and the level
// the samples carried (a loopback that delivers only silence while music
// plays is a finding too).

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "audio/source.hpp"
#include "porthole/protocol/audio_ring.hpp"
#include "porthole/util/result.hpp"

namespace porthole::agent::audio {

struct ProbeResult {
    protocol::AudioFormat format;
    std::uint64_t frames = 0;  // read back
    double peak_dbfs = 0;      // loudest sample (dB re full scale); -infinity: digital silence
    double rms_dbfs = 0;       // over all channels
};

// Runs `source` for `duration` of its own audio (after its first format),
// within `duration` + 2 s of wall time. Errors name the source's own failure.
Result<ProbeResult> probe_audio_source(std::string_view source, std::chrono::milliseconds duration,
                                       const AudioSourceOptions& options = {});

// "48000 Hz, 2 channels (FL FR), f32; 100 ms: peak -6.0 dBFS, RMS -9.0 dBFS"
std::string describe(const ProbeResult& r);

}  // namespace porthole::agent::audio
