// The porthole program plays the agent's audio: porthole-agent writes its
// test tone into a region file, porthole --headless plays it into a private
// PipeWire daemon's null sink, pw-record captures the sink; the capture must
// be the tone, and porthole's --stats must report the latency target held.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "audio/tone.hpp"
#include "pipewire_daemon.hpp"
#include "tone_match.hpp"

#ifndef PORTHOLE_AGENT_BIN
#error "PORTHOLE_AGENT_BIN and PORTHOLE_CLIENT_BIN must name the programs"
#endif

namespace porthole::test {
namespace {

using namespace std::chrono_literals;

std::vector<nlohmann::json> stats_lines(const std::string& path) {
    std::vector<nlohmann::json> out;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line.front() != '{') continue;
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (!j.is_discarded()) out.push_back(std::move(j));
    }
    return out;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// The null sink's clock over lines [from, to) of --stats: frames it asked for
// per second of monotonic time (48000 is real time).
double sink_rate(const std::vector<nlohmann::json>& lines, std::size_t from, std::size_t to) {
    const auto& a = lines[from]["audio"];
    const auto& b = lines[to - 1]["audio"];
    if (!a.contains("at_s") || !b.contains("at_s")) return 0;
    const double dt = b["at_s"].get<double>() - a["at_s"].get<double>();
    if (dt <= 0) return 0;
    return static_cast<double>(b["frames_out"].get<std::uint64_t>() -
                               a["frames_out"].get<std::uint64_t>()) /
           dt;
}

// The agent playing its tone into a region, porthole playing the region into
// a private PipeWire, pw-record capturing the sink.
struct PlayingClient {
    PipeWireDaemon daemon;
    Child agent, recorder, client;
    std::string wav, client_log;
};

// client_prefix: a command porthole runs under (e.g. one that takes rights away).
Result<PlayingClient> start_playing(const std::vector<std::string>& agent_extra = {},
                                    const std::vector<std::string>& client_extra = {},
                                    const std::vector<std::string>& client_prefix = {}) {
    auto daemon = PipeWireDaemon::start();
    if (!daemon) return daemon.error();
    const std::string dir = daemon->dir();
    const std::string region = dir + "/region";
    std::vector<std::string> agent_args = {PORTHOLE_AGENT_BIN,
                                           "--shm",
                                           region,
                                           "--shm-size",
                                           "32",
                                           "--capture",
                                           "pattern",
                                           "--width",
                                           "320",
                                           "--height",
                                           "240",
                                           "--fps-limit",
                                           "10",
                                           "--input",
                                           "none",
                                           "--audio",
                                           "tone"};
    agent_args.insert(agent_args.end(), agent_extra.begin(), agent_extra.end());
    auto agent = Child::spawn(agent_args, dir + "/agent.log");
    if (!agent) return agent.error();
    // porthole waits for the region file to hold a session; give the agent a moment to create it.
    for (int i = 0; i < 100 && !std::filesystem::exists(region); ++i)
        std::this_thread::sleep_for(20ms);
    if (!std::filesystem::exists(region))
        return Error::make("the agent made no region: " + read_file(dir + "/agent.log"));
    const std::string wav = dir + "/capture.wav";
    auto recorder = Child::spawn(
        {"pw-record", "--target", PipeWireDaemon::kSink, "-P", "{ stream.capture.sink=true }",
         "--rate", "48000", "--channels", "2", "--format", "f32", wav},
        wav + ".log");
    if (!recorder) return recorder.error();
    const std::string client_log = dir + "/porthole.log";
    std::vector<std::string> client_args = {PORTHOLE_CLIENT_BIN, "--shm", region, "--headless",
                                            "--stats"};
    if (std::find(client_extra.begin(), client_extra.end(), "--audio-latency") ==
        client_extra.end())
        client_args.insert(client_args.end(), {"--audio-latency", "20"});
    client_args.insert(client_args.end(), client_extra.begin(), client_extra.end());
    client_args.insert(client_args.begin(), client_prefix.begin(), client_prefix.end());
    auto client = Child::spawn(client_args, client_log);
    if (!client) return client.error();
    return PlayingClient{
        std::move(*daemon), std::move(*agent), std::move(*recorder), std::move(*client), wav,
        client_log};
}

TEST(ClientAudio, PortholePlaysTheAgentsToneAtTheTargetLatency) {
    auto run = start_playing();
    ASSERT_TRUE(run) << run.error().message;
    auto& [daemon, agent, recorder, client, wav, client_log] = *run;
    std::this_thread::sleep_for(8s);
    EXPECT_TRUE(client.running()) << read_file(client_log);
    client.stop(SIGTERM);
    recorder.stop(SIGINT);
    agent.stop();

    // --stats: the audio fields, latency near the target, no underrun once started.
    const auto lines = stats_lines(client_log);
    ASSERT_GE(lines.size(), 6U) << read_file(client_log);
    std::uint64_t underruns_at_4s = 0;
    std::vector<double> latencies;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const auto& a = lines[i]["audio"];
        ASSERT_TRUE(a.is_object()) << lines[i].dump() << "\n" << read_file(client_log);
        EXPECT_TRUE(a["scream"].is_null()) << "the agent's region is no Scream ring";
        if (i < 4) {
            underruns_at_4s = a["underruns"].get<std::uint64_t>();
            continue;
        }
        if (i + 1 == lines.size()) break;  // the partial last second, taken while stopping
        EXPECT_TRUE(a["playing"].get<bool>()) << lines[i].dump();
        latencies.push_back(a["latency_ms"].get<double>());
    }
    ASSERT_GE(latencies.size(), 2U);
    const double rate = sink_rate(lines, 4, lines.size() - 1);
    RecordProperty("sink_rate", std::to_string(rate));
    SKIP_IF_THE_SINK_LOST_REAL_TIME(rate, 0.008);
    // Each line is a snapshot: the median, so that one taken in the few
    // hundred ms between a host stall and its trim does not decide.
    std::sort(latencies.begin(), latencies.end());
    const double median = latencies[latencies.size() / 2];
    RecordProperty("latency_ms", std::to_string(median));
    EXPECT_NEAR(median, 20.0, 2.0) << read_file(client_log);
    const auto& last = lines[lines.size() - 2]["audio"];
    EXPECT_EQ(last["underruns"].get<std::uint64_t>(), underruns_at_4s);
    EXPECT_LE(std::abs(last["ratio"].get<double>() - 1.0), 0.0101);

    // What reached the sink is the tone on both channels: ten 20 ms windows
    // over the last 2.5 s. A stall of the recorder or of the client on this
    // shared machine leaves a cut in the capture; one window may hold it.
    std::uint16_t channels = 0;
    auto samples = read_wav_f32(wav, channels);
    ASSERT_TRUE(samples) << samples.error().message;
    ASSERT_EQ(channels, 2);
    const std::size_t frames = samples->size() / 2;
    ASSERT_GT(frames, 48000U * 5) << "the capture is too short";
    agent::audio::ToneGenerator tone({48000, 2, protocol::SampleFormat::f32});
    const auto windows = match_windows(*samples, tone, frames - 48000 * 5 / 2, 10, 9600);
    ASSERT_EQ(windows.size(), 10U);
    EXPECT_GE(matching(windows, 0.9), 9U)
        << describe(windows, 0.9) << "; trims " << last["trims"].get<std::uint64_t>();
}

// The client stopped for 60 ms (SIGSTOP: a desktop under load, a debugger)
// while the guest writes on: on resuming it holds 60 ms too much. porthole
// cuts the excess out in one crossfaded trim, keeps playing the tone, and is
// back at the target within a second, without a pitch swing.
TEST(ClientAudio, StalledClientTrimsTheExcessAndReturnsToTheTarget) {
    auto run = start_playing();
    ASSERT_TRUE(run) << run.error().message;
    auto& [daemon, agent, recorder, client, wav, client_log] = *run;
    std::this_thread::sleep_for(4s);
    ::kill(client.pid(), SIGSTOP);
    std::this_thread::sleep_for(60ms);
    ::kill(client.pid(), SIGCONT);
    std::this_thread::sleep_for(4500ms);
    EXPECT_TRUE(client.running()) << read_file(client_log);
    client.stop(SIGTERM);
    recorder.stop(SIGINT);
    agent.stop();

    const auto lines = stats_lines(client_log);
    ASSERT_GE(lines.size(), 8U) << read_file(client_log);
    const auto& last = lines[lines.size() - 2]["audio"];
    ASSERT_TRUE(last.is_object()) << read_file(client_log);
    const double rate = sink_rate(lines, lines.size() - 4, lines.size() - 1);  // after the stall
    RecordProperty("sink_rate", std::to_string(rate));
    SKIP_IF_THE_SINK_LOST_REAL_TIME(rate, 0.008);
    EXPECT_GE(last["trims"].get<std::uint64_t>(), 1U) << read_file(client_log);
    EXPECT_EQ(last["overruns"].get<std::uint64_t>(), 0U) << "a restart, not a trim";
    // The three seconds before the end: back at the target, at an unbent
    // pitch. Lines are snapshots: one taken between a later host stall and
    // its trim may be above; the median may not.
    std::vector<double> end_latencies;
    for (std::size_t i = lines.size() - 4; i < lines.size() - 1; ++i) {
        const auto& a = lines[i]["audio"];
        end_latencies.push_back(a["latency_ms"].get<double>());
        EXPECT_LE(std::abs(a["ratio"].get<double>() - 1.0), 0.005) << lines[i].dump();
    }
    std::sort(end_latencies.begin(), end_latencies.end());
    EXPECT_NEAR(end_latencies[1], 20.0, 2.0) << read_file(client_log);
    std::uint16_t channels = 0;
    auto samples = read_wav_f32(wav, channels);
    ASSERT_TRUE(samples) << samples.error().message;
    ASSERT_EQ(channels, 2);
    const std::size_t frames = samples->size() / 2;
    ASSERT_GT(frames, 48000U * 6) << "the capture is too short";
    agent::audio::ToneGenerator tone({48000, 2, protocol::SampleFormat::f32});
    const auto windows = match_windows(*samples, tone, frames - 48000 * 5 / 2, 10, 9600);
    ASSERT_EQ(windows.size(), 10U);
    EXPECT_GE(matching(windows, 0.9), 9U) << describe(windows, 0.9);
}

// A Scream ring file that does not exist yet when porthole starts (the VM
// not started) is waited for, as the region is, and played once it appears.
TEST(ClientAudio, ScreamRingCreatedAfterTheClientStartsIsWaitedForAndPlayed) {
    const std::string ring = std::filesystem::temp_directory_path() /
                             ("porthole-scream-wait-" + std::to_string(::getpid()));
    std::filesystem::remove(ring);
    auto run = start_playing({}, {"--audio-source", "scream", "--scream-shm", ring,
                                  "--audio-latency", "40", "--log-level", "info"});
    ASSERT_TRUE(run) << run.error().message;
    auto& [daemon, agent, recorder, client, wav, client_log] = *run;
    std::this_thread::sleep_for(1500ms);
    EXPECT_NE(read_file(client_log).find("waiting for the Scream ring"), std::string::npos)
        << read_file(client_log);
    auto producer =
        Child::spawn({PORTHOLE_AUDIO_PRODUCER, "--scream", ring, "--seconds", "30"}, ring + ".log");
    ASSERT_TRUE(producer) << producer.error().message;
    std::this_thread::sleep_for(5s);
    EXPECT_TRUE(client.running()) << read_file(client_log);
    client.stop(SIGTERM);
    recorder.stop(SIGINT);
    producer->stop();
    agent.stop();
    std::filesystem::remove(ring);
    const std::string log = read_file(client_log);
    EXPECT_NE(log.find("audio: Scream ring"), std::string::npos) << log;
    EXPECT_EQ(log.find("audio off"), std::string::npos) << log;
    const auto lines = stats_lines(client_log);
    ASSERT_GE(lines.size(), 5U) << log;
    const auto& a = lines[lines.size() - 2]["audio"];
    ASSERT_TRUE(a.is_object()) << log;
    EXPECT_TRUE(a["playing"].get<bool>()) << lines[lines.size() - 2].dump();
    EXPECT_GT(a["frames_out"].get<std::uint64_t>(), 48000U) << "the sink took seconds of it";
    // --stats shows the format the ring announces (the producer writes
    // Scream's 48 kHz 16-bit stereo, mask FL|FR).
    const auto& f = a["scream"];
    ASSERT_TRUE(f.is_object()) << lines[lines.size() - 2].dump();
    EXPECT_EQ(f["rate"].get<std::uint32_t>(), 48000U);
    EXPECT_EQ(f["channels"].get<int>(), 2);
    EXPECT_EQ(f["bits"].get<int>(), 16);
    EXPECT_EQ(f["channel_mask"].get<int>(), 3);
}

// Without real-time rights (RLIMIT_RTPRIO 0, no CAP_SYS_NICE, and no RTKit
// on a test machine), porthole says so in one line, with why, and plays on
// at normal priority.
TEST(ClientAudio, WithoutRealTimeRightsSaysSoOnceAndPlaysOn) {
    std::vector<std::string> prefix = {"prlimit", "--rtprio=0:0"};
    if (::geteuid() == 0)  // root holds CAP_SYS_NICE: take it away too
        prefix.insert(prefix.end(),
                      {"setpriv", "--inh-caps=-sys_nice", "--bounding-set=-sys_nice"});
    auto run = start_playing({}, {"--log-level", "info"}, prefix);
    ASSERT_TRUE(run) << run.error().message;
    auto& [daemon, agent, recorder, client, wav, client_log] = *run;
    std::this_thread::sleep_for(4s);
    EXPECT_TRUE(client.running()) << read_file(client_log);
    client.stop(SIGTERM);
    recorder.stop(SIGINT);
    agent.stop();
    const std::string log = read_file(client_log);
    const std::string line = "no real-time priority for the audio thread";
    const auto at = log.find(line);
    ASSERT_NE(at, std::string::npos) << log;
    RecordProperty("fallback_line", log.substr(at, log.find('\n', at) - at));
    EXPECT_EQ(log.find(line, at + 1), std::string::npos) << "said more than once:\n" << log;
    EXPECT_NE(log.find("RLIMIT_RTPRIO is 0", at), std::string::npos) << log;
    const auto lines = stats_lines(client_log);
    ASSERT_GE(lines.size(), 3U) << log;
    const auto& a = lines[lines.size() - 2]["audio"];
    ASSERT_TRUE(a.is_object()) << log;
    EXPECT_TRUE(a["playing"].get<bool>()) << lines[lines.size() - 2].dump();
}

// Plays for a few seconds and returns the RMS of the capture's last two
// seconds (two whole periods of the sweep) relative to the tone's own.
Result<double> relative_level(const std::vector<std::string>& agent_extra,
                              const std::vector<std::string>& client_extra) {
    auto run = start_playing(agent_extra, client_extra);
    if (!run) return run.error();
    auto& [daemon, agent, recorder, client, wav, client_log] = *run;
    std::this_thread::sleep_for(5s);
    if (!client.running()) return Error::make("porthole exited: " + read_file(client_log));
    client.stop(SIGTERM);
    recorder.stop(SIGINT);
    agent.stop();
    std::uint16_t channels = 0;
    auto samples = read_wav_f32(wav, channels);
    if (!samples) return samples.error();
    const std::size_t frames = samples->size() / 2;
    if (channels != 2 || frames < 48000U * 3) return Error::make("the capture is too short");
    double got = 0;
    for (std::size_t i = (frames - 48000 * 2) * 2; i < frames * 2; ++i)
        got += double{(*samples)[i]} * (*samples)[i];
    agent::audio::ToneGenerator tone({48000, 2, protocol::SampleFormat::f32});
    double want = 0;
    for (std::uint64_t n = 0; n < tone.period_frames(); ++n) {
        for (std::uint32_t c = 0; c < 2; ++c)
            want += double{tone.sample(n, c)} * tone.sample(n, c);
    }
    return std::sqrt((got / double(48000 * 2 * 2)) / (want / double(tone.period_frames() * 2)));
}

// The guest's volume, sent in the channel, is applied with
// --audio-follow-volume and only then.
TEST(ClientAudio, GuestVolumeIsAppliedWhenFollowingIsAsked) {
    const auto followed = relative_level({"--tone-volume", "0.25"}, {"--audio-follow-volume"});
    ASSERT_TRUE(followed) << followed.error().message;
    EXPECT_NEAR(*followed, 0.25, 0.02);
    const auto ignored = relative_level({"--tone-volume", "0.25"}, {});
    ASSERT_TRUE(ignored) << ignored.error().message;
    EXPECT_NEAR(*ignored, 1.0, 0.08);
}

TEST(ClientAudio, GuestMuteSilencesTheStreamWhenFollowing) {
    const auto muted = relative_level({"--tone-mute"}, {"--audio-follow-volume"});
    ASSERT_TRUE(muted) << muted.error().message;
    EXPECT_LT(*muted, 0.001);
}

}  // namespace
}  // namespace porthole::test
