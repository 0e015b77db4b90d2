#pragma once
// A stand-in for Scream's Windows driver in shared-memory mode: writes
// 20 ms chunks into a ring with the driver's header, publishing write_idx
// after each chunk (no barriers, as the driver does). Tests only.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "audio/scream_ring.hpp"

namespace porthole::test {

class ScreamTestWriter {
  public:
    // bits: 16, 24 or 32; rate_byte as Scream encodes it (1 = 48 kHz, 0x81 = 44.1 kHz).
    ScreamTestWriter(std::span<std::byte> region, std::uint8_t rate_byte, std::uint8_t bits,
                     std::uint8_t channels, std::uint16_t max_chunks = 15, std::uint8_t offset = 64)
        : region_(region) {
        h_.magic = client::audio::kScreamMagic;
        h_.offset = offset;
        h_.max_chunks = max_chunks;
        h_.rate = rate_byte;
        h_.bits = bits;
        h_.channels = channels;
        h_.channel_mask = channels == 1 ? 0x4 : 0x3;
        h_.chunk_size =
            client::audio::scream_rate(rate_byte) / 50 * (bits / 8U) * channels;  // 20 ms
        h_.write_idx = 0;
        publish();
    }
    [[nodiscard]] std::uint32_t chunk_frames() const {
        return h_.chunk_size / (h_.bits / 8U * h_.channels);
    }
    [[nodiscard]] std::uint32_t rate() const { return client::audio::scream_rate(h_.rate); }
    [[nodiscard]] const client::audio::ScreamHeader& header() const { return h_; }
    // Writes one chunk of floats (chunk_frames() * channels samples), converted to the ring's bits.
    void write_chunk(std::span<const float> samples) {
        const std::uint16_t next = static_cast<std::uint16_t>((h_.write_idx + 1) % h_.max_chunks);
        std::byte* dst = region_.data() + h_.offset + std::size_t{next} * h_.chunk_size;
        const std::size_t bps = h_.bits / 8U;
        const std::size_t n = std::min<std::size_t>(samples.size(), h_.chunk_size / bps);
        for (std::size_t i = 0; i < n; ++i) {
            const double v = std::clamp(static_cast<double>(samples[i]), -1.0, 1.0);
            const auto s32 = static_cast<std::int32_t>(
                std::clamp(v * 2147483648.0, -2147483648.0, 2147483647.0));
            if (bps == 2) {
                const auto s = static_cast<std::int16_t>(s32 >> 16);
                std::memcpy(dst + i * 2, &s, 2);
            } else if (bps == 3) {
                const auto u = static_cast<std::uint32_t>(s32);
                for (std::size_t b = 0; b < 3; ++b)
                    dst[i * 3 + b] = static_cast<std::byte>((u >> (8 * (b + 1))) & 0xFFU);
            } else {
                std::memcpy(dst + i * 4, &s32, 4);
            }
        }
        h_.write_idx = next;
        publish();
    }
    // Raw access for tests that corrupt the header.
    void set_header(const client::audio::ScreamHeader& h) {
        h_ = h;
        publish();
    }

  private:
    void publish() {
        client::audio::encode_scream_header(h_, region_.first<client::audio::kScreamHeaderSize>());
    }
    std::span<std::byte> region_;
    client::audio::ScreamHeader h_;
};

}  // namespace porthole::test
