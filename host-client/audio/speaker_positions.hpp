#pragma once
// Where each channel of the guest's audio goes: the PipeWire positions
// (SPA_AUDIO_CHANNEL_*) a playback stream declares, from the speaker mask
// that travels with the format (WAVEFORMATEXTENSIBLE dwChannelMask bits,
// protocol::speaker::). PipeWire then mixes them to whatever the sink has.

#include <array>
#include <cstdint>

#include "porthole/protocol/region.hpp"

namespace porthole::client::audio {

using SpeakerPositions = std::array<std::uint32_t, protocol::kMaxAudioChannels>;

// The SPA position of one speaker (a protocol::speaker:: bit); UNKNOWN for
// anything else.
std::uint32_t spa_position(std::uint32_t speaker);

// The positions of `channels` (1..8) channels whose speakers `mask` names
// (one bit per channel, in increasing bit order; 0 or a mask that does not
// name one speaker per channel: the count's default layout). One channel at
// the centre is MONO, which PipeWire plays on both speakers of a stereo
// sink. Entries past `channels` are 0.
SpeakerPositions speaker_positions(std::uint16_t channels, std::uint32_t mask);

}  // namespace porthole::client::audio
