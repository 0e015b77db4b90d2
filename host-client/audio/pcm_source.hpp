#pragma once
// Where the client's audio comes from: the region's audio channel (a
// porthole-agent) or Scream's IVSHMEM ring. Both give validated float frames;
// the playout engine does not care which.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "porthole/protocol/audio_ring.hpp"
#include "porthole/util/result.hpp"

namespace porthole::client::audio {

struct PcmFormat {
    std::uint32_t rate = 48000;
    std::uint16_t channels = 2;
    std::uint32_t channel_mask = 0;  // protocol::speaker:: bits, one per channel; 0 = default
    // The speakers in use: the mask, or the default layout for the count.
    [[nodiscard]] std::uint32_t speakers() const {
        return channel_mask != 0 ? channel_mask : protocol::default_channel_mask(channels);
    }
    // Same stream layout: a mask of 0 equals the count's default spelled out.
    friend bool operator==(const PcmFormat& a, const PcmFormat& b) {
        return a.rate == b.rate && a.channels == b.channels && a.speakers() == b.speakers();
    }
};

struct PcmRead {
    std::size_t frames = 0;         // frames written to the output
    std::uint64_t lost_frames = 0;  // overwritten before they were read
    bool format_changed = false;    // the stream restarted: ask format() again
};

class PcmSource {
  public:
    virtual ~PcmSource() = default;
    // The current (validated) stream format; nullopt while there is none.
    // An error means the guest wrote something invalid.
    virtual Result<std::optional<PcmFormat>> format() = 0;
    // Frames that can be read now.
    [[nodiscard]] virtual std::uint64_t available() = 0;
    // Reads up to out.size() / channels whole frames as interleaved floats.
    virtual Result<PcmRead> read(std::span<float> out) = 0;
    // Drops all but the newest `keep_frames` (latency reset).
    virtual void skip_to_latest(std::uint64_t keep_frames) = 0;
    // The guest's master volume (0..1) and mute, where the source carries them.
    [[nodiscard]] virtual float volume() const { return 1.0F; }
    [[nodiscard]] virtual bool muted() const { return false; }
};

// The region's audio channel of one agent session. The region must stay
// mapped while the source is in use.
std::unique_ptr<PcmSource> make_region_source(protocol::AudioReader reader);

using protocol::to_float;

}  // namespace porthole::client::audio
