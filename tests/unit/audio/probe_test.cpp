// The self-test's audio probe: a source's format and level as the host
// would read them from the channel.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>

#include "audio/probe.hpp"

namespace porthole::agent::audio {
namespace {

using namespace std::chrono_literals;

TEST(AudioProbe, ReadsTheSourcesFormatAndTheTonesLevelBack) {
    AudioSourceOptions o;
    o.tone_format = {44100, 2, protocol::SampleFormat::s16, 0};
    auto r = probe_audio_source("tone", 100ms, o);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->format.rate, 44100U);
    EXPECT_EQ(r->format.channels, 2U);
    EXPECT_EQ(r->format.sample, protocol::SampleFormat::s16);
    EXPECT_GE(r->frames, 4410U);
    // The tone is a sine of amplitude 0.5: peak -6.0 dBFS, RMS -9.0 dBFS.
    EXPECT_NEAR(r->peak_dbfs, -6.02, 0.3);
    EXPECT_NEAR(r->rms_dbfs, -9.03, 0.5);
    const auto text = describe(*r);
    EXPECT_NE(text.find("44100 Hz, 2 channels (FL FR), s16"), std::string::npos) << text;
    EXPECT_NE(text.find("peak -6.0 dBFS"), std::string::npos) << text;
}

TEST(AudioProbe, NamesTheSpeakersOfTheMask) {
    AudioSourceOptions o;
    o.tone_format = {48000, 6, protocol::SampleFormat::f32, protocol::speaker::layout_5_1_side};
    o.tone_per_speaker = true;
    auto r = probe_audio_source("tone", 50ms, o);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->format.channel_mask, protocol::speaker::layout_5_1_side);
    EXPECT_NE(describe(*r).find("6 channels (FL FR FC LFE SL SR), f32"), std::string::npos)
        << describe(*r);
}

TEST(AudioProbe, SilenceIsSaidAsSilence) {
    ProbeResult r;
    r.format = {48000, 1, protocol::SampleFormat::f32, 0};
    r.frames = 4800;
    r.peak_dbfs = r.rms_dbfs = -std::numeric_limits<double>::infinity();
    EXPECT_EQ(describe(r), "48000 Hz, 1 channel (FC), f32; 100 ms: peak silence, RMS silence");
}

TEST(AudioProbe, AnUnknownSourceIsAnErrorNamingTheAvailableOnes) {
    auto r = probe_audio_source("nonesuch", 50ms);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("'nonesuch'"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("tone"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace porthole::agent::audio
