#pragma once
// Internal: one starter per backend, each in its own file; factory.cpp picks.

#include "audio/source.hpp"

namespace porthole::agent::audio {

Result<std::unique_ptr<AudioSource>> start_tone_source(protocol::AudioWriter& writer,
                                                       const AudioSourceOptions& options);
#ifdef PORTHOLE_HAVE_PIPEWIRE
Result<std::unique_ptr<AudioSource>> start_pipewire_source(protocol::AudioWriter& writer,
                                                           const AudioSourceOptions& options);
#endif
#ifdef _WIN32
Result<std::unique_ptr<AudioSource>> start_wasapi_source(protocol::AudioWriter& writer,
                                                         const AudioSourceOptions& options);
#endif

}  // namespace porthole::agent::audio
