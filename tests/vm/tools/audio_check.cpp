// vm-audio-check: the host side of the VM audio test. Starts a private
// PipeWire daemon with a null sink (the audio tests' harness), records the
// sink with pw-record, runs the porthole client on the VM's region for a few
// seconds and checks that what reached the sink is the agent's test tone
// (both channels correlate > 0.9 in at least nine of ten 20 ms windows) and
// that porthole's --stats said it was playing.
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

    // porthole's own view: playing, and the trims it made.
    int playing = 0;
    std::uint64_t trims = 0;
    std::istringstream lines(log);
    for (std::string line; std::getline(lines, line);) {
        if (line.empty() || line.front() != '{') continue;
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_discarded() || !j["audio"].is_object()) continue;
        const auto& a = j["audio"];
        if (!a["playing"].is_boolean() || !a["playing"].get<bool>()) continue;
        ++playing;
        if (a["trims"].is_number_unsigned()) trims = a["trims"].get<std::uint64_t>();
    }
    if (playing < 2) return fail("porthole's --stats never reported audio playing", log);

    std::uint16_t channels = 0;
    auto samples = porthole::test::read_wav_f32(wav, channels);
    if (!samples) return fail(samples.error().message, log);
    const std::size_t frames = samples->size() / std::max<std::uint16_t>(channels, 1);
    if (channels != 2 || frames < 48000U * 3)
        return fail(fmt::format("capture too short: {} frames, {} channels", frames, channels),
                    log);
    // Ten 20 ms windows over the last 2.5 s; a cut (a trim, or a stall of the
    // recorder) may spoil one.
    porthole::agent::audio::ToneGenerator tone({48000, 2, porthole::protocol::SampleFormat::f32});
    const auto windows =
        porthole::test::match_windows(*samples, tone, frames - 48000 * 5 / 2, 10, 9600);
    const std::size_t good = porthole::test::matching(windows, 0.9);
    fmt::print("vm-audio-check: {} s captured, {} trims; {}\n", frames / 48000, trims,
               porthole::test::describe(windows, 0.9));
    if (windows.size() != 10 || good < 9)
        return fail("the sink did not receive the agent's tone", log);
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
