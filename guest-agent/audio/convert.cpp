#include "audio/convert.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <string>

namespace porthole::agent::audio {
namespace {

std::uint32_t sample_bytes(CaptureSample s) {
    switch (s) {
        case CaptureSample::int16:
            return 2;
        case CaptureSample::int24_packed:
            return 3;
        case CaptureSample::float32:
        case CaptureSample::int24_in_32:
        case CaptureSample::int32:
            return 4;
    }
    return 0;
}

Error unsupported(const std::string& what) {
    return Error::make("unsupported capture format: " + what +
                       " (supported: float32, PCM 16/24/32-bit)");
}

}  // namespace

std::uint32_t CaptureFormat::frame_bytes() const {
    return sample_bytes(sample) * channels;
}

Result<CaptureFormat> describe_wave_format(const WaveFormatFields& w) {
    constexpr std::uint16_t kPcm = 1, kFloat = 3, kExtensible = 0xFFFE;
    if (w.channels == 0) return unsupported("0 channels");
    if (w.rate < 8000 || w.rate > 384000) return unsupported("rate " + std::to_string(w.rate));
    bool is_float = false;
    if (w.tag == kFloat) {
        is_float = true;
    } else if (w.tag == kExtensible) {
        if (w.sub == WaveFormatFields::SubFormat::ieee_float)
            is_float = true;
        else if (w.sub != WaveFormatFields::SubFormat::pcm)
            return unsupported("extensible sub-format");
    } else if (w.tag != kPcm) {
        return unsupported("format tag " + std::to_string(w.tag));
    }
    const std::uint16_t valid = w.valid_bits != 0 ? w.valid_bits : w.bits;
    CaptureFormat f;
    f.rate = w.rate;
    f.channels = w.channels;
    // A plain WAVEFORMATEX has no mask: the count's default layout applies.
    f.channel_mask = w.tag == kExtensible ? w.channel_mask : 0;
    if (is_float) {
        if (w.bits != 32) return unsupported(std::to_string(w.bits) + "-bit float");
        f.sample = CaptureSample::float32;
    } else if (w.bits == 16 && valid == 16) {
        f.sample = CaptureSample::int16;
    } else if (w.bits == 24 && valid == 24) {
        f.sample = CaptureSample::int24_packed;
    } else if (w.bits == 32 && valid == 32) {
        f.sample = CaptureSample::int32;
    } else if (w.bits == 32 && valid == 24) {
        f.sample = CaptureSample::int24_in_32;
    } else {
        return unsupported(std::to_string(w.bits) + "-bit PCM with " + std::to_string(valid) +
                           " valid bits");
    }
    if (w.block_align != 0 && w.block_align != f.frame_bytes()) {
        return unsupported("block align " + std::to_string(w.block_align) + " for " +
                           std::to_string(w.channels) + " channels of " + std::to_string(w.bits) +
                           " bits");
    }
    return f;
}

std::uint32_t carried_channel_mask(std::uint32_t source_mask, std::uint16_t source_channels,
                                   std::uint16_t carried) {
    std::uint32_t mask = source_mask & protocol::speaker::all_positions;
    if (std::popcount(mask) < static_cast<int>(source_channels))
        return protocol::default_channel_mask(carried);
    // More speakers than channels: the channels take the lowest ones.
    std::uint32_t out = 0;
    for (std::uint16_t c = 0; c < carried; ++c)
        out |= protocol::speaker_of_channel(mask, c);
    return out;
}

protocol::AudioFormat protocol_format_for(const CaptureFormat& in) {
    protocol::AudioFormat out;
    out.rate = in.rate;
    out.channels = static_cast<std::uint16_t>(
        std::min<std::uint32_t>(in.channels, protocol::kMaxAudioChannels));
    out.channel_mask = carried_channel_mask(in.channel_mask, in.channels, out.channels);
    switch (in.sample) {
        case CaptureSample::float32:
            out.sample = protocol::SampleFormat::f32;
            break;
        case CaptureSample::int16:
            out.sample = protocol::SampleFormat::s16;
            break;
        case CaptureSample::int24_packed:
        case CaptureSample::int24_in_32:
        case CaptureSample::int32:
            out.sample = protocol::SampleFormat::s32;
            break;
    }
    return out;
}

bool convert_frames(const CaptureFormat& in, std::span<const std::byte> src, std::size_t frames,
                    std::span<std::byte> dst) {
    const protocol::AudioFormat out = protocol_format_for(in);
    const std::size_t in_fb = in.frame_bytes();
    const std::size_t out_fb = out.frame_bytes();
    if (src.size() / in_fb < frames || dst.size() / out_fb < frames) return false;
    const std::size_t in_sb = sample_bytes(in.sample);
    const std::size_t out_sb = bytes_per_sample(out.sample);
    const bool same_layout = in.sample != CaptureSample::int24_packed &&
                             in.sample != CaptureSample::int24_in_32 && in_fb == out_fb;
    if (same_layout) {  // float32, int16, int32 with <= 8 channels: a plain copy
        std::memcpy(dst.data(), src.data(), frames * in_fb);
        return true;
    }
    for (std::size_t f = 0; f < frames; ++f) {
        const std::byte* s = src.data() + f * in_fb;
        std::byte* d = dst.data() + f * out_fb;
        for (std::size_t c = 0; c < out.channels; ++c) {
            const std::byte* sp = s + c * in_sb;
            std::byte* dp = d + c * out_sb;
            if (in.sample == CaptureSample::int24_packed) {
                // Little-endian 3 bytes into the top of an s32: the sign comes along.
                const std::uint32_t v = (std::to_integer<std::uint32_t>(sp[0]) << 8) |
                                        (std::to_integer<std::uint32_t>(sp[1]) << 16) |
                                        (std::to_integer<std::uint32_t>(sp[2]) << 24);
                std::memcpy(dp, &v, 4);
            } else if (in.sample == CaptureSample::int24_in_32) {
                std::uint32_t v = 0;
                std::memcpy(&v, sp, 4);
                v &= 0xFFFFFF00U;  // the padding bits are undefined; drop them
                std::memcpy(dp, &v, 4);
            } else {
                std::memcpy(dp, sp, out_sb);
            }
        }
    }
    return true;
}

float db_to_gain(float db) {
    if (!(db > -150.0F)) return 0.0F;
    return std::min(1.0F, std::pow(10.0F, db / 20.0F));
}

}  // namespace porthole::agent::audio
