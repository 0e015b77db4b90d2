#include <string>

#include "audio/backends.hpp"

namespace porthole::agent::audio {

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
    std::string list;
    for (auto n : available_audio_sources())
        list += (list.empty() ? "" : ", ") + std::string(n);
    return Error::make("audio source '" + std::string(name) +
                       "' is not available in this build (available: " + list + ")");
}

}  // namespace porthole::agent::audio
