// The PipeWire positions the client declares for each speaker layout a
// guest sends. The reference values are written out here from their
// sources, not taken from the code under test:
//  - masks: Microsoft ksmedia.h, SPEAKER_FRONT_LEFT 0x1, SPEAKER_FRONT_RIGHT
//    0x2, SPEAKER_FRONT_CENTER 0x4, SPEAKER_LOW_FREQUENCY 0x8,
//    SPEAKER_BACK_LEFT 0x10, SPEAKER_BACK_RIGHT 0x20, SPEAKER_BACK_CENTER
//    0x100, SPEAKER_SIDE_LEFT 0x200, SPEAKER_SIDE_RIGHT 0x400, and the
//    KSAUDIO_SPEAKER_* layouts built from them;
//  - positions: PipeWire spa/param/audio/raw.h, enum spa_audio_channel:
//    UNKNOWN 0, NA 1, MONO 2, FL 3, FR 4, FC 5, LFE 6, SL 7, SR 8, FLC 9,
//    FRC 10, RC 11, RL 12, RR 13, TC 14 ... TRR 20.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "audio/pcm_source.hpp"
#include "audio/speaker_positions.hpp"

namespace porthole::client::audio {
namespace {

// raw.h, enum spa_audio_channel.
constexpr std::uint32_t MONO = 2, FL = 3, FR = 4, FC = 5, LFE = 6, SL = 7, SR = 8, FLC = 9,
                        FRC = 10, RC = 11, RL = 12, RR = 13;

struct Layout {
    const char* name;
    std::uint32_t mask;
    std::vector<std::uint32_t> positions;
};

const std::vector<Layout>& layouts() {
    static const std::vector<Layout> v = {
        {"2.0", 0x3, {FL, FR}},                 // KSAUDIO_SPEAKER_STEREO
        {"2.1", 0xB, {FL, FR, LFE}},            // FRONT_LEFT | FRONT_RIGHT | LOW_FREQUENCY
        {"quad", 0x33, {FL, FR, RL, RR}},       // KSAUDIO_SPEAKER_QUAD: BACK_* is raw.h's rear
        {"surround", 0x107, {FL, FR, FC, RC}},  // KSAUDIO_SPEAKER_SURROUND
        {"5.1 back", 0x3F, {FL, FR, FC, LFE, RL, RR}},      // KSAUDIO_SPEAKER_5POINT1
        {"5.1 side", 0x60F, {FL, FR, FC, LFE, SL, SR}},     // KSAUDIO_SPEAKER_5POINT1_SURROUND
        {"7.1", 0x63F, {FL, FR, FC, LFE, RL, RR, SL, SR}},  // KSAUDIO_SPEAKER_7POINT1_SURROUND
        {"7.1 wide", 0xFF, {FL, FR, FC, LFE, RL, RR, FLC, FRC}},  // KSAUDIO_SPEAKER_7POINT1
    };
    return v;
}

std::vector<std::uint32_t> declared(std::uint16_t channels, std::uint32_t mask) {
    const SpeakerPositions p = speaker_positions(channels, mask);
    return {p.begin(), p.begin() + channels};
}

TEST(SpeakerPositions, EachLayoutPutsEveryChannelOnItsSpeaker) {
    for (const auto& l : layouts()) {
        const auto channels = static_cast<std::uint16_t>(l.positions.size());
        EXPECT_EQ(declared(channels, l.mask), l.positions) << l.name;
        // Nothing is declared past the last channel.
        const SpeakerPositions p = speaker_positions(channels, l.mask);
        for (std::size_t i = channels; i < p.size(); ++i)
            EXPECT_EQ(p[i], 0U) << l.name << " entry " << i;
    }
}

TEST(SpeakerPositions, QuadRearsAreNotCentreAndSub) {
    // The bug this replaces: a fixed WAVE-order table declared quad's
    // third and fourth channels as FC and LFE.
    EXPECT_EQ(declared(4, 0x33), (std::vector<std::uint32_t>{FL, FR, RL, RR}));
}

TEST(SpeakerPositions, TwoPointOnesThirdChannelIsTheSub) {
    EXPECT_EQ(declared(3, 0xB)[2], LFE);
}

TEST(SpeakerPositions, SideFivePointOneIsDeclaredSideNotRear) {
    const auto p = declared(6, 0x60F);
    EXPECT_EQ(p[4], SL);
    EXPECT_EQ(p[5], SR);
}

TEST(SpeakerPositions, NoMaskMeansTheCountsDefaultLayout) {
    // Mask 0: ksmedia.h's KSAUDIO_SPEAKER_MONO (played as raw.h's MONO),
    // _STEREO, _QUAD, _5POINT1 and _7POINT1_SURROUND for 1, 2, 4, 6, 8.
    EXPECT_EQ(declared(1, 0), (std::vector<std::uint32_t>{MONO}));
    EXPECT_EQ(declared(2, 0), (std::vector<std::uint32_t>{FL, FR}));
    EXPECT_EQ(declared(4, 0), (std::vector<std::uint32_t>{FL, FR, RL, RR}));
    EXPECT_EQ(declared(6, 0), (std::vector<std::uint32_t>{FL, FR, FC, LFE, RL, RR}));
    EXPECT_EQ(declared(8, 0), (std::vector<std::uint32_t>{FL, FR, FC, LFE, RL, RR, SL, SR}));
    // 3, 5, 7 have no Windows layout: the first positions in WAVE order.
    EXPECT_EQ(declared(3, 0), (std::vector<std::uint32_t>{FL, FR, FC}));
    EXPECT_EQ(declared(5, 0), (std::vector<std::uint32_t>{FL, FR, FC, LFE, RL}));
}

TEST(SpeakerPositions, MonoAtTheCentreIsPipeWiresMono) {
    EXPECT_EQ(declared(1, 0x4), (std::vector<std::uint32_t>{MONO}));
    EXPECT_EQ(declared(1, 0x1), (std::vector<std::uint32_t>{FL}));  // a left-only stream stays left
}

TEST(SpeakerPositions, MaskNotNamingOneSpeakerPerChannelFallsBackToTheDefault) {
    // Only reachable from Scream, whose receivers do the same; the region's
    // reader refuses such a format before it gets here.
    EXPECT_EQ(declared(4, 0x3F), (std::vector<std::uint32_t>{FL, FR, RL, RR}));
    EXPECT_EQ(declared(2, 0x1), (std::vector<std::uint32_t>{FL, FR}));
}

TEST(SpeakerPositions, EveryWindowsPositionHasItsPipeWireName) {
    // SPEAKER_* bit -> raw.h position, all 18 (TC 14 ... TRR 20 for the top ones).
    const std::uint32_t want[18] = {FL, FR, FC, LFE, RL, RR, FLC, FRC, RC,
                                    SL, SR, 14, 15,  16, 17, 18,  19,  20};
    for (std::uint32_t b = 0; b < 18; ++b)
        EXPECT_EQ(spa_position(1U << b), want[b]) << "SPEAKER bit " << b;
    EXPECT_EQ(spa_position(1U << 18), 0U);  // SPEAKER_RESERVED: UNKNOWN
    EXPECT_EQ(spa_position(0x3), 0U);       // not one speaker
}

TEST(PcmFormat, NoMaskEqualsTheDefaultSpelledOut) {
    // A stream re-announced with its default layout spelled out is the same
    // stream: no reconnect.
    EXPECT_EQ((PcmFormat{48000, 2, 0}), (PcmFormat{48000, 2, 0x3}));
    EXPECT_NE((PcmFormat{48000, 4, 0x33}), (PcmFormat{48000, 4, 0x107}));
}

}  // namespace
}  // namespace porthole::client::audio
