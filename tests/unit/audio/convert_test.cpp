// Sample conversion of captured audio (WASAPI's formats) to the protocol's.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <vector>

#include "audio/convert.hpp"

namespace porthole::agent::audio {
namespace {

using SubFormat = WaveFormatFields::SubFormat;

template <class T>
std::vector<std::byte> bytes_of(std::initializer_list<T> values) {
    std::vector<std::byte> out(values.size() * sizeof(T));
    std::size_t i = 0;
    for (T v : values)
        std::memcpy(out.data() + sizeof(T) * i++, &v, sizeof(T));
    return out;
}

TEST(AudioConvert, SharedModeFloatMixFormatIsCarriedAsF32) {
    // The usual WASAPI mix format: extensible, IEEE float, 32 bits, stereo.
    auto f = describe_wave_format({0xFFFE, 2, 48000, 8, 32, 32, SubFormat::ieee_float});
    ASSERT_TRUE(f) << f.error().message;
    EXPECT_EQ(f->sample, CaptureSample::float32);
    const auto p = protocol_format_for(*f);
    EXPECT_EQ(p, (protocol::AudioFormat{48000, 2, protocol::SampleFormat::f32}));
    const auto src = bytes_of<float>({0.25F, -0.5F, 1.0F, -1.0F});
    std::vector<std::byte> dst(src.size());
    ASSERT_TRUE(convert_frames(*f, src, 2, dst));
    EXPECT_EQ(dst, src);
}

TEST(AudioConvert, Int16StaysS16) {
    auto f = describe_wave_format({1, 2, 44100, 4, 16, 0, SubFormat::none});
    ASSERT_TRUE(f);
    EXPECT_EQ(protocol_format_for(*f).sample, protocol::SampleFormat::s16);
    const auto src = bytes_of<std::int16_t>({-32768, 32767, 0, 1234});
    std::vector<std::byte> dst(src.size());
    ASSERT_TRUE(convert_frames(*f, src, 2, dst));
    EXPECT_EQ(dst, src);
}

TEST(AudioConvert, Packed24BitBecomesS32WithSignKept) {
    auto f = describe_wave_format({0xFFFE, 1, 48000, 3, 24, 24, SubFormat::pcm});
    ASSERT_TRUE(f) << f.error().message;
    EXPECT_EQ(f->sample, CaptureSample::int24_packed);
    // -2 (0xFFFFFE) and 0x123456, little-endian.
    const std::vector<std::byte> src{std::byte{0xFE}, std::byte{0xFF}, std::byte{0xFF},
                                     std::byte{0x56}, std::byte{0x34}, std::byte{0x12}};
    std::vector<std::byte> dst(8);
    ASSERT_TRUE(convert_frames(*f, src, 2, dst));
    std::array<std::int32_t, 2> v{};
    std::memcpy(v.data(), dst.data(), 8);
    EXPECT_EQ(v[0], -2 * 256);
    EXPECT_EQ(v[1], 0x12345600);
}

TEST(AudioConvert, TwentyFourInThirtyTwoDropsThePaddingBits) {
    auto f = describe_wave_format({0xFFFE, 1, 48000, 4, 32, 24, SubFormat::pcm});
    ASSERT_TRUE(f) << f.error().message;
    EXPECT_EQ(f->sample, CaptureSample::int24_in_32);
    const auto src = bytes_of<std::int32_t>({0x123456FF, -256 + 0x7F});
    std::vector<std::byte> dst(8);
    ASSERT_TRUE(convert_frames(*f, src, 2, dst));
    std::array<std::int32_t, 2> v{};
    std::memcpy(v.data(), dst.data(), 8);
    EXPECT_EQ(v[0], 0x12345600);
    EXPECT_EQ(v[1], -256);
}

TEST(AudioConvert, ChannelsBeyondEightAreDropped) {
    // 10 channels of float: channel c holds c; only 0..7 survive, in order.
    auto f = describe_wave_format({0xFFFE, 10, 48000, 40, 32, 32, SubFormat::ieee_float});
    ASSERT_TRUE(f);
    const auto p = protocol_format_for(*f);
    EXPECT_EQ(p.channels, 8);
    std::vector<float> in(20);
    for (std::size_t i = 0; i < in.size(); ++i)
        in[i] = static_cast<float>(i % 10);
    std::vector<std::byte> src(in.size() * 4);
    std::memcpy(src.data(), in.data(), src.size());
    std::vector<std::byte> dst(2 * p.frame_bytes());
    ASSERT_TRUE(convert_frames(*f, src, 2, dst));
    std::vector<float> out(16);
    std::memcpy(out.data(), dst.data(), dst.size());
    for (std::size_t i = 0; i < out.size(); ++i)
        EXPECT_EQ(out[i], static_cast<float>(i % 8));
}

// Masks: Microsoft ksmedia.h, KSAUDIO_SPEAKER_QUAD 0x33, _5POINT1_SURROUND
// 0x60F, _7POINT1_SURROUND 0x63F, _5POINT1 0x3F; SPEAKER_ALL 0x80000000.
TEST(AudioConvert, ExtensibleChannelMaskIsCarried) {
    WaveFormatFields w{0xFFFE, 4, 48000, 16, 32, 32, SubFormat::ieee_float};
    w.channel_mask = 0x33;  // quad: front and back pairs
    auto f = describe_wave_format(w);
    ASSERT_TRUE(f) << f.error().message;
    EXPECT_EQ(f->channel_mask, 0x33U);
    EXPECT_EQ(protocol_format_for(*f).channel_mask, 0x33U);
    w.channels = 6;
    w.block_align = 24;
    w.channel_mask = 0x60F;  // side 5.1
    f = describe_wave_format(w);
    ASSERT_TRUE(f);
    EXPECT_EQ(protocol_format_for(*f).channel_mask, 0x60FU);
    EXPECT_TRUE(protocol::validate_audio_format(protocol_format_for(*f)));
}

TEST(AudioConvert, PlainWaveFormatGetsTheDefaultMaskForItsCount) {
    // WAVEFORMATEX has no mask field: quad is assumed for 4 channels, not
    // front pair + centre + sub.
    auto f = describe_wave_format({1, 4, 48000, 8, 16, 0, SubFormat::none});
    ASSERT_TRUE(f);
    EXPECT_EQ(protocol_format_for(*f).channel_mask, 0x33U);
    f = describe_wave_format({3, 2, 48000, 8, 32, 0, SubFormat::none});
    ASSERT_TRUE(f);
    EXPECT_EQ(protocol_format_for(*f).channel_mask, 0x3U);
}

TEST(AudioConvert, MaskIsCutToTheCarriedChannels) {
    // 10 channels with 10 speakers: the 8 carried keep the 8 lowest.
    EXPECT_EQ(carried_channel_mask(0x63F | 0x1800, 10, 8), 0x63FU);
    // More speakers than channels: the channels take the lowest ones.
    EXPECT_EQ(carried_channel_mask(0x3F, 2, 2), 0x3U);
    // SPEAKER_ALL and reserved bits are not positions.
    EXPECT_EQ(carried_channel_mask(0x80000003, 2, 2), 0x3U);
    // Fewer speakers than channels (the rest unassigned, which the protocol
    // cannot say) or none: the default layout for what is carried.
    EXPECT_EQ(carried_channel_mask(0x3, 6, 6), 0x3FU);
    EXPECT_EQ(carried_channel_mask(0, 8, 8), 0x63FU);
    EXPECT_EQ(carried_channel_mask(0, 10, 8), 0x63FU);
    for (std::uint16_t n = 1; n <= 8; ++n) {
        const std::uint32_t m = carried_channel_mask(0xFFFFFFFF, n, n);
        EXPECT_TRUE(protocol::validate_audio_format({48000, n, protocol::SampleFormat::f32, m}))
            << n;
    }
}

TEST(AudioConvert, RejectsWhatItCannotCarry) {
    EXPECT_FALSE(
        describe_wave_format({0xFFFE, 2, 48000, 16, 64, 64, SubFormat::ieee_float}));  // double
    EXPECT_FALSE(describe_wave_format({0x55, 2, 48000, 4, 16, 16, SubFormat::none}));  // MP3 tag
    EXPECT_FALSE(describe_wave_format({1, 0, 48000, 0, 16, 16, SubFormat::none}));  // no channels
    EXPECT_FALSE(describe_wave_format({1, 2, 1000, 4, 16, 16, SubFormat::none}));   // rate
    EXPECT_FALSE(describe_wave_format({1, 2, 48000, 6, 16, 16, SubFormat::none}));  // block align
    EXPECT_FALSE(describe_wave_format({0xFFFE, 2, 48000, 8, 32, 24, SubFormat::other}));
}

TEST(AudioConvert, RefusesBuffersTooSmall) {
    auto f = describe_wave_format({3, 2, 48000, 8, 32, 0, SubFormat::none});
    ASSERT_TRUE(f);
    std::vector<std::byte> src(8 * 3), dst(8 * 2);
    EXPECT_FALSE(convert_frames(*f, src, 3, dst));
    EXPECT_TRUE(convert_frames(*f, src, 2, dst));
}

}  // namespace
}  // namespace porthole::agent::audio
