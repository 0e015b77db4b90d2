// audio_test_producer: a stand-in guest for the audio end-to-end tests.
//   region mode: lays out a region file with AgentSession::create and runs
//     the agent's tone source into its audio channel (the real agent path),
//     or with --clock-scale A --then-scale B --switch-after S writes the tone
//     on a drifting clock itself;
//   --scream mode: writes the tone into a Scream IVSHMEM ring file the way
//     Scream's Windows driver does (20 ms chunks, s16).
// Runs until --seconds pass or SIGTERM.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "audio/source.hpp"
#include "audio/tone.hpp"
#include "porthole/ivshmem/mapping.hpp"
#include "porthole/protocol/session.hpp"
#include "porthole/util/adaptive_wait.hpp"
#include "scream_test_writer.hpp"

namespace {

using namespace porthole;
std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) {
    g_stop.store(true);
}

struct Args {
    std::string region;
    std::string scream;
    double seconds = 10;
    double scale = 1.0;
    double then_scale = 1.0;
    double switch_after = 1e9;
    bool drift_loop = false;
};

int fail(const std::string& msg) {
    std::fprintf(stderr, "audio_test_producer: %s\n", msg.c_str());
    return 1;
}

double elapsed_s(std::uint64_t start) {
    return static_cast<double>(monotonic_ns() - start) * 1e-9;
}

int run_scream(const Args& a) {
    auto map = ivshmem::create_region_file(a.scream, 1 << 20);
    if (!map) return fail(map.error().message);
    test::ScreamTestWriter w(map->bytes(), 1, 16, 2);
    agent::audio::ToneGenerator tone({48000, 2, protocol::SampleFormat::f32});
    std::vector<float> chunk(std::size_t{w.chunk_frames()} * 2);
    const std::uint64_t start = monotonic_ns();
    std::uint64_t written = 0;
    while (!g_stop.load() && elapsed_s(start) < a.seconds) {
        const auto due = static_cast<std::uint64_t>(elapsed_s(start) * 48000.0);
        while (written + w.chunk_frames() <= due) {
            for (std::uint32_t f = 0; f < w.chunk_frames(); ++f) {
                chunk[2 * f] = tone.sample(written + f, 0);
                chunk[2 * f + 1] = tone.sample(written + f, 1);
            }
            w.write_chunk(chunk);
            written += w.chunk_frames();
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return 0;
}

int run_region(const Args& a) {
    auto map = ivshmem::create_region_file(a.region, 8 << 20);
    if (!map) return fail(map.error().message);
    auto session = protocol::AgentSession::create(map->bytes(), protocol::LayoutParams{},
                                                  protocol::cap::audio_out, "audio-test-producer",
                                                  monotonic_ns());
    if (!session) return fail(session.error().message);
    auto& writer = session->channels().audio;
    std::unique_ptr<agent::audio::AudioSource> source;
    agent::audio::ToneGenerator tone({48000, 2, protocol::SampleFormat::f32});
    if (!a.drift_loop) {
        agent::audio::AudioSourceOptions o;
        o.tone_format = tone.format();
        auto s = agent::audio::start_audio_source("tone", writer, o);
        if (!s) return fail(s.error().message);
        source = std::move(*s);
    } else if (auto ok = writer.set_format(tone.format()); !ok) {
        return fail(ok.error().message);
    }
    const std::uint64_t start = monotonic_ns();
    std::uint64_t written = 0;
    double guest_s = 0;  // the guest's clock: runs at `scale` of ours
    std::uint64_t last = start;
    std::vector<std::byte> buf;
    while (!g_stop.load() && elapsed_s(start) < a.seconds) {
        const std::uint64_t now = monotonic_ns();
        session->tick(now);
        if (a.drift_loop) {
            const double scale = elapsed_s(start) < a.switch_after ? a.scale : a.then_scale;
            guest_s += static_cast<double>(now - last) * 1e-9 * scale;
            last = now;
            const auto due = static_cast<std::uint64_t>(guest_s * 48000.0);
            if (due > written) {
                buf.resize((due - written) * tone.format().frame_bytes());
                tone.render(written, buf);
                if (auto ok = writer.write(buf, now); !ok) return fail(ok.error().message);
                written = due;
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        if (source && !source->last_error().empty()) return fail(source->last_error());
    }
    source.reset();
    session->close();
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Args a;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string k = argv[i], v = argv[i + 1];
        if (k == "--region")
            a.region = v;
        else if (k == "--scream")
            a.scream = v;
        else if (k == "--seconds")
            a.seconds = std::atof(v.c_str());
        else if (k == "--clock-scale")
            a.scale = std::atof(v.c_str()), a.drift_loop = true;
        else if (k == "--then-scale")
            a.then_scale = std::atof(v.c_str());
        else if (k == "--switch-after")
            a.switch_after = std::atof(v.c_str());
        else
            return fail("unknown option " + k);
    }
    ::signal(SIGTERM, on_signal);
    ::signal(SIGINT, on_signal);
    if (!a.scream.empty()) return run_scream(a);
    if (!a.region.empty()) return run_region(a);
    return fail(
        "usage: --region PATH [--clock-scale A --then-scale B --switch-after S] | --scream PATH; "
        "--seconds N");
}
