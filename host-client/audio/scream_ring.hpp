#pragma once
// Scream's IVSHMEM ring (the Scream Windows driver's shared-memory mode), so
// people who run Scream in the guest can switch to Porthole's client without
// touching the guest. Layout, from Scream's receivers (natural C alignment):
//   u32 magic 0x11112014 | u16 write_idx (last chunk written) | u8 offset
//   (of chunk 0 from the start) | u16 max_chunks | u32 chunk_size (bytes) |
//   u8 rate (bit 7: 44100 base else 48000; low bits: multiplier) | u8 bits
//   (16, 24 packed, 32) | u8 channels | u16 channel_mask        = 24 bytes
// The driver has no barriers and no sequence counter: a chunk may be
// rewritten while we copy it, so a copy is trusted only if the writer was
// not near it before and after. Everything is validated (untrusted guest).

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "audio/pcm_source.hpp"

namespace porthole::client::audio {

inline constexpr std::uint32_t kScreamMagic = 0x11112014;
inline constexpr std::size_t kScreamHeaderSize = 24;

// The header fields, decoded (not yet validated).
struct ScreamHeader {
    std::uint32_t magic = 0;
    std::uint16_t write_idx = 0;
    std::uint8_t offset = 0;
    std::uint16_t max_chunks = 0;
    std::uint32_t chunk_size = 0;
    std::uint8_t rate = 0;
    std::uint8_t bits = 0;
    std::uint8_t channels = 0;
    std::uint16_t channel_mask = 0;
    friend bool operator==(const ScreamHeader&, const ScreamHeader&) = default;
};

// Byte layout of the header, shared with test producers.
ScreamHeader decode_scream_header(std::span<const std::byte, kScreamHeaderSize> raw);
void encode_scream_header(const ScreamHeader& h, std::span<std::byte, kScreamHeaderSize> raw);
// Rate in Hz of a Scream rate byte; 0 if the multiplier is 0.
std::uint32_t scream_rate(std::uint8_t rate_byte);
// The speakers of a header's channels (protocol::speaker:: bits): its
// channel_mask, or the default layout for the count when the mask is 0 or
// does not name one speaker per channel, as Scream's own receivers do.
std::uint32_t scream_speakers(const ScreamHeader& h);
// Why a header cannot be used with a ring of region_size bytes ("" if it can).
std::string check_scream_header(const ScreamHeader& h, std::size_t region_size);

// The format a Scream ring announces, as --stats shows it.
struct ScreamFormat {
    std::uint32_t rate = 0;  // Hz
    std::uint16_t channels = 0;
    std::uint8_t bits = 0;
    std::uint16_t channel_mask = 0;  // as the guest wrote it (WAVEFORMATEXTENSIBLE's dwChannelMask)
};
// The ring's format from a copy of its header; nullopt while the header is
// not a valid one (the driver not started yet, or garbage).
std::optional<ScreamFormat> read_scream_format(std::span<const std::byte> region);

// A PcmSource over a Scream ring. The mapping must outlive it.
std::unique_ptr<PcmSource> make_scream_source(std::span<const std::byte> region);

}  // namespace porthole::client::audio
