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
