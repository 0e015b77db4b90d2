// The tone: a deterministic, click-free sweep the receiver can regenerate.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "audio/tone.hpp"

namespace porthole::agent::audio {
namespace {

TEST(ToneGenerator, RenderMatchesSampleForEveryFormat) {
    for (auto s :
         {protocol::SampleFormat::f32, protocol::SampleFormat::s16, protocol::SampleFormat::s32}) {
        ToneGenerator tone({48000, 2, s});
        std::vector<std::byte> buf(100 * tone.format().frame_bytes());
        tone.render(12345, buf);
        for (std::size_t f = 0; f < 100; ++f) {
            for (std::uint32_t c = 0; c < 2; ++c) {
                const float want = tone.sample(12345 + f, c);
                float got = 0;
                const std::byte* p =
                    buf.data() + f * tone.format().frame_bytes() + c * bytes_per_sample(s);
                if (s == protocol::SampleFormat::f32) {
                    std::memcpy(&got, p, 4);
                } else if (s == protocol::SampleFormat::s16) {
                    std::int16_t v = 0;
                    std::memcpy(&v, p, 2);
                    got = static_cast<float>(v) / 32767.0F;
                } else {
                    std::int32_t v = 0;
                    std::memcpy(&v, p, 4);
                    got = static_cast<float>(static_cast<double>(v) / 2147483647.0);
                }
                EXPECT_NEAR(got, want, 1e-4);
            }
        }
    }
}

TEST(ToneGenerator, RepeatsEverySecondWithoutAClick) {
    ToneGenerator tone({48000, 1, protocol::SampleFormat::f32});
    // Largest step between neighbours anywhere, wrap included: a 3 kHz sine at
    // amplitude 0.5 moves at most 0.5 * 2*pi*3000/48000 ~= 0.196 per sample.
    float max_step = 0;
    for (std::uint64_t n = 0; n < 2 * tone.period_frames(); ++n) {
        max_step = std::max(max_step, std::abs(tone.sample(n + 1, 0) - tone.sample(n, 0)));
    }
    EXPECT_LT(max_step, 0.2F);
    EXPECT_EQ(tone.sample(7, 0), tone.sample(7 + tone.period_frames(), 0));
}

TEST(ToneGenerator, ChannelsAreShiftedCopiesSoSwapsShow) {
    ToneGenerator tone({48000, 2, protocol::SampleFormat::f32});
    EXPECT_EQ(tone.sample(0, 1), tone.sample(12000, 0));
    EXPECT_NE(tone.sample(100, 0), tone.sample(100, 1));
}

// The speaker tone: each channel a steady sine at its speaker's frequency.
double level_at(const ToneGenerator& tone, std::uint32_t ch, double hz) {
    // Correlation with a sine and a cosine over one second (whole cycles).
    double re = 0, im = 0;
    const std::uint64_t n = tone.period_frames();
    for (std::uint64_t i = 0; i < n; ++i) {
        const double w = 2.0 * 3.14159265358979323846 * hz * static_cast<double>(i) / 48000.0;
        re += tone.sample(i, ch) * std::cos(w);
        im += tone.sample(i, ch) * std::sin(w);
    }
    return 2.0 * std::sqrt(re * re + im * im) / static_cast<double>(n);
}

TEST(ToneGenerator, SpeakerToneFrequenciesAreDistinctAndWhole) {
    EXPECT_EQ(speaker_tone_hz(protocol::speaker::front_left), 250.0);
    EXPECT_EQ(speaker_tone_hz(protocol::speaker::low_frequency), 700.0);
    EXPECT_EQ(speaker_tone_hz(protocol::speaker::side_right), 1750.0);
    EXPECT_EQ(speaker_tone_hz(0), 0.0);
    EXPECT_EQ(speaker_tone_hz(0x3), 0.0);  // not one speaker
    for (std::uint32_t b = 1; b < protocol::speaker::kPositionCount; ++b)
        EXPECT_GE(speaker_tone_hz(1U << b) - speaker_tone_hz(1U << (b - 1)), 150.0);
}

TEST(ToneGenerator, SpeakerToneChannelsFollowTheMask) {
    // Quad: channels 2 and 3 are the back pair, so they carry the back
    // speakers' tones, not the centre's and the sub's.
    ToneGenerator tone({48000, 4, protocol::SampleFormat::f32, protocol::speaker::quad}, 0.5F,
                       ToneKind::speakers);
    const std::uint32_t speakers[] = {protocol::speaker::front_left, protocol::speaker::front_right,
                                      protocol::speaker::back_left, protocol::speaker::back_right};
    for (std::uint32_t c = 0; c < 4; ++c) {
        EXPECT_NEAR(level_at(tone, c, speaker_tone_hz(speakers[c])), 0.5, 1e-3) << c;
        EXPECT_LT(level_at(tone, c, speaker_tone_hz(protocol::speaker::front_center)), 1e-3) << c;
    }
    // Whole cycles a second: no click where the second repeats.
    EXPECT_NEAR(tone.sample(tone.period_frames(), 3), tone.sample(0, 3), 1e-6);
    EXPECT_NEAR(tone.sample(tone.period_frames() - 1, 3), tone.sample(47999, 3), 1e-6);
}

}  // namespace
}  // namespace porthole::agent::audio
