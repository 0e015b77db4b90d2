#pragma once
// Platform-neutral sample conversion for capture backends: what WASAPI (or
// any WAVEFORMATEX-described source) delivers -> the protocol's formats.
// Kept apart from wasapi.cpp so it is unit-tested on Linux and under Wine.

#include <cstddef>
#include <cstdint>
#include <span>

#include "porthole/protocol/audio_ring.hpp"
#include "porthole/util/result.hpp"

namespace porthole::agent::audio {

// How one captured sample is stored.
enum class CaptureSample {
    float32,       // IEEE float, 4 bytes
    int16,         // signed 16-bit
    int24_packed,  // signed 24-bit in 3 bytes (little-endian)
    int24_in_32,   // 24 valid bits left-justified in a 32-bit container
    int32,         // signed 32-bit
};

struct CaptureFormat {
    std::uint32_t rate = 48000;
    std::uint16_t channels = 2;  // as captured (may exceed the protocol's 8)
    CaptureSample sample = CaptureSample::float32;
    std::uint32_t channel_mask = 0;  // dwChannelMask as the source gave it (0: none given)
    [[nodiscard]] std::uint32_t frame_bytes() const;
};

// The fields of a WAVEFORMATEX(TENSIBLE), without Windows headers.
struct WaveFormatFields {
    enum class SubFormat { none, pcm, ieee_float, other };
    std::uint16_t tag = 0;  // 1 PCM, 3 IEEE float, 0xFFFE extensible
    std::uint16_t channels = 0;
    std::uint32_t rate = 0;
    std::uint16_t block_align = 0;
    std::uint16_t bits = 0;
    std::uint16_t valid_bits = 0;  // extensible only (0: same as bits)
    SubFormat sub = SubFormat::none;
    std::uint32_t channel_mask = 0;  // extensible only: dwChannelMask
};

// Reads a wave format; an error names the unsupported field and value.
Result<CaptureFormat> describe_wave_format(const WaveFormatFields& w);

// The speakers of the channels carried, as the protocol's mask: the source's
// dwChannelMask (reserved bits and SPEAKER_ALL dropped) cut to the first
// `carried` channels' positions, or the default layout for `carried` when
// the source gave none or named fewer speakers than it has channels (the
// extra channels have no position then, which the protocol cannot say).
std::uint32_t carried_channel_mask(std::uint32_t source_mask, std::uint16_t source_channels,
                                   std::uint16_t carried);

// The protocol format a capture format is carried in: float stays f32, 16-bit
// stays s16, 24/32-bit become s32; channels beyond 8 are dropped; the
// channel mask is carried_channel_mask's.
protocol::AudioFormat protocol_format_for(const CaptureFormat& in);

// Converts `frames` whole frames from src (in `in`) into dst (in
// protocol_format_for(in)). Returns false when a buffer is too small.
bool convert_frames(const CaptureFormat& in, std::span<const std::byte> src, std::size_t frames,
                    std::span<std::byte> dst);

// An endpoint attenuation in dB (IAudioEndpointVolume::GetMasterVolumeLevel)
// as a linear gain in 0..1: -6.02 dB is 0.5; -inf, NaN or below -150 dB is 0.
float db_to_gain(float db);

}  // namespace porthole::agent::audio
