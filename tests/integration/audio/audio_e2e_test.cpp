// End to end with a real PipeWire daemon (private, null sink): a producer
// process writes the agent's tone into a region (or a Scream ring); this
// process plays it with AudioPlayback through the real protocol; pw-record
// captures what reaches the sink, and the capture must be the sent signal.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "audio/playback.hpp"
#include "audio/scream_ring.hpp"
#include "audio/source.hpp"
#include "audio/tone.hpp"
#include "pipewire_daemon.hpp"
#include "porthole/ivshmem/mapping.hpp"
#include "porthole/protocol/session.hpp"
#include "porthole/util/adaptive_wait.hpp"
#include "support/command_output.hpp"
#include "tone_match.hpp"

#ifndef PORTHOLE_AUDIO_PRODUCER
#error "PORTHOLE_AUDIO_PRODUCER must name the producer binary"
#endif

namespace porthole::test {
namespace {

using namespace std::chrono_literals;

struct StatsLog {
    std::mutex mutex;
    std::vector<std::pair<double, client::audio::PlaybackStats>> samples;  // (seconds, stats)

    // The null sink's clock from `from` seconds on: frames it asked for per
    // second (48000 is real time).
    double sink_rate(double from) const {
        const auto first = std::find_if(samples.begin(), samples.end(),
                                        [&](const auto& p) { return p.first >= from; });
        if (first == samples.end() || samples.back().first <= first->first) return 0;
        return static_cast<double>(samples.back().second.frames_out - first->second.frames_out) /
               (samples.back().first - first->first);
    }
};

class PipeWireAudio : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        auto d = PipeWireDaemon::start();
        ASSERT_TRUE(d) << d.error().message;
        daemon_ =
            new PipeWireDaemon(std::move(*d));  // NOLINT: suite-wide, deleted in TearDownTestSuite
    }
    static void TearDownTestSuite() {
        delete daemon_;  // NOLINT
        daemon_ = nullptr;
    }
    std::string path(const std::string& name) const { return daemon_->dir() + "/" + name; }

    Child start_recorder(const std::string& wav) {
        auto r = Child::spawn(
            {"pw-record", "--target", PipeWireDaemon::kSink, "-P", "{ stream.capture.sink=true }",
             "--rate", "48000", "--channels", "2", "--format", "f32", wav},
            wav + ".log");
        EXPECT_TRUE(r) << r.error().message;
        return r ? std::move(*r) : Child{};
    }

    // Plays the region's audio for `seconds` while a host loop follows the
    // agent's session; logs the playback's stats every 100 ms.
    void play_region(client::audio::AudioPlayback& playback, const std::string& region,
                     double seconds, StatsLog& log) {
        std::optional<ivshmem::Mapping> map;
        const auto start = std::chrono::steady_clock::now();
        while (!map && std::chrono::steady_clock::now() - start < 5s) {
            auto m = ivshmem::open_host_region(region, protocol::kPageSize);
            if (m)
                map.emplace(std::move(*m));
            else
                std::this_thread::sleep_for(20ms);
        }
        ASSERT_TRUE(map) << "the producer never created " << region;
        protocol::HostSession session(map->bytes(), 0, "audio-e2e-test");
        auto next_log = start;
        bool attached = false;
        while (std::chrono::steady_clock::now() - start < std::chrono::duration<double>(seconds)) {
            const auto poll = session.poll(monotonic_ns());
            if (poll.new_session) {
                auto ch = session.attach_channels();
                ASSERT_TRUE(ch) << ch.error().message;
                ASSERT_TRUE(ch->audio.has_value());
                playback.set_reader(std::move(*ch->audio));
                attached = true;
            }
            const auto now = std::chrono::steady_clock::now();
            if (now >= next_log) {
                std::lock_guard lock(log.mutex);
                log.samples.emplace_back(std::chrono::duration<double>(now - start).count(),
                                         playback.stats());
                if (std::getenv("PORTHOLE_AUDIO_TRACE") != nullptr) {
                    const auto& [t, st] = log.samples.back();
                    std::printf(
                        "%6.2f s latency %.2f ms (target %.2f, pipewire %.2f) ratio %.5f under "
                        "%llu "
                        "over %llu resets %llu trims %llu late %llu frames %llu playing %d\n",
                        t, st.latency_ms, st.target_ms, st.output_delay_ms, st.ratio,
                        static_cast<unsigned long long>(st.underruns),
                        static_cast<unsigned long long>(st.overruns),
                        static_cast<unsigned long long>(st.resets),
                        static_cast<unsigned long long>(st.trims),
                        static_cast<unsigned long long>(st.late_cycles),
                        static_cast<unsigned long long>(st.frames_out), st.playing ? 1 : 0);
                }
                next_log += 100ms;
            }
            std::this_thread::sleep_for(5ms);
        }
        EXPECT_TRUE(attached) << "no agent session appeared";
        playback.set_source(nullptr);  // before the mapping goes away
    }

    static PipeWireDaemon* daemon_;
};
PipeWireDaemon* PipeWireAudio::daemon_ = nullptr;

TEST_F(PipeWireAudio, ClientPlaysTheAgentsToneAtTheTargetLatency) {
    const std::string region = path("region-tone");
    auto producer = Child::spawn({PORTHOLE_AUDIO_PRODUCER, "--region", region, "--seconds", "30"},
                                 region + ".log");
    ASSERT_TRUE(producer);
    auto playback = client::audio::AudioPlayback::create({});
    ASSERT_TRUE(playback) << playback.error().message;
    const std::string wav = path("tone.wav");
    Child recorder = start_recorder(wav);
    StatsLog log;
    play_region(**playback, region, 7.0, log);
    recorder.stop(SIGINT);
    producer->stop();

    // Latency: the median of the last 3 s (10 samples a second), within 2 ms
    // of the 20 ms target; no underrun once playing.
    std::vector<double> latencies;
    std::uint64_t underruns_at_4s = 0;
    for (const auto& [t, s] : log.samples) {
        if (t < 4.0) {
            underruns_at_4s = s.underruns;
            continue;
        }
        EXPECT_TRUE(s.playing) << "at " << t << " s";
        latencies.push_back(s.latency_ms);
    }
    ASSERT_GT(latencies.size(), 10U);
    std::sort(latencies.begin(), latencies.end());
    const double median = latencies[latencies.size() / 2];
    const auto& last = log.samples.back().second;
    RecordProperty("latency_ms", std::to_string(median));
    RecordProperty("pipewire_delay_ms", std::to_string(last.output_delay_ms));
    const double sink_rate = log.sink_rate(4.0);
    RecordProperty("sink_rate", std::to_string(sink_rate));
    SKIP_IF_THE_SINK_LOST_REAL_TIME(sink_rate, 0.008);
    EXPECT_NEAR(median, 20.0, 2.0)
        << "PipeWire's own delay: " << last.output_delay_ms << " ms; the null sink ran at "
        << sink_rate << " frames/s (48000 is real time)";
    EXPECT_EQ(last.underruns, underruns_at_4s);

    // What reached the sink is the tone, on both channels, in order.
    std::uint16_t channels = 0;
    auto samples = read_wav_f32(wav, channels);
    ASSERT_TRUE(samples) << samples.error().message;
    ASSERT_EQ(channels, 2);
    const std::size_t frames = samples->size() / 2;
    ASSERT_GT(frames, 48000U * 5) << "the capture is too short";
    // Ten 20 ms windows over the last 2.5 s; a stall of the recorder or the
    // client on this shared machine leaves a cut in the capture that one may
    // hold.
    agent::audio::ToneGenerator tone({48000, 2, protocol::SampleFormat::f32});
    const auto windows = match_windows(*samples, tone, frames - 48000 * 5 / 2, 10, 9600);
    ASSERT_EQ(windows.size(), 10U);
    EXPECT_GE(matching(windows, 0.9), 9U) << describe(windows, 0.9) << "; trims " << last.trims;
}

TEST_F(PipeWireAudio, DriftingGuestClockNeverUnderrunsAndHoldsTheTarget) {
    // 0.5% fast for 6 s, then 0.5% slow: real time here; the 10-minute run is
    // the simulated-time unit test (PlayoutEngine.DriftingGuestClock...).
    const std::string region = path("region-drift");
    auto producer =
        Child::spawn({PORTHOLE_AUDIO_PRODUCER, "--region", region, "--seconds", "30",
                      "--clock-scale", "1.005", "--then-scale", "0.995", "--switch-after", "7"},
                     region + ".log");
    ASSERT_TRUE(producer);
    auto playback = client::audio::AudioPlayback::create({});
    ASSERT_TRUE(playback) << playback.error().message;
    StatsLog log;
    play_region(**playback, region, 13.0, log);
    producer->stop();
    // One-second averages of the smoothed latency. A graph stall on a busy
    // machine is cut out by a trim: the second that holds it is the stall's,
    // not the drift's. A drift the ratio lost would be a trend, or (0.5% is
    // 5 ms a second) a trim every second or two.
    // The guest's clock steps by 1% at once (about 7 s in): the controller
    // re-acquires the drift and glides the ratio there below audibility, so
    // the latency sinks a few ms for the seconds that takes (the old fast
    // loop held 3 ms there by swinging the pitch 17 cents). That step is
    // bounded on its own; everywhere else the target holds within 3 ms.
    constexpr double kStepFrom = 6.0, kStepTo = 10.0;
    std::uint64_t underruns_at_3s = 0, trims_at_3s = 0, trims_before = 0;
    double worst = 0, worst_step = 0, sum = 0;
    int n = 0;
    double window_end = 4.0;
    for (const auto& [t, s] : log.samples) {
        if (t < 3.0) {
            underruns_at_3s = s.underruns;
            trims_at_3s = trims_before = s.trims;
            continue;
        }
        if (t >= window_end && n > 0) {
            if (s.trims == trims_before) {
                const double err = std::abs(sum / n - 20.0);
                const bool step = window_end > kStepFrom && window_end <= kStepTo;
                (step ? worst_step : worst) = std::max(step ? worst_step : worst, err);
            }
            trims_before = s.trims;
            sum = 0;
            n = 0;
            window_end += 1.0;
        }
        sum += s.latency_ms;
        ++n;
    }
    const auto& last = log.samples.back().second;
    RecordProperty("worst_latency_error_ms", std::to_string(worst));
    RecordProperty("worst_latency_error_at_the_step_ms", std::to_string(worst_step));
    const double rate = log.sink_rate(3.0);
    RecordProperty("sink_rate", std::to_string(rate));
    SKIP_IF_THE_SINK_LOST_REAL_TIME(rate, 0.004);  // with the guest's own 0.5%, past the 1%
    RecordProperty("trims", std::to_string(last.trims - trims_at_3s));
    EXPECT_EQ(last.underruns, underruns_at_3s);
    EXPECT_EQ(last.overruns, 0U);
    // A few host stalls in ten seconds on a shared machine each earn a trim;
    // drift lost to trims would need five or more.
    EXPECT_LE(last.trims - trims_at_3s, 3U);
    EXPECT_LT(worst, 3.0);
    EXPECT_LT(worst_step, 6.0);
    // The controller really compensates: the ratio follows the slow guest.
    EXPECT_LT(last.ratio, 1.0);
}

TEST_F(PipeWireAudio, ScreamRingPlaysCorrectly) {
    const std::string ring = path("scream-ring");
    auto producer =
        Child::spawn({PORTHOLE_AUDIO_PRODUCER, "--scream", ring, "--seconds", "30"}, ring + ".log");
    ASSERT_TRUE(producer);
    client::audio::PlaybackOptions o;
    o.latency_ms = 40;  // Scream publishes 20 ms chunks
    auto playback = client::audio::AudioPlayback::create(o);
    ASSERT_TRUE(playback) << playback.error().message;
    std::optional<ivshmem::Mapping> map;
    for (int i = 0; i < 250 && !map; ++i) {
        auto m = ivshmem::open_host_region(ring, 4096);
        if (m)
            map.emplace(std::move(*m));
        else
            std::this_thread::sleep_for(20ms);
    }
    ASSERT_TRUE(map);
    const std::string wav = path("scream.wav");
    Child recorder = start_recorder(wav);
    (*playback)->set_source(client::audio::make_scream_source(map->bytes()));
    // The last 2 s of 6: ten snapshots, their median latency near the target.
    std::this_thread::sleep_for(4s);
    std::vector<double> latencies;
    client::audio::PlaybackStats stats;
    for (int i = 0; i < 10; ++i) {
        std::this_thread::sleep_for(200ms);
        stats = (*playback)->stats();
        EXPECT_TRUE(stats.playing) << "snapshot " << i;
        latencies.push_back(stats.latency_ms);
    }
    (*playback)->set_source(nullptr);
    recorder.stop(SIGINT);
    producer->stop();
    EXPECT_TRUE(stats.error.empty()) << stats.error;
    std::sort(latencies.begin(), latencies.end());
    EXPECT_NEAR(latencies[latencies.size() / 2], 40.0, 4.0);

    std::uint16_t channels = 0;
    auto samples = read_wav_f32(wav, channels);
    ASSERT_TRUE(samples) << samples.error().message;
    ASSERT_EQ(channels, 2);
    const std::size_t frames = samples->size() / 2;
    ASSERT_GT(frames, 48000U * 4);
    // s16 in the ring: still the same signal, closely.
    agent::audio::ToneGenerator tone({48000, 2, protocol::SampleFormat::f32});
    const auto windows = match_windows(*samples, tone, frames - 48000 * 5 / 2, 10, 9600);
    ASSERT_EQ(windows.size(), 10U);
    EXPECT_GE(matching(windows, 0.95), 9U) << describe(windows, 0.95) << "; trims " << stats.trims;
}

}  // namespace
}  // namespace porthole::test

namespace porthole::test {
namespace {

// A Linux guest's sound: the tone played by the client's AudioPlayback into
// the default sink, and the agent's PipeWire source capturing that sink's
// monitor into a second channel.
struct GuestSinkCapture {
    std::vector<std::byte> played = std::vector<std::byte>(protocol::kPageSize + 512 * 1024);
    std::vector<std::byte> captured = std::vector<std::byte>(protocol::kPageSize + 512 * 1024);
    std::optional<protocol::AudioWriter> tone_writer, capture_writer;
    std::unique_ptr<agent::audio::AudioSource> tone, capture;
    std::unique_ptr<client::audio::AudioPlayback> playback;
    std::optional<protocol::AudioReader> reader;

    // Empty once everything runs, else what failed.
    std::string start() {
        auto tw = protocol::AudioWriter::create(played);
        auto cw = protocol::AudioWriter::create(captured);
        if (!tw || !cw) return "no audio channel";
        tone_writer.emplace(std::move(*tw));
        capture_writer.emplace(std::move(*cw));
        auto t = agent::audio::start_audio_source("tone", *tone_writer, {});
        if (!t) return t.error().message;
        tone = std::move(*t);
        auto p = client::audio::AudioPlayback::create({});
        if (!p) return p.error().message;
        playback = std::move(*p);
        playback->set_source(
            client::audio::make_region_source(*protocol::AudioReader::attach(played)));
        auto c = agent::audio::start_audio_source("pipewire", *capture_writer, {});
        if (!c) return c.error().message;
        capture = std::move(*c);
        auto r = protocol::AudioReader::attach(captured);
        if (!r) return r.error().message;
        reader.emplace(std::move(*r));
        return {};
    }
    // Stops the capture and the playback (before the channels go).
    void stop() {
        if (playback) playback->set_source(nullptr);
        capture.reset();
    }
    ~GuestSinkCapture() { stop(); }
};

TEST_F(PipeWireAudio, AgentPipeWireSourceCapturesTheDefaultSink) {
    // Guest side of a Linux guest: whatever plays on the default sink (here
    // the client playing the tone) is captured into a second audio channel.
    GuestSinkCapture g;
    const auto failed = g.start();
    ASSERT_TRUE(failed.empty()) << failed;
    auto& reader = g.reader;
    auto& capture = g.capture;
    std::this_thread::sleep_for(4s);
    const auto f = reader->format();
    ASSERT_TRUE(f && *f);
    EXPECT_EQ((*f)->rate, 48000U);
    reader->skip_to_latest(4800);
    std::vector<float> frames(4800 * 2);
    auto r = reader->read(std::as_writable_bytes(std::span(frames)));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->frames, 4800U);
    EXPECT_GT(capture->stats().frames.load(), 48000U);  // real captured frames, not just silence
    g.stop();
    // The tone on both channels in four 20 ms windows of the last 100 ms.
    agent::audio::ToneGenerator gen({48000, 2, protocol::SampleFormat::f32});
    const auto windows = match_windows(frames, gen, 0, 4, 1200);
    ASSERT_EQ(windows.size(), 4U);
    EXPECT_GE(matching(windows, 0.9), 3U) << describe(windows, 0.9);
}

}  // namespace
}  // namespace porthole::test

namespace porthole::test {
namespace {

// Waits for the channel to report `gain` and `muted`; false after 5 s.
bool wait_volume(const protocol::AudioReader& reader, float gain, bool muted) {
    for (int i = 0; i < 250; ++i) {
        if (std::abs(reader.volume() - gain) < 1e-3F && reader.muted() == muted) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
}

// RMS of the newest 4800 frames of the channel.
double newest_rms(protocol::AudioReader& reader) {
    if (auto f = reader.format(); !f || !*f) return -1;
    reader.skip_to_latest(4800);
    std::vector<float> frames(4800 * 2);
    auto r = reader.read(std::as_writable_bytes(std::span(frames)));
    if (!r || r->frames != 4800) return -1;
    double sum = 0;
    for (float v : frames)
        sum += double{v} * v;
    return std::sqrt(sum / static_cast<double>(frames.size()));
}

TEST_F(PipeWireAudio, AgentPipeWireSourceReportsTheSinksVolumeAndMute) {
    // A Linux guest's sink turned down and muted (what wpctl or the desktop's
    // volume applet does: the sink node's Props): the agent reports both in
    // the channel; the monitor's samples stay as they were mixed.
    GuestSinkCapture g;
    const auto failed = g.start();
    ASSERT_TRUE(failed.empty()) << failed;
    auto& reader = g.reader;
    auto& capture = g.capture;
    for (int i = 0; i < 250 && capture->stats().volume_changes.load() == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_GE(capture->stats().volume_changes.load(), 1U)
        << "the agent never read the sink's volume";
    EXPECT_TRUE(wait_volume(*reader, 1.0F, false));
    std::this_thread::sleep_for(std::chrono::seconds(1));
    const double full = newest_rms(*reader);

    std::string node;
    const auto dump = nlohmann::json::parse(command_output("pw-dump"), nullptr, false);
    for (const auto& obj : dump.is_array() ? dump : nlohmann::json::array()) {
        if (obj.value("type", "") == "PipeWire:Interface:Node" &&
            obj["info"]["props"].value("node.name", "") == PipeWireDaemon::kSink)
            node = std::to_string(obj["id"].get<std::uint32_t>());
    }
    ASSERT_FALSE(node.empty()) << "no node " << PipeWireDaemon::kSink << " in pw-dump";
    ASSERT_FALSE(command_output("pw-cli set-param " + node +
                                " Props '{ channelVolumes: [ 0.5, 0.5 ], mute: true }' && echo ok")
                     .empty());
    EXPECT_TRUE(wait_volume(*reader, 0.5F, true))
        << "channel says " << reader->volume() << (reader->muted() ? " muted" : "");
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const double turned_down = newest_rms(*reader);
    RecordProperty("monitor_level_ratio", std::to_string(turned_down / full));
    ASSERT_FALSE(command_output("pw-cli set-param " + node +
                                " Props '{ channelVolumes: [ 1.0, 1.0 ], mute: false }' && echo ok")
                     .empty());
    EXPECT_TRUE(wait_volume(*reader, 1.0F, false));
    g.stop();
    EXPECT_GT(full, 0.1) << "the tone did not reach the monitor";
    // The monitor is taken before the sink's volume: it still carries the
    // full mix, which is why the volume travels beside it.
    EXPECT_NEAR(turned_down / full, 1.0, 0.05);
}

}  // namespace
}  // namespace porthole::test

namespace porthole::test {
namespace {

// The guest's mix format changes mid-stream (a Windows device set to 44.1 kHz
// 16-bit): the host reconnects its stream at the new rate, and what plays
// after the change is the tone again, with no burst at the switch.
TEST_F(PipeWireAudio, GuestFormatChangeReconnectsAtTheNewRateWithoutABurst) {
    std::vector<std::byte> channel(protocol::kPageSize + 512 * 1024);
    auto writer = protocol::AudioWriter::create(channel);
    ASSERT_TRUE(writer);
    std::atomic<bool> stop{false};
    std::atomic<bool> switched{false};
    std::thread guest([&] {
        // Real time, 5 ms pieces: 3 s at 48 kHz f32, then 44.1 kHz s16.
        for (const protocol::AudioFormat f :
             {protocol::AudioFormat{48000, 2, protocol::SampleFormat::f32},
              protocol::AudioFormat{44100, 2, protocol::SampleFormat::s16}}) {
            if (!writer->set_format(f)) return;
            agent::audio::ToneGenerator tone(f);
            const std::uint64_t start = monotonic_ns();
            std::uint64_t written = 0;
            std::vector<std::byte> buf;
            const double length_s = f.rate == 48000 ? 3.0 : 1e9;
            while (!stop.load()) {
                const double t = static_cast<double>(monotonic_ns() - start) * 1e-9;
                if (t >= length_s) break;
                const auto due = static_cast<std::uint64_t>(t * f.rate);
                if (due > written) {
                    buf.resize((due - written) * f.frame_bytes());
                    tone.render(written, buf);
                    (void)writer->write(buf, monotonic_ns());
                    written = due;
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
            }
            switched.store(true);
        }
    });
    auto playback = client::audio::AudioPlayback::create({});
    ASSERT_TRUE(playback) << playback.error().message;
    const std::string wav = path("format-change.wav");
    Child recorder = start_recorder(wav);
    (*playback)->set_source(
        client::audio::make_region_source(*protocol::AudioReader::attach(channel)));
    std::this_thread::sleep_for(std::chrono::seconds(2));
    const auto before = (*playback)->stats();
    std::this_thread::sleep_for(std::chrono::seconds(5));
    const auto after = (*playback)->stats();
    recorder.stop(SIGINT);
    (*playback)->set_source(nullptr);
    stop.store(true);
    guest.join();
    ASSERT_TRUE(switched.load());
    EXPECT_EQ(before.rate, 48000U);
    EXPECT_EQ(after.rate, 44100U) << "the stream was not reconnected at the guest's new rate";
    EXPECT_TRUE(after.playing);
    EXPECT_TRUE(after.error.empty()) << after.error;

    std::uint16_t channels = 0;
    auto samples = read_wav_f32(wav, channels);
    ASSERT_TRUE(samples) << samples.error().message;
    ASSERT_EQ(channels, 2);
    const std::size_t frames = samples->size() / 2;
    ASSERT_GT(frames, 48000U * 5) << "the capture is too short";
    // No burst anywhere: the tone's amplitude is 0.5; a reset that replays a
    // stale buffer or misreads s16 as f32 goes far beyond it.
    float peak = 0;
    for (float v : *samples)
        peak = std::max(peak, std::abs(v));
    EXPECT_LT(peak, 0.56F);
    // The sweep is defined in time, so the 44.1 kHz tone, resampled to the
    // sink's 48 kHz by PipeWire, matches the 48 kHz generator.
    agent::audio::ToneGenerator tone({48000, 2, protocol::SampleFormat::f32});
    const auto windows = match_windows(*samples, tone, frames - 48000 * 2, 8, 9600);
    ASSERT_EQ(windows.size(), 8U);
    EXPECT_GE(matching(windows, 0.9), 7U) << describe(windows, 0.9);
}

}  // namespace
}  // namespace porthole::test
