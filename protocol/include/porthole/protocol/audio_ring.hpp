#pragma once
// Audio channels: a PCM ring with its format and a monotonic write position.
// The writer never waits; a reader that falls more than a ring behind (or
// whose copy was overwritten while it read) is told so and skips ahead.

#include <cstdint>
#include <optional>
#include <span>

#include "porthole/protocol/region.hpp"
#include "porthole/util/result.hpp"

namespace porthole::protocol {

// Speaker positions as WAVEFORMATEXTENSIBLE's dwChannelMask names them
// (Microsoft ksmedia.h SPEAKER_*), so a Windows mix format's mask travels
// as it is. The channels of a frame are the mask's set bits in increasing
// order (Microsoft: "Multiple channel audio data and WAVE files").
namespace speaker {
inline constexpr std::uint32_t front_left = 0x1;
inline constexpr std::uint32_t front_right = 0x2;
inline constexpr std::uint32_t front_center = 0x4;
inline constexpr std::uint32_t low_frequency = 0x8;
inline constexpr std::uint32_t back_left = 0x10;
inline constexpr std::uint32_t back_right = 0x20;
inline constexpr std::uint32_t front_left_of_center = 0x40;
inline constexpr std::uint32_t front_right_of_center = 0x80;
inline constexpr std::uint32_t back_center = 0x100;
inline constexpr std::uint32_t side_left = 0x200;
inline constexpr std::uint32_t side_right = 0x400;
inline constexpr std::uint32_t top_center = 0x800;
inline constexpr std::uint32_t top_front_left = 0x1000;
inline constexpr std::uint32_t top_front_center = 0x2000;
inline constexpr std::uint32_t top_front_right = 0x4000;
inline constexpr std::uint32_t top_back_left = 0x8000;
inline constexpr std::uint32_t top_back_center = 0x10000;
inline constexpr std::uint32_t top_back_right = 0x20000;
inline constexpr std::uint32_t all_positions = 0x3FFFF;  // the 18 positions above
inline constexpr std::uint32_t kPositionCount = 18;

// Common layouts (ksmedia.h KSAUDIO_SPEAKER_*, where it names one).
inline constexpr std::uint32_t mono = front_center;                // KSAUDIO_SPEAKER_MONO
inline constexpr std::uint32_t stereo = front_left | front_right;  // KSAUDIO_SPEAKER_STEREO
inline constexpr std::uint32_t layout_2_1 = stereo | low_frequency;
inline constexpr std::uint32_t quad = stereo | back_left | back_right;  // KSAUDIO_SPEAKER_QUAD
inline constexpr std::uint32_t layout_5_1_back =
    quad | front_center | low_frequency;  // KSAUDIO_SPEAKER_5POINT1
inline constexpr std::uint32_t layout_5_1_side = stereo | front_center | low_frequency | side_left |
                                                 side_right;  // KSAUDIO_SPEAKER_5POINT1_SURROUND
inline constexpr std::uint32_t layout_7_1 =
    layout_5_1_back | side_left | side_right;  // KSAUDIO_SPEAKER_7POINT1_SURROUND
}  // namespace speaker

// The layout a channel count means when no mask is given (mask 0): Windows'
// own for 1, 2, 4, 6 and 8 channels (mono, stereo, quad, 5.1, 7.1), the
// first positions in WAVE order for 3, 5 and 7 (as PulseAudio's WAVEEX map).
std::uint32_t default_channel_mask(std::uint16_t channels);

// The speaker (one mask bit) of channel `index` under `mask`; 0 if none.
std::uint32_t speaker_of_channel(std::uint32_t mask, std::uint16_t index);

struct AudioFormat {
    std::uint32_t rate = 48000;
    std::uint16_t channels = 2;
    SampleFormat sample = SampleFormat::f32;
    std::uint32_t channel_mask = 0;  // speaker:: bits, one per channel; 0 = default for the count
    [[nodiscard]] std::uint32_t frame_bytes() const { return channels * bytes_per_sample(sample); }
    // The mask in use: channel_mask, or the default layout for the count.
    [[nodiscard]] std::uint32_t speakers() const {
        return channel_mask != 0 ? channel_mask : default_channel_mask(channels);
    }
    // Same stream: a mask of 0 equals the count's default layout spelled out.
    friend bool operator==(const AudioFormat& a, const AudioFormat& b) {
        return a.rate == b.rate && a.channels == b.channels && a.sample == b.sample &&
               a.speakers() == b.speakers();
    }
};
// Rate, channel count, sample format and channel mask (0, or exactly one
// known position per channel).
Status validate_audio_format(const AudioFormat& f);

// Converts protocol samples to floats in -1..1 (as many as both spans hold):
// what the host plays and the agent's self-test measures. A guest's f32 NaN
// becomes 0 and values past full scale are clamped, to keep the speakers safe.
void to_float(SampleFormat format, std::span<const std::byte> in, std::span<float> out);

class AudioWriter {  // agent side (audio_out)
  public:
    static Result<AudioWriter> create(std::span<std::byte> channel);
    // Starts a stream in this format; the position restarts at 0.
    Status set_format(const AudioFormat& f);
    // Appends whole frames (bytes a multiple of the frame size). Never blocks.
    Status write(std::span<const std::byte> frames, std::uint64_t now_ns);
    void set_volume(float gain, bool muted);
    [[nodiscard]] std::uint64_t position() const { return pos_; }
    [[nodiscard]] std::uint64_t capacity_frames() const;

  private:
    explicit AudioWriter(std::span<std::byte> channel, std::uint64_t data_offset,
                         std::uint64_t data_size)
        : channel_(channel), data_offset_(data_offset), data_size_(data_size) {}
    std::span<std::byte> channel_;
    std::uint64_t data_offset_;
    std::uint64_t data_size_;
    AudioFormat format_{};
    bool has_format_ = false;
    std::uint64_t pos_ = 0;
};

struct AudioRead {
    std::size_t frames = 0;         // frames copied into the buffer
    std::uint64_t lost_frames = 0;  // frames overwritten before they were read (overrun)
    bool format_changed = false;    // stream restarted: call format() and start over
};

class AudioReader {  // host side
  public:
    static Result<AudioReader> attach(std::span<const std::byte> channel);
    // The current stream format (validated), if the guest has set one.
    Result<std::optional<AudioFormat>> format();
    // Frames available to read now.
    [[nodiscard]] std::uint64_t available() const;
    // Copies up to out.size() bytes' worth of whole frames.
    Result<AudioRead> read(std::span<std::byte> out);
    // Skips to `keep` frames behind the writer (latency reset).
    void skip_to_latest(std::uint64_t keep_frames = 0);
    [[nodiscard]] std::uint64_t read_position() const { return pos_; }
    [[nodiscard]] std::uint64_t write_position() const;
    [[nodiscard]] float volume() const;
    [[nodiscard]] bool muted() const;
    [[nodiscard]] std::uint64_t capacity_frames() const;

  private:
    AudioReader(std::span<const std::byte> channel, std::uint64_t data_offset,
                std::uint64_t data_size)
        : channel_(channel), data_offset_(data_offset), data_size_(data_size) {}
    std::span<const std::byte> channel_;
    std::uint64_t data_offset_;
    std::uint64_t data_size_;
    std::uint64_t format_seq_ = 0;
    std::optional<AudioFormat> format_;
    std::uint64_t pos_ = 0;
};

}  // namespace porthole::protocol
