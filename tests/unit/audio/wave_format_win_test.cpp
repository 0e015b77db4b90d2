// Windows (under Wine): the WASAPI mix format's speaker mask, read from real
// WAVEFORMATEXTENSIBLE structs and checked against Microsoft's own
// constants (ksmedia.h) rather than numbers written here.
#include <gtest/gtest.h>

#include "audio/wave_format_win.hpp"
// After windows.h (wave_format_win.hpp): ksmedia.h needs its types.
#include <ksmedia.h>

namespace porthole::agent::audio {
namespace {

namespace speaker = protocol::speaker;

// The protocol's speaker bits are WAVEFORMATEXTENSIBLE's, as ksmedia.h has them.
static_assert(speaker::front_left == SPEAKER_FRONT_LEFT);
static_assert(speaker::front_right == SPEAKER_FRONT_RIGHT);
static_assert(speaker::front_center == SPEAKER_FRONT_CENTER);
static_assert(speaker::low_frequency == SPEAKER_LOW_FREQUENCY);
static_assert(speaker::back_left == SPEAKER_BACK_LEFT);
static_assert(speaker::back_right == SPEAKER_BACK_RIGHT);
static_assert(speaker::front_left_of_center == SPEAKER_FRONT_LEFT_OF_CENTER);
static_assert(speaker::front_right_of_center == SPEAKER_FRONT_RIGHT_OF_CENTER);
static_assert(speaker::back_center == SPEAKER_BACK_CENTER);
static_assert(speaker::side_left == SPEAKER_SIDE_LEFT);
static_assert(speaker::side_right == SPEAKER_SIDE_RIGHT);
static_assert(speaker::top_center == SPEAKER_TOP_CENTER);
static_assert(speaker::top_front_left == SPEAKER_TOP_FRONT_LEFT);
static_assert(speaker::top_front_center == SPEAKER_TOP_FRONT_CENTER);
static_assert(speaker::top_front_right == SPEAKER_TOP_FRONT_RIGHT);
static_assert(speaker::top_back_left == SPEAKER_TOP_BACK_LEFT);
static_assert(speaker::top_back_center == SPEAKER_TOP_BACK_CENTER);
static_assert(speaker::top_back_right == SPEAKER_TOP_BACK_RIGHT);
static_assert(speaker::mono == KSAUDIO_SPEAKER_MONO);
static_assert(speaker::stereo == KSAUDIO_SPEAKER_STEREO);
static_assert(speaker::quad == KSAUDIO_SPEAKER_QUAD);
static_assert(speaker::layout_5_1_back == KSAUDIO_SPEAKER_5POINT1);
static_assert(speaker::layout_5_1_side == KSAUDIO_SPEAKER_5POINT1_SURROUND);
static_assert(speaker::layout_7_1 == KSAUDIO_SPEAKER_7POINT1_SURROUND);

WAVEFORMATEXTENSIBLE float_mix(WORD channels, DWORD mask) {
    WAVEFORMATEXTENSIBLE x{};
    x.Format.wFormatTag = WAVE_FORMAT_EXTENSIBLE;
    x.Format.nChannels = channels;
    x.Format.nSamplesPerSec = 48000;
    x.Format.wBitsPerSample = 32;
    x.Format.nBlockAlign = static_cast<WORD>(channels * 4);
    x.Format.nAvgBytesPerSec = 48000U * x.Format.nBlockAlign;
    x.Format.cbSize = sizeof(WAVEFORMATEXTENSIBLE) - sizeof(WAVEFORMATEX);
    x.Samples.wValidBitsPerSample = 32;
    x.dwChannelMask = mask;
    x.SubFormat = KSDATAFORMAT_SUBTYPE_IEEE_FLOAT;
    return x;
}

protocol::AudioFormat carried(const WAVEFORMATEX& w) {
    auto f = describe_wave_format(wave_format_fields(w));
    EXPECT_TRUE(f) << f.error().message;
    return f ? protocol_format_for(*f) : protocol::AudioFormat{};
}

TEST(WasapiMixFormat, EachLayoutsMaskIsCarried) {
    struct Case {
        WORD channels;
        DWORD mask;
    };
    for (const Case c :
         {Case{2, KSAUDIO_SPEAKER_STEREO}, Case{4, KSAUDIO_SPEAKER_QUAD},
          Case{3, SPEAKER_FRONT_LEFT | SPEAKER_FRONT_RIGHT | SPEAKER_LOW_FREQUENCY},
          Case{6, KSAUDIO_SPEAKER_5POINT1}, Case{6, KSAUDIO_SPEAKER_5POINT1_SURROUND},
          Case{8, KSAUDIO_SPEAKER_7POINT1_SURROUND}}) {
        const auto x = float_mix(c.channels, c.mask);
        const auto p = carried(x.Format);
        EXPECT_EQ(p.channels, c.channels);
        EXPECT_EQ(p.channel_mask, c.mask) << std::hex << c.mask;
        EXPECT_TRUE(protocol::validate_audio_format(p));
    }
}

TEST(WasapiMixFormat, SpeakerAllAndShortExtensionsFallBackToTheDefault) {
    // SPEAKER_ALL: "any speaker configuration", no positions.
    auto x = float_mix(4, SPEAKER_ALL);
    EXPECT_EQ(carried(x.Format).channel_mask, static_cast<std::uint32_t>(KSAUDIO_SPEAKER_QUAD));
    // A WAVEFORMATEX with nChannels 4 and no extension has no mask.
    WAVEFORMATEX plain{};
    plain.wFormatTag = WAVE_FORMAT_IEEE_FLOAT;
    plain.nChannels = 4;
    plain.nSamplesPerSec = 48000;
    plain.wBitsPerSample = 32;
    plain.nBlockAlign = 16;
    EXPECT_EQ(carried(plain).channel_mask, static_cast<std::uint32_t>(KSAUDIO_SPEAKER_QUAD));
}

}  // namespace
}  // namespace porthole::agent::audio
