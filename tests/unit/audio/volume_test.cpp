// The guest's volume as the agent reports it in the audio channel: the
// Windows endpoint's dB as a gain, changes written once, the tone source's
// configured volume seen by the host's reader.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include "audio/convert.hpp"
#include "audio/source.hpp"
#include "porthole/protocol/region.hpp"

namespace porthole::agent::audio {
namespace {

using namespace std::chrono_literals;

TEST(DbToGain, EndpointAttenuationBecomesALinearGain) {
    EXPECT_FLOAT_EQ(db_to_gain(0.0F), 1.0F);
    EXPECT_NEAR(db_to_gain(-6.0206F), 0.5F, 1e-4);
    EXPECT_NEAR(db_to_gain(-20.0F), 0.1F, 1e-5);
    EXPECT_FLOAT_EQ(db_to_gain(3.0F), 1.0F);  // no boost beyond full scale
    EXPECT_FLOAT_EQ(db_to_gain(-200.0F), 0.0F);
    EXPECT_FLOAT_EQ(db_to_gain(-std::numeric_limits<float>::infinity()), 0.0F);
    EXPECT_FLOAT_EQ(db_to_gain(std::numeric_limits<float>::quiet_NaN()), 0.0F);
}

struct Channel {
    std::vector<std::byte> bytes = std::vector<std::byte>(protocol::kPageSize + 64 * 1024);
    protocol::AudioWriter writer = *protocol::AudioWriter::create(bytes);
    protocol::AudioReader reader = *protocol::AudioReader::attach(bytes);
};

TEST(VolumeReporter, WritesEachChangeOnceAndTheReaderSeesIt) {
    Channel ch;
    AudioSourceStats stats;
    VolumeReporter v(ch.writer, stats);
    v.report(0.5F, false);
    v.report(0.5F, false);
    EXPECT_EQ(stats.volume_changes.load(), 1U);
    EXPECT_NEAR(ch.reader.volume(), 0.5F, 1e-4);
    EXPECT_FALSE(ch.reader.muted());
    v.report(0.5F, true);
    EXPECT_EQ(stats.volume_changes.load(), 2U);
    EXPECT_TRUE(ch.reader.muted());
}

TEST(VolumeReporter, OutOfRangeAndNonFiniteGainsAreMadeSafe) {
    Channel ch;
    AudioSourceStats stats;
    VolumeReporter v(ch.writer, stats);
    v.report(7.0F, false);
    EXPECT_NEAR(ch.reader.volume(), 1.0F, 1e-4);
    v.report(-1.0F, false);
    EXPECT_NEAR(ch.reader.volume(), 0.0F, 1e-4);
    v.report(std::numeric_limits<float>::quiet_NaN(), false);
    EXPECT_NEAR(ch.reader.volume(), 1.0F, 1e-4);
}

TEST(ToneSource, ReportsItsConfiguredVolumeAndMute) {
    Channel ch;
    AudioSourceOptions o;
    o.tone_volume = 0.25F;
    o.tone_muted = true;
    auto src = start_audio_source("tone", ch.writer, o);
    ASSERT_TRUE(src) << src.error().message;
    for (int i = 0; i < 200 && (*src)->stats().volume_changes.load() == 0; ++i)
        std::this_thread::sleep_for(10ms);
    EXPECT_EQ((*src)->stats().volume_changes.load(), 1U);
    EXPECT_NEAR(ch.reader.volume(), 0.25F, 1e-4);
    EXPECT_TRUE(ch.reader.muted());
}

TEST(ToneSource, RejectsAVolumeOutsideZeroToOne) {
    Channel ch;
    AudioSourceOptions o;
    o.tone_volume = 1.5F;
    auto src = start_audio_source("tone", ch.writer, o);
    ASSERT_FALSE(src);
    EXPECT_NE(src.error().message.find("0..1"), std::string::npos) << src.error().message;
}

}  // namespace
}  // namespace porthole::agent::audio
