#include "audio/scream_ring.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstring>
#include <vector>

#include "porthole/protocol/shared_memory.hpp"

namespace porthole::client::audio {
namespace {

template <class T>
T get(std::span<const std::byte, kScreamHeaderSize> raw, std::size_t at) {
    T v{};
    std::memcpy(&v, raw.data() + at, sizeof v);
    return v;
}
template <class T>
void put(std::span<std::byte, kScreamHeaderSize> raw, std::size_t at, T v) {
    std::memcpy(raw.data() + at, &v, sizeof v);
}

class ScreamSource final : public PcmSource {
  public:
    explicit ScreamSource(std::span<const std::byte> region) : region_(region) {}

    Result<std::optional<PcmFormat>> format() override {
        const ScreamHeader h = header();
        if (h.magic != kScreamMagic) {  // driver not started (yet): wait
            valid_ = false;
            return std::optional<PcmFormat>{};
        }
        // The same bad header every period (the driver stuck, or not Scream's
        // device at all): reported once, then "no format" without building
        // the message again (this runs in the real-time callback).
        if (rejected_ && same_format(h, rejected_h_) &&
            (h.write_idx >= h.max_chunks) == (rejected_h_.write_idx >= rejected_h_.max_chunks)) {
            valid_ = false;
            return std::optional<PcmFormat>{};
        }
        if (auto why = check_scream_header(h, region_.size()); !why.empty()) {
            valid_ = false;
            rejected_ = true;
            rejected_h_ = h;
            return Error::make("Scream ring: " + why +
                               "; is --scream-shm the Scream IVSHMEM device?");
        }
        rejected_ = false;
        if (!valid_ || !same_format(h, current_)) restart(h);
        return std::optional<PcmFormat>{
            PcmFormat{scream_rate(h.rate), h.channels, scream_speakers(h)}};
    }

    std::uint64_t available() override {
        if (!valid_) return 0;
        const ScreamHeader h = header();
        if (!same_format(h, current_) || h.write_idx >= h.max_chunks) return 0;
        track_writer(h.write_idx);
        return pending_frames() + (written_ - read_) * chunk_frames();
    }

    Result<PcmRead> read(std::span<float> out) override {
        PcmRead r;
        if (!valid_) {
            r.format_changed = true;
            return r;
        }
        const std::size_t want = out.size() / current_.channels;
        while (r.frames < want) {
            if (pending_frames() == 0) {
                const ScreamHeader h = header();
                if (!same_format(h, current_) || h.write_idx >= h.max_chunks) {
                    valid_ = false;
                    r.format_changed = true;
                    return r;
                }
                track_writer(h.write_idx);
                // Keep two chunks of margin: the one the driver writes next may
                // be in progress, and it publishes write_idx only afterwards.
                const std::uint64_t n = current_.max_chunks;
                if (written_ - read_ > n - 2) {
                    r.lost_frames += (written_ - read_ - (n - 2)) * chunk_frames();
                    read_ = written_ - (n - 2);
                }
                if (read_ == written_) break;
                if (!copy_chunk(read_ + 1, r)) continue;
                ++read_;
            }
            const std::size_t n = std::min(want - r.frames, pending_frames());
            std::copy_n(
                chunk_.begin() + static_cast<std::ptrdiff_t>(chunk_pos_ * current_.channels),
                n * current_.channels,
                out.begin() + static_cast<std::ptrdiff_t>(r.frames * current_.channels));
            chunk_pos_ += n;
            r.frames += n;
        }
        return r;
    }

    void skip_to_latest(std::uint64_t keep_frames) override {
        if (!valid_) return;
        const ScreamHeader h = header();
        if (h.write_idx < h.max_chunks) track_writer(h.write_idx);
        const std::uint64_t cf = chunk_frames();
        const std::uint64_t chunks =
            std::min<std::uint64_t>((keep_frames + cf - 1) / cf, current_.max_chunks - 2u);
        read_ = written_ >= chunks ? written_ - chunks : 0;
        chunk_.clear();
        chunk_pos_ = 0;
        drop_ = chunks * cf > keep_frames ? chunks * cf - keep_frames : 0;
    }

  private:
    static bool same_format(const ScreamHeader& a, const ScreamHeader& b) {
        return a.magic == b.magic && a.offset == b.offset && a.max_chunks == b.max_chunks &&
               a.chunk_size == b.chunk_size && a.rate == b.rate && a.bits == b.bits &&
               a.channels == b.channels && a.channel_mask == b.channel_mask;
    }
    ScreamHeader header() const {
        std::array<std::byte, kScreamHeaderSize> raw{};
        if (region_.size() >= kScreamHeaderSize)
            protocol::copy_racy(raw.data(), region_.data(), raw.size());
        std::atomic_thread_fence(std::memory_order_acquire);
        return decode_scream_header(raw);
    }
    void restart(const ScreamHeader& h) {
        current_ = h;
        valid_ = true;
        last_idx_ = h.write_idx;
        start_idx_ = h.write_idx;  // chunk number s lives in slot (start_idx_ + s) % max_chunks
        written_ = read_ = 0;      // start at the newest chunk, as Scream's own receivers do
        chunk_.clear();
        chunk_pos_ = 0;
        drop_ = 0;
    }
    std::uint64_t chunk_frames() const {
        return current_.chunk_size / (current_.bits / 8U * current_.channels);
    }
    std::uint64_t pending_frames() const { return chunk_.size() / current_.channels - chunk_pos_; }
    // Extends the 16-bit chunk index to a 64-bit count. A ring lapped between
    // two looks is not visible: the overrun check then catches the jump.
    void track_writer(std::uint16_t idx) {
        const std::uint64_t n = current_.max_chunks;
        written_ += (idx + n - last_idx_) % n;
        last_idx_ = idx;
    }
    // Copies and converts chunk number `seq` (a written_ count); false if the
    // writer came near it meanwhile (the copy is dropped as lost).
    bool copy_chunk(std::uint64_t seq, PcmRead& r) {
        const std::uint64_t n = current_.max_chunks;
        const auto slot = static_cast<std::size_t>((start_idx_ + seq) % n);
        const std::size_t pos = current_.offset + slot * current_.chunk_size;
        raw_.resize(current_.chunk_size);
        protocol::copy_racy(raw_.data(), region_.data() + pos, raw_.size());
        std::atomic_thread_fence(std::memory_order_acquire);
        const ScreamHeader after = header();
        if (after.write_idx < after.max_chunks && same_format(after, current_))
            track_writer(after.write_idx);
        if (written_ - seq > n - 2) {  // lapped while we copied
            r.lost_frames += chunk_frames();
            read_ = seq;
            return false;
        }
        decode(raw_);
        return true;
    }
    void decode(std::span<const std::byte> raw) {
        const std::size_t samples = raw.size() / (current_.bits / 8U);
        chunk_.resize(samples);
        for (std::size_t i = 0; i < samples; ++i) {
            switch (current_.bits) {
                case 16: {
                    std::int16_t v = 0;
                    std::memcpy(&v, raw.data() + i * 2, 2);
                    chunk_[i] = static_cast<float>(v) * (1.0F / 32768.0F);
                    break;
                }
                case 24: {
                    const std::byte* p = raw.data() + i * 3;
                    const auto u = (std::to_integer<std::uint32_t>(p[0]) << 8) |
                                   (std::to_integer<std::uint32_t>(p[1]) << 16) |
                                   (std::to_integer<std::uint32_t>(p[2]) << 24);
                    chunk_[i] = static_cast<float>(
                        static_cast<double>(static_cast<std::int32_t>(u)) * (1.0 / 2147483648.0));
                    break;
                }
                default: {
                    std::int32_t v = 0;
                    std::memcpy(&v, raw.data() + i * 4, 4);
                    chunk_[i] = static_cast<float>(static_cast<double>(v) * (1.0 / 2147483648.0));
                    break;
                }
            }
        }
        chunk_pos_ = 0;
        if (drop_ > 0) {
            const std::uint64_t d = std::min<std::uint64_t>(drop_, pending_frames());
            chunk_pos_ = d;
            drop_ -= d;
        }
    }

    std::span<const std::byte> region_;
    ScreamHeader current_{};
    bool rejected_ = false;  // rejected_h_ was reported as bad
    ScreamHeader rejected_h_{};
    bool valid_ = false;
    std::uint16_t last_idx_ = 0;
    std::uint64_t start_idx_ = 0;
    std::uint64_t written_ = 0;  // chunks published since restart
    std::uint64_t read_ = 0;     // chunks consumed since restart
    std::vector<std::byte> raw_;
    std::vector<float> chunk_;
    std::uint64_t chunk_pos_ = 0;  // frames of chunk_ already read
    std::uint64_t drop_ = 0;       // frames to drop from the next chunk (skip_to_latest)
};

}  // namespace

ScreamHeader decode_scream_header(std::span<const std::byte, kScreamHeaderSize> raw) {
    ScreamHeader h;
    h.magic = get<std::uint32_t>(raw, 0);
    h.write_idx = get<std::uint16_t>(raw, 4);
    h.offset = get<std::uint8_t>(raw, 6);
    h.max_chunks = get<std::uint16_t>(raw, 8);
    h.chunk_size = get<std::uint32_t>(raw, 12);
    h.rate = get<std::uint8_t>(raw, 16);
    h.bits = get<std::uint8_t>(raw, 17);
    h.channels = get<std::uint8_t>(raw, 18);
    h.channel_mask = get<std::uint16_t>(raw, 20);
    return h;
}

void encode_scream_header(const ScreamHeader& h, std::span<std::byte, kScreamHeaderSize> raw) {
    std::fill(raw.begin(), raw.end(), std::byte{0});
    put(raw, 0, h.magic);
    put(raw, 4, h.write_idx);
    put(raw, 6, h.offset);
    put(raw, 8, h.max_chunks);
    put(raw, 12, h.chunk_size);
    put(raw, 16, h.rate);
    put(raw, 17, h.bits);
    put(raw, 18, h.channels);
    put(raw, 20, h.channel_mask);
}

std::uint32_t scream_rate(std::uint8_t rate_byte) {
    const std::uint32_t base = (rate_byte & 0x80U) != 0 ? 44100 : 48000;
    return base * (rate_byte & 0x7FU);
}

std::uint32_t scream_speakers(const ScreamHeader& h) {
    if (std::popcount(h.channel_mask) == h.channels) return h.channel_mask;
    return protocol::default_channel_mask(h.channels);
}

std::string check_scream_header(const ScreamHeader& h, std::size_t region_size) {
    if (h.magic != kScreamMagic) return "no Scream magic";
    const std::uint32_t rate = scream_rate(h.rate);
    if (rate == 0 || rate > 384000)
        return "sample rate byte " + std::to_string(h.rate) + " out of range";
    if (h.bits != 16 && h.bits != 24 && h.bits != 32)
        return std::to_string(h.bits) + "-bit samples";
    if (h.channels == 0 || h.channels > protocol::kMaxAudioChannels) {
        return std::to_string(h.channels) + " channels (1..8 supported)";
    }
    if (h.offset < kScreamHeaderSize) return "chunk offset inside the header";
    if (h.max_chunks < 4) return std::to_string(h.max_chunks) + " chunks (at least 4 needed)";
    const std::uint32_t frame = h.bits / 8U * h.channels;
    if (h.chunk_size == 0 || h.chunk_size % frame != 0)
        return "chunk size " + std::to_string(h.chunk_size) + " is not whole frames";
    if (h.chunk_size > 1U << 20)
        return "chunk size " + std::to_string(h.chunk_size) + " over 1 MiB";
    if (h.write_idx >= h.max_chunks) return "write index past the last chunk";
    const std::uint64_t end = std::uint64_t{h.offset} + std::uint64_t{h.max_chunks} * h.chunk_size;
    if (end > region_size)
        return "ring of " + std::to_string(end) + " bytes exceeds the " +
               std::to_string(region_size) + "-byte region";
    return {};
}

std::unique_ptr<PcmSource> make_scream_source(std::span<const std::byte> region) {
    return std::make_unique<ScreamSource>(region);
}

std::optional<ScreamFormat> read_scream_format(std::span<const std::byte> region) {
    if (region.size() < kScreamHeaderSize) return std::nullopt;
    // One copy: the guest may be rewriting the header meanwhile.
    std::array<std::byte, kScreamHeaderSize> raw{};
    std::memcpy(raw.data(), region.data(), raw.size());
    const ScreamHeader h = decode_scream_header(raw);
    if (!check_scream_header(h, region.size()).empty()) return std::nullopt;
    return ScreamFormat{scream_rate(h.rate), h.channels, h.bits, h.channel_mask};
}

}  // namespace porthole::client::audio
