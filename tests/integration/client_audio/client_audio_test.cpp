// The porthole program plays the agent's audio: porthole-agent writes its
// test tone into a region file, porthole --headless plays it into a private
// PipeWire daemon's null sink, pw-record captures the sink; the capture must
// be the tone, and porthole's --stats must report the latency target held.
#include <gtest/gtest.h>

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

TEST(ClientAudio, PortholePlaysTheAgentsToneAtTheTargetLatency) {
    auto daemon = PipeWireDaemon::start();
    ASSERT_TRUE(daemon) << daemon.error().message;
    const std::string dir = daemon->dir();
    const std::string region = dir + "/region";

    auto agent = Child::spawn(
        {PORTHOLE_AGENT_BIN, "--shm", region, "--shm-size", "32", "--capture", "pattern", "--width",
         "320", "--height", "240", "--fps-limit", "10", "--input", "none", "--audio", "tone"},
        dir + "/agent.log");
    ASSERT_TRUE(agent) << agent.error().message;
    // porthole waits for the region file to hold a session; give the agent a moment to create it.
    for (int i = 0; i < 100 && !std::filesystem::exists(region); ++i)
        std::this_thread::sleep_for(20ms);
    ASSERT_TRUE(std::filesystem::exists(region)) << read_file(dir + "/agent.log");

    const std::string wav = dir + "/capture.wav";
    auto recorder = Child::spawn(
        {"pw-record", "--target", PipeWireDaemon::kSink, "-P", "{ stream.capture.sink=true }",
         "--rate", "48000", "--channels", "2", "--format", "f32", wav},
        wav + ".log");
    ASSERT_TRUE(recorder) << recorder.error().message;
    const std::string client_log = dir + "/porthole.log";
    auto client = Child::spawn(
        {PORTHOLE_CLIENT_BIN, "--shm", region, "--headless", "--audio-latency", "20", "--stats"},
        client_log);
    ASSERT_TRUE(client) << client.error().message;

    std::this_thread::sleep_for(8s);
    EXPECT_TRUE(client->running()) << read_file(client_log);
    client->stop(SIGTERM);
    recorder->stop(SIGINT);
    agent->stop();

    // --stats: the audio fields, latency near the target, no underrun once started.
    const auto lines = stats_lines(client_log);
    ASSERT_GE(lines.size(), 6U) << read_file(client_log);
    std::uint64_t underruns_at_4s = 0;
    double sum = 0;
    int n = 0;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const auto& a = lines[i]["audio"];
        ASSERT_TRUE(a.is_object()) << lines[i].dump() << "\n" << read_file(client_log);
        if (i < 4) {
            underruns_at_4s = a["underruns"].get<std::uint64_t>();
            continue;
        }
        if (i + 1 == lines.size()) break;  // the partial last second, taken while stopping
        EXPECT_TRUE(a["playing"].get<bool>()) << lines[i].dump();
        sum += a["latency_ms"].get<double>();
        ++n;
    }
    ASSERT_GT(n, 1);
    RecordProperty("latency_ms", std::to_string(sum / n));
    EXPECT_NEAR(sum / n, 20.0, 3.0) << read_file(client_log);
    EXPECT_EQ(lines[lines.size() - 2]["audio"]["underruns"].get<std::uint64_t>(), underruns_at_4s);

    // What reached the sink is the tone on both channels.
    std::uint16_t channels = 0;
    auto samples = read_wav_f32(wav, channels);
    ASSERT_TRUE(samples) << samples.error().message;
    ASSERT_EQ(channels, 2);
    const std::size_t frames = samples->size() / 2;
    ASSERT_GT(frames, 48000U * 5) << "the capture is too short";
    agent::audio::ToneGenerator tone({48000, 2, protocol::SampleFormat::f32});
    const std::size_t at = frames - 48000 * 2;  // 100 ms inside the steady part
    std::vector<float> left, right;
    for (std::size_t i = 0; i < 4800; ++i) {
        left.push_back((*samples)[2 * (at + i)]);
        right.push_back((*samples)[2 * (at + i) + 1]);
    }
    const auto table0 = tone_table(tone, 0);
    const double ratio = lines[lines.size() - 2]["audio"]["ratio"].get<double>();
    const Match l = best_match(left, table0, ratio);
    EXPECT_GT(l.correlation, 0.9) << "ratio " << ratio;
    // The right channel matches its own sweep at the same place and speed
    // (swapped channels would be a quarter period off and fail).
    EXPECT_GT(correlation_at(right, tone_table(tone, 1), l.ratio, static_cast<double>(l.offset)),
              0.9);
}

}  // namespace
}  // namespace porthole::test
