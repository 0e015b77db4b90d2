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

}  // namespace
}  // namespace porthole::agent::audio
