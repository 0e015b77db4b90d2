#include "porthole/protocol/audio_ring.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

#include "porthole/protocol/layout.hpp"
#include "porthole/protocol/shared_memory.hpp"

namespace porthole::protocol {
namespace {

Error channel_error(std::string msg) {
    return Error::make(std::move(msg), static_cast<int>(RegionError::bad_channel_header));
}
constexpr std::uint64_t kDataOffset = kPageSize;

std::string hex(std::uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%X", v);
    return buf;
}

const AudioRingHeader& header(std::span<const std::byte> c) {
    return *reinterpret_cast<const AudioRingHeader*>(c.data());
}

}  // namespace

std::uint32_t default_channel_mask(std::uint16_t channels) {
    switch (channels) {
        case 1:
            return speaker::mono;
        case 2:
            return speaker::stereo;
        case 4:
            return speaker::quad;
        case 6:
            return speaker::layout_5_1_back;
        case 8:
            return speaker::layout_7_1;
        default:  // 3, 5, 7: the first positions; beyond 18 there is no layout
            return channels <= speaker::kPositionCount ? (1U << channels) - 1U : 0;
    }
}

std::uint32_t speaker_of_channel(std::uint32_t mask, std::uint16_t index) {
    for (std::uint16_t i = 0; mask != 0; ++i) {
        const std::uint32_t bit = mask & (~mask + 1U);  // lowest set bit
        if (i == index) return bit;
        mask &= mask - 1U;
    }
    return 0;
}

Status validate_audio_format(const AudioFormat& f) {
    if (f.rate < 8000 || f.rate > 384000)
        return channel_error("audio rate " + std::to_string(f.rate) + " out of range");
    if (f.channels == 0 || f.channels > kMaxAudioChannels)
        return channel_error("audio channel count out of range");
    if (bytes_per_sample(f.sample) == 0) return channel_error("unknown audio sample format");
    if ((f.channel_mask & ~speaker::all_positions) != 0) {
        return channel_error(
            "audio channel mask " + hex(f.channel_mask) +
            " names unknown speaker positions (known: " + hex(speaker::all_positions) + ")");
    }
    if (f.channel_mask != 0 &&
        static_cast<std::uint32_t>(std::popcount(f.channel_mask)) != f.channels) {
        return channel_error("audio channel mask " + hex(f.channel_mask) + " names " +
                             std::to_string(std::popcount(f.channel_mask)) + " speakers for " +
                             std::to_string(f.channels) +
                             " channels (one speaker per channel, or 0 for the default layout)");
    }
    return {};
}

// ---- writer (agent)

Result<AudioWriter> AudioWriter::create(std::span<std::byte> channel) {
    if (channel.size() < kDataOffset + kPageSize) return channel_error("audio channel too small");
    AudioRingHeader h{};
    h.data_offset = kDataOffset;
    // A whole number of the largest frames, so a frame never wraps mid-way.
    const std::uint64_t max_frame = std::uint64_t{kMaxAudioChannels} * 4;
    h.data_size = (channel.size() - kDataOffset) / max_frame * max_frame;
    h.volume = 65536;
    copy_in(*reinterpret_cast<AudioRingHeader*>(channel.data()), h);
    return AudioWriter(channel, h.data_offset, h.data_size);
}

std::uint64_t AudioWriter::capacity_frames() const {
    return has_format_ ? data_size_ / format_.frame_bytes() : 0;
}

Status AudioWriter::set_format(const AudioFormat& f) {
    if (auto ok = validate_audio_format(f); !ok) return ok;
    auto& h = *reinterpret_cast<AudioRingHeader*>(channel_.data());
    seqlock_begin_write(h.format_seq);
    AudioRingHeader v = copy_out(h);
    v.rate = f.rate;
    v.channels = f.channels;
    v.sample_format = static_cast<std::uint16_t>(f.sample);
    v.channel_mask = f.channel_mask;
    v.write_pos = 0;
    copy_in(h, v);
    seqlock_end_write(h.format_seq);
    format_ = f;
    has_format_ = true;
    pos_ = 0;
    return {};
}

Status AudioWriter::write(std::span<const std::byte> frames, std::uint64_t now_ns) {
    if (!has_format_) return Error::make("audio written before its format was set");
    const std::uint32_t fb = format_.frame_bytes();
    if (frames.size() % fb != 0) return Error::make("audio write is not whole frames");
    auto& h = *reinterpret_cast<AudioRingHeader*>(channel_.data());
    std::byte* data = channel_.data() + data_offset_;
    const std::uint64_t cap_bytes = capacity_frames() * fb;
    // Publish in chunks of at most a quarter ring: a reader trusts only the
    // frames more than a quarter ring behind the published position.
    const std::uint64_t chunk_bytes = std::max<std::uint64_t>(capacity_frames() / 4, 1) * fb;
    std::span<const std::byte> src = frames;
    std::uint64_t pos = pos_;
    while (!src.empty()) {
        const std::uint64_t at = (pos % capacity_frames()) * fb;
        const std::size_t n = std::min<std::size_t>({src.size(), cap_bytes - at, chunk_bytes});
        copy_racy(data + at, src.data(), n);
        src = src.subspan(n);
        pos += n / fb;
        store_relaxed(h.write_time_ns, now_ns);
        store_release(h.write_pos, pos);
    }
    pos_ = pos;
    return {};
}

void AudioWriter::set_volume(float gain, bool muted) {
    auto& h = *reinterpret_cast<AudioRingHeader*>(channel_.data());
    const auto vol =
        static_cast<std::uint64_t>(std::lround(std::clamp(gain, 0.0F, 1.0F) * 65536.0F));
    // volume and muted share one 64-bit word.
    auto* word = reinterpret_cast<std::uint64_t*>(&h.volume);
    store_relaxed(*word, vol | (std::uint64_t{muted ? 1U : 0U} << 32));
}

// ---- reader (host)

Result<AudioReader> AudioReader::attach(std::span<const std::byte> channel) {
    if (channel.size() < kDataOffset) return channel_error("audio channel too small");
    const AudioRingHeader h = copy_out(header(channel));
    if (h.data_offset < sizeof(AudioRingHeader) || h.data_offset % 8 != 0 ||
        h.data_offset > channel.size() || h.data_size == 0 ||
        h.data_size > channel.size() - h.data_offset ||
        h.data_size % (std::uint64_t{kMaxAudioChannels} * 4) != 0) {
        return channel_error("audio ring header does not fit its channel");
    }
    return AudioReader(channel, h.data_offset, h.data_size);
}

Result<std::optional<AudioFormat>> AudioReader::format() {
    const auto& h = header(channel_);
    const std::uint64_t begin = seqlock_read_begin(h.format_seq);
    if ((begin & 1U) != 0 || begin == 0) return std::optional<AudioFormat>{};
    const AudioRingHeader v = copy_out(h);
    if (!seqlock_read_valid(h.format_seq, begin)) return std::optional<AudioFormat>{};
    AudioFormat f{v.rate, v.channels, static_cast<SampleFormat>(v.sample_format), v.channel_mask};
    if (auto ok = validate_audio_format(f); !ok) return ok.error();
    if (begin != format_seq_) {
        format_seq_ = begin;
        format_ = f;
        pos_ = load_acquire(h.write_pos);
    }
    return std::optional<AudioFormat>{f};
}

std::uint64_t AudioReader::capacity_frames() const {
    return format_ ? data_size_ / format_->frame_bytes() : 0;
}

std::uint64_t AudioReader::write_position() const {
    return load_acquire(header(channel_).write_pos);
}

std::uint64_t AudioReader::available() const {
    const std::uint64_t w = write_position();
    const std::uint64_t ring = capacity_frames();
    return w > pos_ ? std::min(w - pos_, ring - ring / 4) : 0;
}

void AudioReader::skip_to_latest(std::uint64_t keep_frames) {
    const std::uint64_t w = write_position();
    pos_ = w > keep_frames ? w - keep_frames : 0;
}

float AudioReader::volume() const {
    const auto* word = reinterpret_cast<const std::uint64_t*>(&header(channel_).volume);
    const auto v = static_cast<std::uint32_t>(load_relaxed(*word) & 0xFFFFFFFFU);
    return static_cast<float>(std::min<std::uint32_t>(v, 65536)) / 65536.0F;
}

bool AudioReader::muted() const {
    const auto* word = reinterpret_cast<const std::uint64_t*>(&header(channel_).volume);
    return (load_relaxed(*word) >> 32) != 0;
}

Result<AudioRead> AudioReader::read(std::span<std::byte> out) {
    AudioRead r;
    const auto& h = header(channel_);
    if (load_acquire(h.format_seq) != format_seq_ || !format_) {
        r.format_changed = true;
        return r;
    }
    const std::uint32_t fb = format_->frame_bytes();
    // The newest quarter ring may be mid-write (see AudioWriter::write).
    const std::uint64_t ring = capacity_frames();
    const std::uint64_t cap = ring - ring / 4;
    const std::uint64_t w = load_acquire(h.write_pos);
    if (w < pos_) {  // writer restarted its stream without a format change: follow it
        pos_ = w;
        r.format_changed = true;
        return r;
    }
    if (w - pos_ > cap) {
        r.lost_frames = w - pos_ - cap;
        pos_ = w - cap;
    }
    const std::uint64_t n = std::min<std::uint64_t>(w - pos_, out.size() / fb);
    const std::byte* data = channel_.data() + data_offset_;
    std::uint64_t done = 0;
    while (done < n) {
        const std::uint64_t at = (pos_ + done) % ring;
        const std::uint64_t chunk = std::min(n - done, ring - at);
        copy_racy(out.data() + done * fb, data + at * fb, chunk * fb);
        done += chunk;
    }
    // Frames the writer may have overwritten while we copied are discarded.
    const std::uint64_t w2 = load_acquire(h.write_pos);
    if (w2 > pos_ + cap) {
        const std::uint64_t overwritten = std::min(n, w2 - (pos_ + cap));
        r.lost_frames += overwritten;
        // Keep only the tail that is still intact.
        const std::uint64_t keep = n - overwritten;
        std::memmove(out.data(), out.data() + overwritten * fb, keep * fb);
        pos_ += n;
        r.frames = keep;
        return r;
    }
    pos_ += n;
    r.frames = n;
    return r;
}

void to_float(SampleFormat format, std::span<const std::byte> in, std::span<float> out) {
    const std::size_t n = std::min(out.size(), in.size() / bytes_per_sample(format));
    if (n == 0) return;  // memcpy's pointers may not be null, even for no bytes
    switch (format) {
        case SampleFormat::f32:
            std::memcpy(out.data(), in.data(), n * 4);
            for (std::size_t i = 0; i < n; ++i) {
                const float v = out[i];
                out[i] = v == v ? std::clamp(v, -1.0F, 1.0F) : 0.0F;
            }
            break;
        case SampleFormat::s16:
            for (std::size_t i = 0; i < n; ++i) {
                std::int16_t v = 0;
                std::memcpy(&v, in.data() + i * 2, 2);
                out[i] = static_cast<float>(v) * (1.0F / 32768.0F);
            }
            break;
        case SampleFormat::s32:
            for (std::size_t i = 0; i < n; ++i) {
                std::int32_t v = 0;
                std::memcpy(&v, in.data() + i * 4, 4);
                out[i] = static_cast<float>(static_cast<double>(v) * (1.0 / 2147483648.0));
            }
            break;
    }
}

}  // namespace porthole::protocol
