// The region's audio channel as a float source: every sample format, volume.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "audio/pcm_source.hpp"
#include "audio/tone.hpp"

namespace porthole::client::audio {
namespace {

TEST(RegionSource, DeliversTheToneInEverySampleFormat) {
    for (auto s :
         {protocol::SampleFormat::f32, protocol::SampleFormat::s16, protocol::SampleFormat::s32}) {
        std::vector<std::byte> channel(protocol::kPageSize + 64 * 1024);
        auto writer = protocol::AudioWriter::create(channel);
        ASSERT_TRUE(writer);
        const protocol::AudioFormat fmt{44100, 2, s};
        ASSERT_TRUE(writer->set_format(fmt));
        auto src = make_region_source(*protocol::AudioReader::attach(channel));
        auto f = src->format();
        ASSERT_TRUE(f && *f);
        EXPECT_EQ(**f, (PcmFormat{44100, 2}));
        agent::audio::ToneGenerator tone(fmt);
        std::vector<std::byte> buf(1000 * fmt.frame_bytes());
        tone.render(0, buf);
        ASSERT_TRUE(writer->write(buf, 1));
        EXPECT_EQ(src->available(), 1000U);
        std::vector<float> out(2000);
        auto r = src->read(out);
        ASSERT_TRUE(r);
        ASSERT_EQ(r->frames, 1000U);
        for (std::size_t i = 0; i < 1000; ++i) {
            ASSERT_NEAR(out[2 * i], tone.sample(i, 0), 1e-4);
            ASSERT_NEAR(out[2 * i + 1], tone.sample(i, 1), 1e-4);
        }
    }
}

TEST(RegionSource, GuestFloatsAreClampedAndNaNSilenced) {
    const std::vector<float> evil{NAN, 1e30F, -1e30F, 0.5F};
    std::vector<float> out(4);
    to_float(protocol::SampleFormat::f32, std::as_bytes(std::span(evil)), out);
    EXPECT_EQ(out, (std::vector<float>{0.0F, 1.0F, -1.0F, 0.5F}));
}

TEST(RegionSource, CarriesTheGuestVolumeAndMute) {
    std::vector<std::byte> channel(protocol::kPageSize + 64 * 1024);
    auto writer = protocol::AudioWriter::create(channel);
    ASSERT_TRUE(writer);
    auto src = make_region_source(*protocol::AudioReader::attach(channel));
    writer->set_volume(0.25F, true);
    EXPECT_NEAR(src->volume(), 0.25F, 1e-4);
    EXPECT_TRUE(src->muted());
}

}  // namespace
}  // namespace porthole::client::audio
