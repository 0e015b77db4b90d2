#include "audio/speaker_positions.hpp"

#include <spa/param/audio/raw.h>

#include <bit>

#include "porthole/protocol/audio_ring.hpp"

namespace porthole::client::audio {

std::uint32_t spa_position(std::uint32_t speaker) {
    namespace s = protocol::speaker;
    switch (speaker) {
        case s::front_left:
            return SPA_AUDIO_CHANNEL_FL;
        case s::front_right:
            return SPA_AUDIO_CHANNEL_FR;
        case s::front_center:
            return SPA_AUDIO_CHANNEL_FC;
        case s::low_frequency:
            return SPA_AUDIO_CHANNEL_LFE;
        case s::back_left:  // Windows' "back" is SPA's "rear"
            return SPA_AUDIO_CHANNEL_RL;
        case s::back_right:
            return SPA_AUDIO_CHANNEL_RR;
        case s::front_left_of_center:
            return SPA_AUDIO_CHANNEL_FLC;
        case s::front_right_of_center:
            return SPA_AUDIO_CHANNEL_FRC;
        case s::back_center:
            return SPA_AUDIO_CHANNEL_RC;
        case s::side_left:
            return SPA_AUDIO_CHANNEL_SL;
        case s::side_right:
            return SPA_AUDIO_CHANNEL_SR;
        case s::top_center:
            return SPA_AUDIO_CHANNEL_TC;
        case s::top_front_left:
            return SPA_AUDIO_CHANNEL_TFL;
        case s::top_front_center:
            return SPA_AUDIO_CHANNEL_TFC;
        case s::top_front_right:
            return SPA_AUDIO_CHANNEL_TFR;
        case s::top_back_left:
            return SPA_AUDIO_CHANNEL_TRL;
        case s::top_back_center:
            return SPA_AUDIO_CHANNEL_TRC;
        case s::top_back_right:
            return SPA_AUDIO_CHANNEL_TRR;
        default:
            return SPA_AUDIO_CHANNEL_UNKNOWN;
    }
}

SpeakerPositions speaker_positions(std::uint16_t channels, std::uint32_t mask) {
    SpeakerPositions out{};
    if (channels == 0 || channels > out.size()) return out;
    mask &= protocol::speaker::all_positions;
    if (std::popcount(mask) != channels) mask = protocol::default_channel_mask(channels);
    if (channels == 1 && mask == protocol::speaker::front_center) {
        out[0] = SPA_AUDIO_CHANNEL_MONO;
        return out;
    }
    for (std::uint16_t c = 0; c < channels; ++c)
        out[c] = spa_position(protocol::speaker_of_channel(mask, c));
    return out;
}

}  // namespace porthole::client::audio
