// Reading Scream's IVSHMEM ring: the driver's layout, its formats, and a
// guest that writes garbage or laps the reader.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "audio/scream_ring.hpp"
#include "scream_test_writer.hpp"

namespace porthole::client::audio {
namespace {

std::vector<float> ramp(std::size_t n, float start) {
    std::vector<float> v(n);
    for (std::size_t i = 0; i < n; ++i)
        v[i] = std::fmod(start + static_cast<float>(i) * 1e-4F, 1.0F) - 0.5F;
    return v;
}

TEST(ScreamRing, HeaderLayoutMatchesTheDriver) {
    std::array<std::byte, kScreamHeaderSize> raw{};
    ScreamHeader h{kScreamMagic, 7, 64, 15, 3840, 0x81, 24, 2, 3};
    encode_scream_header(h, raw);
    // Field offsets of Scream's struct shmheader (natural alignment).
    EXPECT_EQ(std::to_integer<int>(raw[0]), 0x14);
    EXPECT_EQ(std::to_integer<int>(raw[3]), 0x11);
    EXPECT_EQ(std::to_integer<int>(raw[4]), 7);
    EXPECT_EQ(std::to_integer<int>(raw[6]), 64);
    EXPECT_EQ(std::to_integer<int>(raw[8]), 15);
    EXPECT_EQ(std::to_integer<int>(raw[12]), 3840 & 0xFF);
    EXPECT_EQ(std::to_integer<int>(raw[16]), 0x81);
    EXPECT_EQ(std::to_integer<int>(raw[17]), 24);
    EXPECT_EQ(std::to_integer<int>(raw[18]), 2);
    EXPECT_EQ(std::to_integer<int>(raw[20]), 3);
    EXPECT_EQ(decode_scream_header(raw), h);
}

TEST(ScreamRing, RateByteEncodesBaseAndMultiplier) {
    EXPECT_EQ(scream_rate(1), 48000U);
    EXPECT_EQ(scream_rate(2), 96000U);
    EXPECT_EQ(scream_rate(0x81), 44100U);
    EXPECT_EQ(scream_rate(0x82), 88200U);
    EXPECT_EQ(scream_rate(0), 0U);
}

TEST(ScreamRing, ReadsEveryChunkInOrderForEachSampleSize) {
    for (std::uint8_t bits : {std::uint8_t{16}, std::uint8_t{24}, std::uint8_t{32}}) {
        std::vector<std::byte> region(1 << 20);
        test::ScreamTestWriter w(region, 1, bits, 2);
        auto src = make_scream_source(region);
        auto f = src->format();
        ASSERT_TRUE(f && *f);
        EXPECT_EQ(**f, (PcmFormat{48000, 2}));
        std::vector<float> sent, got;
        for (int k = 0; k < 5; ++k) {
            auto chunk = ramp(std::size_t{w.chunk_frames()} * 2, static_cast<float>(k) * 0.1F);
            w.write_chunk(chunk);
            sent.insert(sent.end(), chunk.begin(), chunk.end());
        }
        EXPECT_EQ(src->available(), 5U * w.chunk_frames());
        std::vector<float> buf(700 * 2);  // reads that straddle chunks
        for (;;) {
            auto r = src->read(buf);
            ASSERT_TRUE(r);
            EXPECT_EQ(r->lost_frames, 0U);
            if (r->frames == 0) break;
            got.insert(got.end(), buf.begin(),
                       buf.begin() + static_cast<std::ptrdiff_t>(r->frames * 2));
        }
        ASSERT_EQ(got.size(), sent.size());
        const float tol = bits == 16 ? 1.0F / 16384 : 1e-6F;
        for (std::size_t i = 0; i < got.size(); ++i)
            ASSERT_NEAR(got[i], sent[i], tol) << int{bits} << " bits, sample " << i;
    }
}

TEST(ScreamRing, LappedReaderSkipsAheadAndCountsTheLoss) {
    std::vector<std::byte> region(1 << 20);
    test::ScreamTestWriter w(region, 1, 16, 2, 8);
    auto src = make_scream_source(region);
    ASSERT_TRUE(src->format());
    // 7 chunks behind in a ring of 8: the oldest is next to the slot the
    // driver writes next, so it may be half rewritten: dropped and counted.
    for (int k = 0; k < 7; ++k)
        w.write_chunk(ramp(std::size_t{w.chunk_frames()} * 2, 0));
    std::vector<float> buf(std::size_t{w.chunk_frames()} * 2 * 20);
    auto r = src->read(buf);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->lost_frames, w.chunk_frames());
    EXPECT_EQ(r->frames, 6U * w.chunk_frames());
}

TEST(ScreamRing, SkipToLatestKeepsTheRequestedFrames) {
    std::vector<std::byte> region(1 << 20);
    test::ScreamTestWriter w(region, 1, 16, 2);
    auto src = make_scream_source(region);
    ASSERT_TRUE(src->format());
    for (int k = 0; k < 6; ++k)
        w.write_chunk(ramp(std::size_t{w.chunk_frames()} * 2, 0));
    src->skip_to_latest(1000);
    std::vector<float> buf(48000 * 2);
    auto r = src->read(buf);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->frames, 1000U);
}

TEST(ScreamRing, FormatChangeRestartsTheStream) {
    std::vector<std::byte> region(1 << 20);
    test::ScreamTestWriter w(region, 1, 16, 2);
    auto src = make_scream_source(region);
    ASSERT_TRUE(src->format());
    w.write_chunk(ramp(std::size_t{w.chunk_frames()} * 2, 0));
    auto h = w.header();
    h.rate = 0x81;  // the guest switched to 44.1 kHz
    h.chunk_size = 44100 / 50 * 2 * 2;
    w.set_header(h);
    std::vector<float> buf(4096);
    auto r = src->read(buf);
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->format_changed);
    auto f = src->format();
    ASSERT_TRUE(f && *f);
    EXPECT_EQ((*f)->rate, 44100U);
}

TEST(ScreamRing, GarbageHeadersAreRejectedNotTrusted) {
    std::vector<std::byte> region(64 * 1024);
    test::ScreamTestWriter w(region, 1, 16, 2, 4);
    auto src = make_scream_source(region);
    const ScreamHeader good = w.header();
    auto expect_rejected = [&](ScreamHeader h) {
        w.set_header(h);
        auto f = src->format();
        EXPECT_FALSE(f) << "accepted: bits " << int{h.bits} << " ch " << int{h.channels}
                        << " chunks " << h.max_chunks << " size " << h.chunk_size;
        std::vector<float> buf(4096);
        auto r = src->read(buf);  // never reads past the region, whatever the header says
        if (r) {
            EXPECT_EQ(r->frames, 0U);
        }
    };
    ScreamHeader h = good;
    h.max_chunks = 60000;  // ring far beyond the region
    expect_rejected(h);
    h = good;
    h.chunk_size = 3;  // not whole frames
    expect_rejected(h);
    h = good;
    h.bits = 8;
    expect_rejected(h);
    h = good;
    h.channels = 0;
    expect_rejected(h);
    h = good;
    h.rate = 0x80;  // multiplier 0
    expect_rejected(h);
    h = good;
    h.offset = 4;  // chunks over the header
    expect_rejected(h);
    h = good;
    h.write_idx = 9;  // past max_chunks
    expect_rejected(h);
    // No magic: the driver has not started; that is waiting, not an error.
    h = good;
    h.magic = 0;
    w.set_header(h);
    auto f = src->format();
    ASSERT_TRUE(f);
    EXPECT_FALSE(*f);
}

}  // namespace
}  // namespace porthole::client::audio

namespace porthole::client::audio {
namespace {

// --stats shows what the ring's header announces, and nothing for a header
// that is not (yet) a valid one.
TEST(ScreamRing, FormatForStatsIsTheValidHeaders) {
    std::vector<std::byte> region(1 << 20);
    EXPECT_FALSE(read_scream_format(region).has_value()) << "no driver yet: all zero";
    test::ScreamTestWriter w(region, 0x81, 24, 2);  // 44.1 kHz, 24-bit packed, stereo
    const auto f = read_scream_format(region);
    ASSERT_TRUE(f.has_value());
    EXPECT_EQ(f->rate, 44100U);
    EXPECT_EQ(f->channels, 2U);
    EXPECT_EQ(f->bits, 24U);
    EXPECT_EQ(f->channel_mask, 0x3U);
    // 5.1 side as Windows writes its mask (FL FR FC LFE SL SR).
    ScreamHeader h = w.header();
    h.channels = 6;
    h.bits = 16;
    h.rate = 1;
    h.chunk_size = 48000 / 50 * 2 * 6;
    h.channel_mask = 0x60F;
    encode_scream_header(h, std::span(region).first<kScreamHeaderSize>());
    const auto g = read_scream_format(region);
    ASSERT_TRUE(g.has_value());
    EXPECT_EQ(g->rate, 48000U);
    EXPECT_EQ(g->channels, 6U);
    EXPECT_EQ(g->bits, 16U);
    EXPECT_EQ(g->channel_mask, 0x60FU);
    // Garbage (a bits value Scream never writes) is not shown as a format.
    h.bits = 13;
    encode_scream_header(h, std::span(region).first<kScreamHeaderSize>());
    EXPECT_FALSE(read_scream_format(region).has_value());
    EXPECT_FALSE(read_scream_format(std::span(region).first(8)).has_value());
}

TEST(ScreamRing, ChannelMaskGivesTheSpeakers) {
    // Scream's channel_mask is the driver's dwChannelMask (ksmedia.h:
    // KSAUDIO_SPEAKER_QUAD 0x33, _5POINT1_SURROUND 0x60F).
    ScreamHeader h;
    h.channels = 4;
    h.channel_mask = 0x33;
    EXPECT_EQ(scream_speakers(h), 0x33U);
    h.channels = 6;
    h.channel_mask = 0x60F;
    EXPECT_EQ(scream_speakers(h), 0x60FU);
    // No mask, or one that does not name a speaker per channel: the
    // count's default layout, as Scream's own receivers fall back.
    h.channels = 4;
    h.channel_mask = 0;
    EXPECT_EQ(scream_speakers(h), 0x33U);
    h.channel_mask = 0x3;
    EXPECT_EQ(scream_speakers(h), 0x33U);
}

}  // namespace
}  // namespace porthole::client::audio
