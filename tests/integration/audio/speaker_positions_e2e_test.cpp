// Speaker positions end to end with a real PipeWire daemon: the agent's tone
// source plays a steady tone per speaker (speaker_tone_hz) into an audio
// channel in the layout's mask; the client's AudioPlayback reads it through
// the protocol and plays it into a 7.1 null sink; pw-record captures the
// sink's eight positions, and each speaker's tone must come out of its own
// position and out of no other of the sink's eight (upmix is off for the
// test's streams: it would copy rears to sides and hide a wrong position).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numbers>
#include <string>
#include <thread>
#include <vector>

#include "audio/playback.hpp"
#include "audio/source.hpp"
#include "audio/tone.hpp"
#include "pipewire_daemon.hpp"

namespace porthole::test {
namespace {

using namespace std::chrono_literals;
namespace speaker = protocol::speaker;

// The surround sink's channel of a speaker (its positions, in order:
// FL FR FC LFE RL RR SL SR; Windows' back is PipeWire's rear).
int sink_channel(std::uint32_t s) {
    switch (s) {
        case speaker::front_left:
            return 0;
        case speaker::front_right:
            return 1;
        case speaker::front_center:
            return 2;
        case speaker::low_frequency:
            return 3;
        case speaker::back_left:
            return 4;
        case speaker::back_right:
            return 5;
        case speaker::side_left:
            return 6;
        case speaker::side_right:
            return 7;
        default:
            return -1;
    }
}

// Amplitude of `hz` on channel `ch` of an interleaved capture: Hann-windowed
// single-bin DFTs over 50 ms windows, averaged.
double level_at(const std::vector<float>& pcm, std::size_t channels, std::size_t ch, double hz,
                std::size_t first, std::size_t frames) {
    constexpr std::size_t kWindow = 2400;
    // The window times the reference, once per frequency (the same for each window).
    std::vector<double> wc(kWindow), ws(kWindow);
    double wsum = 0;
    for (std::size_t i = 0; i < kWindow; ++i) {
        const double w =
            0.5 - 0.5 * std::cos(2 * std::numbers::pi * static_cast<double>(i) / kWindow);
        const double ph = 2 * std::numbers::pi * hz * static_cast<double>(i) / 48000.0;
        wc[i] = w * std::cos(ph);
        ws[i] = w * std::sin(ph);
        wsum += w;
    }
    double sum = 0;
    int n = 0;
    for (std::size_t at = first; at + kWindow <= first + frames; at += kWindow) {
        double re = 0, im = 0;
        for (std::size_t i = 0; i < kWindow; ++i) {
            const double v = pcm[(at + i) * channels + ch];
            re += v * wc[i];
            im += v * ws[i];
        }
        sum += 2 * std::sqrt(re * re + im * im) / wsum;
        ++n;
    }
    return n > 0 ? sum / n : 0;
}

// The tone's amplitude wherever the client's resampling put it: the largest
// level_at within +-1.5% of `hz` (the ratio's clamp), in 0.25% steps, and
// the frequency it was found at. A single bin at `hz` is not enough: a 50 ms
// window's bin is 20 Hz wide, and the 4 s run is measured inside the
// controller's start-up (it may swing the ratio to its clamp while it learns
// the drift, more so on a loaded machine whose sink loses real time). A
// ratio 1.3% off reads the 1600 and 1750 Hz tones at 0.25 and 0.22
// (computed), the two readings of the failed 7.1 run against the 0.3
// threshold. The tones are 150 Hz apart: the band never reaches a
// neighbour's, so a missing or misplaced tone still reads near zero (a band
// at 1750 Hz reads 0.001 of a 0.5 tone at 1600).
struct Peak {
    double level = 0, hz = 0;
};
Peak peak_near(const std::vector<float>& pcm, std::size_t channels, std::size_t ch, double hz,
               std::size_t first, std::size_t frames) {
    Peak best;
    for (int k = -6; k <= 6; ++k) {
        const double f = hz * (1.0 + 0.0025 * k);
        const double l = level_at(pcm, channels, ch, f, first, frames);
        if (l > best.level) best = {l, f};
    }
    return best;
}

class SpeakerPositionsE2E : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        auto d = PipeWireDaemon::start(256, true);
        ASSERT_TRUE(d) << d.error().message;
        daemon_ = new PipeWireDaemon(std::move(*d));  // NOLINT: deleted in TearDownTestSuite
    }
    static void TearDownTestSuite() {
        delete daemon_;  // NOLINT
        daemon_ = nullptr;
    }

    // Plays the layout's speaker tones for 4 s through the client into the
    // surround sink; checks every speaker's tone on its position.
    void check_layout(const std::string& name, std::uint16_t channels, std::uint32_t mask) {
        std::vector<std::byte> channel(protocol::kPageSize + 512 * 1024);
        auto writer = protocol::AudioWriter::create(channel);
        ASSERT_TRUE(writer);
        agent::audio::AudioSourceOptions o;
        o.tone_format = {48000, channels, protocol::SampleFormat::f32, mask};
        o.tone_per_speaker = true;
        auto tone = agent::audio::start_audio_source("tone", *writer, o);
        ASSERT_TRUE(tone) << tone.error().message;
        client::audio::PlaybackOptions po;
        po.target = PipeWireDaemon::kSurroundSink;
        auto playback = client::audio::AudioPlayback::create(po);
        ASSERT_TRUE(playback) << playback.error().message;
        const std::string wav = daemon_->dir() + "/speakers-" + name + ".wav";
        auto recorder = Child::spawn(
            {"pw-record", "--target", PipeWireDaemon::kSurroundSink, "-P",
             "{ stream.capture.sink=true }", "--rate", "48000", "--channels", "8", "--channel-map",
             PipeWireDaemon::kSurroundPositions, "--format", "f32", wav},
            wav + ".log");
        ASSERT_TRUE(recorder) << recorder.error().message;
        auto reader = protocol::AudioReader::attach(channel);
        ASSERT_TRUE(reader);
        (*playback)->set_source(client::audio::make_region_source(std::move(*reader)));
        std::this_thread::sleep_for(4s);
        const auto stats = (*playback)->stats();
        recorder->stop(SIGINT);
        (*playback)->set_source(nullptr);
        tone->reset();
        EXPECT_EQ(stats.channels, channels) << "the stream was not reconnected in the layout";
        EXPECT_TRUE(stats.playing);

        std::uint16_t got_channels = 0;
        auto pcm = read_wav_f32(wav, got_channels);
        ASSERT_TRUE(pcm) << pcm.error().message;
        ASSERT_EQ(got_channels, 8);
        const std::size_t frames = pcm->size() / 8;
        ASSERT_GT(frames, 48000U * 2) << "the capture is too short";
        // The last 1.2 s but 0.2 s (pw-record drops its last few ms).
        const std::size_t first = frames - 48000 * 7 / 5;
        const std::size_t span = 48000 * 6 / 5;
        std::string matrix;
        for (std::uint16_t c = 0; c < channels; ++c) {
            const std::uint32_t s = protocol::speaker_of_channel(mask, c);
            const double hz = agent::audio::speaker_tone_hz(s);
            const int own = sink_channel(s);
            ASSERT_GE(own, 0);
            // The other positions are read at the frequency the tone was
            // found at on its own: one bin, so that the broadband energy of a
            // glitch (a dropout on a loaded machine) is not searched for a
            // maximum over the band as the tone is.
            const Peak found = peak_near(*pcm, 8, static_cast<std::size_t>(own), hz, first, span);
            const double on_own = found.level;
            auto level = [&](std::size_t ch) {
                return ch == static_cast<std::size_t>(own)
                           ? on_own
                           : level_at(*pcm, 8, ch, found.hz, first, span);
            };
            char cell[32];
            std::snprintf(cell, sizeof cell, " %.0fHz:", hz);
            matrix += cell;
            for (std::uint16_t k = 0; k < channels; ++k) {
                const int other = sink_channel(protocol::speaker_of_channel(mask, k));
                const double l = level(static_cast<std::size_t>(other));
                std::snprintf(cell, sizeof cell, " %.3f", l);
                matrix += cell;
                if (k != c) {
                    EXPECT_LT(l, 0.05 * on_own)
                        << name << ": the tone of channel " << c << " (" << hz
                        << " Hz) also comes out of speaker " << k << "'s position";
                }
            }
            // With upmix off (PipeWireDaemon's surround config) no other
            // position of the sink carries it either: PipeWire's upmix would
            // copy rears to sides at full level and hide a wrong declaration.
            for (std::size_t k = 0; k < 8; ++k) {
                if (static_cast<int>(k) == own) continue;
                const double l = level(k);
                EXPECT_LT(l, 0.05 * on_own)
                    << name << ": the tone of channel " << c << " (" << hz
                    << " Hz) also comes out of sink position " << k << " (" << l << ")";
            }
            // Sent at 0.5; PipeWire maps a present position through unchanged.
            EXPECT_GT(on_own, 0.3)
                << name << ": the tone of channel " << c << " (" << hz
                << " Hz) is missing from its position (sink channel " << own << ")";
        }
        RecordProperty("levels", matrix);
        // The ratio tells a pitch-moved tone (the reason for level's band)
        // from a quiet one; late cycles tell a loaded machine.
        std::printf(
            "%s levels (row: tone, column: the layout's positions):%s\n(ratio %.4f, underruns "
            "%llu, late cycles %llu)\n",
            name.c_str(), matrix.c_str(), stats.ratio,
            static_cast<unsigned long long>(stats.underruns),
            static_cast<unsigned long long>(stats.late_cycles));
    }

    static PipeWireDaemon* daemon_;
};
PipeWireDaemon* SpeakerPositionsE2E::daemon_ = nullptr;

TEST_F(SpeakerPositionsE2E, QuadRearsComeFromTheRearSpeakers) {
    check_layout("quad", 4, speaker::quad);
}

TEST_F(SpeakerPositionsE2E, TwoPointOneSubComesFromTheSub) {
    check_layout("2.1", 3, speaker::layout_2_1);
}

TEST_F(SpeakerPositionsE2E, SideFivePointOneComesFromTheSideSpeakers) {
    check_layout("5.1-side", 6, speaker::layout_5_1_side);
}

TEST_F(SpeakerPositionsE2E, BackFivePointOneComesFromTheRearSpeakers) {
    check_layout("5.1-back", 6, speaker::layout_5_1_back);
}

TEST_F(SpeakerPositionsE2E, SevenPointOneFillsEverySpeaker) {
    check_layout("7.1", 8, speaker::layout_7_1);
}

TEST_F(SpeakerPositionsE2E, StereoStaysFrontLeftAndRight) {
    check_layout("2.0", 2, speaker::stereo);
}

}  // namespace
}  // namespace porthole::test
