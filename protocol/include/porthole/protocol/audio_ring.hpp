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

struct AudioFormat {
    std::uint32_t rate = 48000;
    std::uint16_t channels = 2;
    SampleFormat sample = SampleFormat::f32;
    [[nodiscard]] std::uint32_t frame_bytes() const { return channels * bytes_per_sample(sample); }
    friend bool operator==(const AudioFormat&, const AudioFormat&) = default;
};
Status validate_audio_format(const AudioFormat& f);

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
