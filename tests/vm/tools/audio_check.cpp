// vm-audio-check: the host side of the VM audio test. Starts a private
// PipeWire daemon with a null sink (the audio tests' harness), records the
// sink with pw-record, runs the porthole client on the VM's region for a few
// seconds and checks that what reached the sink is the agent's test tone
// (both channels, correlation > 0.9 at the playback ratio porthole reported)
// and that porthole's --stats said it was playing.
// usage: vm-audio-check REGION CLIENT SECONDS
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "audio/tone.hpp"
#include "pipewire_daemon.hpp"
#include "tone_match.hpp"

namespace {

using porthole::test::Child;
using porthole::test::PipeWireDaemon;

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

int fail(const std::string& why, const std::string& log) {
    fmt::print(stderr, "vm-audio-check: {}\n---- porthole ----\n{}\n", why, log);
    return 1;
}

int run(int argc, char** argv) {
    if (argc != 4) {
        fmt::print(stderr, "usage: vm-audio-check REGION CLIENT SECONDS\n");
        return 2;
    }
    const std::string region = argv[1], client_bin = argv[2];
    const int seconds = std::atoi(argv[3]);
    auto daemon = PipeWireDaemon::start();
    if (!daemon) return fail("cannot start PipeWire: " + daemon.error().message, "");
    const std::string dir = daemon->dir();
    const std::string wav = dir + "/capture.wav", client_log = dir + "/porthole.log";
    auto recorder = Child::spawn(
        {"pw-record", "--target", PipeWireDaemon::kSink, "-P", "{ stream.capture.sink=true }",
         "--rate", "48000", "--channels", "2", "--format", "f32", wav},
        wav + ".log");
    if (!recorder) return fail(recorder.error().message, "");
    // A guest under TCG delivers its audio in bursts: a roomier latency target.
    auto client = Child::spawn({client_bin, "--shm", region, "--headless", "--audio-latency", "60",
                                "--stats", "--log-level", "info"},
                               client_log);
    if (!client) return fail(client.error().message, "");
    std::this_thread::sleep_for(std::chrono::seconds(seconds));
    const bool ran = client->running();
    client->stop(SIGTERM);
    recorder->stop(SIGINT);
    const std::string log = slurp(client_log);
    if (!ran) return fail("porthole exited early", log);

    // porthole's own view: playing, and the ratio it plays at.
    double ratio = 1.0;  // searched within +-3% of what porthole reports
    int playing = 0;
    std::istringstream lines(log);
    for (std::string line; std::getline(lines, line);) {
        if (line.empty() || line.front() != '{') continue;
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_discarded() || !j["audio"].is_object()) continue;
        const auto& a = j["audio"];
        if (!a["playing"].is_boolean() || !a["playing"].get<bool>()) continue;
        ++playing;
        if (a["ratio"].is_number()) ratio = a["ratio"].get<double>();
    }
    if (playing < 2) return fail("porthole's --stats never reported audio playing", log);

    std::uint16_t channels = 0;
    auto samples = porthole::test::read_wav_f32(wav, channels);
    if (!samples) return fail(samples.error().message, log);
    const std::size_t frames = samples->size() / std::max<std::uint16_t>(channels, 1);
    if (channels != 2 || frames < 48000U * 3)
        return fail(fmt::format("capture too short: {} frames, {} channels", frames, channels),
                    log);
    porthole::agent::audio::ToneGenerator tone({48000, 2, porthole::protocol::SampleFormat::f32});
    const auto t0 = porthole::test::tone_table(tone, 0), t1 = porthole::test::tone_table(tone, 1);
    const std::size_t at = frames - 48000 * 2;  // inside the steady part, before the end
    std::vector<float> left, right;
    for (std::size_t i = 0; i < 4800; ++i) {
        left.push_back((*samples)[2 * (at + i)]);
        right.push_back((*samples)[2 * (at + i) + 1]);
    }
    double best = -1, best_r = 1, best_off = 0;
    for (double r = ratio - 0.03; r <= ratio + 0.0301; r += 0.0025)
        for (std::uint64_t off = 0; off < tone.period_frames(); off += 2)
            if (const double c =
                    porthole::test::correlation_at(left, t0, r, static_cast<double>(off));
                c > best)
                best = c, best_r = r, best_off = static_cast<double>(off);
    // Refine around the coarse match; the right channel must match its own
    // sweep near the same place and speed (swapped channels would be a
    // quarter period off and fail).
    auto refine = [&](const std::vector<float>& got, const std::vector<double>& table) {
        double c_best = -1, r_best = best_r, o_best = best_off;
        for (double r = best_r - 0.003; r <= best_r + 0.00301; r += 0.0002)
            for (double off = best_off - 24; off <= best_off + 24; off += 0.5)
                if (const double c =
                        porthole::test::correlation_at(got, table, r, std::max(off, 0.0));
                    c > c_best)
                    c_best = c, r_best = r, o_best = off;
        return std::tuple{c_best, r_best, o_best};
    };
    const auto [left_c, left_r, left_off] = refine(left, t0);
    best = left_c;
    best_r = left_r;
    best_off = left_off;
    const double right_c = std::get<0>(refine(right, t1));
    fmt::print(
        "vm-audio-check: {} s captured, left correlation {:.3f} at ratio {:.4f}, right {:.3f}\n",
        frames / 48000, best, best_r, right_c);
    if (best < 0.9 || right_c < 0.9) return fail("the sink did not receive the agent's tone", log);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    // Caught, so that the daemons' destructors end them.
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        fmt::print(stderr, "vm-audio-check: {}\n", e.what());
        return 1;
    }
}
