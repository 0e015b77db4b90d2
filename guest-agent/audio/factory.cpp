#include <algorithm>
#include <cmath>
#include <string>

#include "audio/backends.hpp"
#include "porthole/util/backend_choice.hpp"

namespace porthole::agent::audio {

void VolumeReporter::report(float gain, bool muted) {
    gain = std::isfinite(gain) ? std::clamp(gain, 0.0F, 1.0F) : 1.0F;
    if (sent_ && gain == gain_ && muted == muted_) return;
    writer_.set_volume(gain, muted);
    sent_ = true;
    gain_ = gain;
    muted_ = muted;
    stats_.volume_changes.fetch_add(1);
}

std::vector<std::string_view> available_audio_sources() {
    std::vector<std::string_view> v{"tone"};
#ifdef PORTHOLE_HAVE_PIPEWIRE
    v.push_back("pipewire");
#endif
#ifdef _WIN32
    v.push_back("wasapi");
#endif
    return v;
}

Result<std::unique_ptr<AudioSource>> start_audio_source(std::string_view name,
                                                        protocol::AudioWriter& writer,
                                                        const AudioSourceOptions& options) {
    if (name == "tone") return start_tone_source(writer, options);
#ifdef PORTHOLE_HAVE_PIPEWIRE
    if (name == "pipewire") return start_pipewire_source(writer, options);
#endif
#ifdef _WIN32
    if (name == "wasapi") return start_wasapi_source(writer, options);
#endif
    return unavailable_backend("audio source", name, available_audio_sources());
}

}  // namespace porthole::agent::audio
