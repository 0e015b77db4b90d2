// bench/input: input latency from the moment an evdev event has been read
// (it enters the InputRouter, as EvdevInput hands it over) to the moment the
// guest agent has it: through the region's input ring (agent thread polling
// with AdaptiveWait, as porthole-agent does) and through QMP (to QEMU's
// reply). Baseline in the same run: a busy-spinning handoff between two
// threads, the least any cross-thread path can take. Also the waiting side's
// CPU use while idle. Prints a table; exit status 1 if a target is missed.
//
// --window-client PATH [keys] [--headless-latency] (issue 15): a porthole
// program (PATH: main's build for "before", this one for "after") in window
// mode under X (run under xvfb-run -s "-screen 0 2560x1440x24"), over a region
// the bench lays out as the guest. Key presses are sent into its window as
// fake X input (xdotool; the time taken just before it starts) and timed to
// their arrival in the region's input ring, while the client renders a
// 2560x1440 60 Hz pattern stream the bench publishes, and with the stream
// paused. Target: p99 while rendering within 10% of the paused p99 (xdotool's
// start-up is in both). Also the client's capture-to-present latency from its
// --stats lines (median over the seconds of the per-second mean and p99),
// windowed and headless, with a 1920x1080 60 Hz stream.
//   lavapipe under Xvfb, 2 cores shared with other builds (load 2-5), 60 keys:
//                          paused median/p99   rendering 1440p60 median/p99
//     before (bff5701)     9.0 / 24.0 ms       27.9 / 114.9 ms (p99 4.8x paused)
//     after (input thread) 5.8 / 11.0 ms        7.5 / 35.4 ms  (p99 3.2x paused)
//   A second run, 100 keys: before 6.9 / 38.8 and 34.4 / 212.8 ms (5.5x);
//   after 5.3 / 38.4 and 10.9 / 35.6 ms (0.93x, the paused p99 inflated by
//   a noisy moment). The target (within 10%) is met only sometimes: what is
//   left is CPU, not the render loop (lavapipe renders on the same 2 cores as
//   Xvfb, xdotool and the input thread; before, a key also waited for the
//   loop's draw and present).
//   Capture-to-present p50/p99 ms, 1080p60, four runs each: headless before
//   0.8-1.1 / 4.7-6.8, after 0.6-1.1 / 3.0-5.2; windowed (1280x720 window)
//   before 35.6-53.0 / 41.9-74.9, after 36.2-62.9 / 48.7-79.9 (both within
//   the run-to-run noise of this loaded machine).
#include <fcntl.h>
#include <linux/input-event-codes.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <optional>

#include "input/router.hpp"
#include "input/sink.hpp"
#include "porthole/ivshmem/mapping.hpp"
#include "porthole/protocol/input_ring.hpp"
#include "porthole/protocol/session.hpp"
#include "porthole/protocol/test_pattern.hpp"
#include "porthole/util/adaptive_wait.hpp"
#include "qmp/client.hpp"

namespace {

using namespace porthole;
using namespace std::chrono_literals;
using protocol::InputEvent;

struct Stats {
    double median_us = 0, p99_us = 0;
};

Stats summarise(std::vector<std::uint64_t> ns) {
    std::sort(ns.begin(), ns.end());
    if (ns.empty()) return {};
    return {static_cast<double>(ns[ns.size() / 2]) / 1e3,
            static_cast<double>(ns[ns.size() * 99 / 100]) / 1e3};
}

double thread_cpu_s() {
    rusage u{};
    getrusage(RUSAGE_THREAD, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Gaps like a 1000 Hz mouse with pauses: 0.2..2 ms, so the waiting side is
// found both spinning and asleep.
std::vector<std::chrono::microseconds> gaps(std::size_t n) {
    std::mt19937 rng(42);
    std::uniform_int_distribution<int> d(200, 2000);
    std::vector<std::chrono::microseconds> g(n);
    for (auto& x : g)
        x = std::chrono::microseconds(d(rng));
    return g;
}

void pace(std::chrono::steady_clock::time_point until) {
    while (std::chrono::steady_clock::now() < until) {
        if (until - std::chrono::steady_clock::now() > 100us) std::this_thread::sleep_for(50us);
    }
}

// Baseline: one atomic store seen by a spinning thread.
Stats baseline(std::size_t n) {
    std::atomic<std::uint64_t> slot{0};
    std::atomic<bool> stop{false};
    std::vector<std::uint64_t> lat;
    lat.reserve(n);
    std::thread reader([&] {
        std::uint64_t last = 0;
        while (!stop.load(std::memory_order_relaxed)) {
            const std::uint64_t v = slot.load(std::memory_order_acquire);
            if (v != last) {
                lat.push_back(monotonic_ns() - v);
                last = v;
            }
        }
    });
    auto t = std::chrono::steady_clock::now();
    for (auto g : gaps(n)) {
        t += g;
        pace(t);
        slot.store(monotonic_ns(), std::memory_order_release);
    }
    std::this_thread::sleep_for(5ms);
    stop = true;
    reader.join();
    return summarise(lat);
}

struct RegionResult {
    Stats latency;
    double idle_cpu_percent = 0;
    std::uint64_t lost = 0;
};

// Host: router -> RegionInputSink -> ring. Agent: InputRingReader + AdaptiveWait.
RegionResult region(std::size_t n) {
    std::vector<std::byte> channel(4096 + 4096 * sizeof(InputEvent));
    (void)protocol::init_input_ring(channel, 4096);
    auto reader = protocol::InputRingReader::attach(channel);
    client::input::RegionInputSink sink;
    sink.attach(*protocol::InputRingWriter::attach(channel));
    client::input::InputRouter router(
        *client::input::parse_hotkey("ctrl-ctrl"),
        [&](std::span<const InputEvent> b) { sink.deliver(b); }, client::input::Owner::guest);
    std::atomic<bool> stop{false};
    std::vector<std::uint64_t> lat;
    lat.reserve(n);
    double idle_cpu = 0;
    std::atomic<int> phase{0};  // 0 measure, 1 idle
    std::thread agent([&] {
        porthole::AdaptiveWait wait(porthole::kBurstyWait);  // as the agent's input pump
        InputEvent buf[64];
        double idle_start_cpu = -1;
        auto idle_start = std::chrono::steady_clock::now();
        while (!stop.load()) {
            const std::size_t got = reader->pop(buf);
            const std::uint64_t now = monotonic_ns();
            for (std::size_t i = 0; i < got; ++i) {
                if (buf[i].type == EV_REL) lat.push_back(now - buf[i].time_ns);
            }
            if (got) {
                wait.activity();
            } else {
                if (phase.load() == 1 && idle_start_cpu < 0) {
                    idle_start_cpu = thread_cpu_s();
                    idle_start = std::chrono::steady_clock::now();
                }
                wait.idle();
            }
        }
        const double wall =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - idle_start).count();
        if (idle_start_cpu >= 0) idle_cpu = 100.0 * (thread_cpu_s() - idle_start_cpu) / wall;
    });
    auto t = std::chrono::steady_clock::now();
    for (auto g : gaps(n)) {
        t += g;
        pace(t);
        // The event as EvdevInput hands it over after libevdev read it.
        router.feed(1, {monotonic_ns(), EV_REL, REL_X, 1, 0});
        router.feed(1, {monotonic_ns(), EV_SYN, SYN_REPORT, 0, 0});
    }
    std::this_thread::sleep_for(20ms);
    phase = 1;
    std::this_thread::sleep_for(2s);  // idle: no input at all
    stop = true;
    agent.join();
    RegionResult r;
    r.latency = summarise(lat);
    r.idle_cpu_percent = idle_cpu;
    r.lost = n - lat.size();
    return r;
}

struct QmpResult {
    Stats latency;
    std::uint64_t rejected = 0, missing = 0;
    bool ran = false;
};

QmpResult measure_qmp(std::size_t n) {
    QmpResult r;
    char tmpl[] = "/tmp/porthole-bench-qmp-XXXXXX";
    if (!::mkdtemp(tmpl)) return r;
    const std::string dir = tmpl, sock = dir + "/qmp.sock";
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::setsid();
        const int null = ::open("/dev/null", O_WRONLY);
        ::dup2(null, 1);
        ::dup2(null, 2);
        const std::string qmp_arg = "unix:" + sock + ",server=on,wait=off";
        ::execlp("qemu-system-x86_64", "qemu-system-x86_64", "-machine", "q35", "-accel", "tcg",
                 "-m", "64", "-nodefaults", "-display", "none", "-device", "virtio-tablet-pci",
                 "-qmp", qmp_arg.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    for (int i = 0; i < 400 && !std::filesystem::exists(sock); ++i)
        std::this_thread::sleep_for(10ms);
    {
        client::qmp::QmpClient client(client::qmp::QmpConfig{sock});
        std::vector<std::uint64_t> lat;
        lat.reserve(n);
        std::atomic<std::size_t> replies{0};
        client.on_reply([&](std::uint64_t queued, bool) {
            lat.push_back(monotonic_ns() - queued);
            replies++;
        });
        client.start();
        if (client.wait_connected(10s)) {
            r.ran = true;
            // One batch in flight at a time: QEMU's round trip, not its queue
            // (under TCG on a busy machine QEMU cannot answer 1000 batches/s).
            std::size_t sent = 0;
            for (auto g : gaps(n)) {
                const auto t = std::chrono::steady_clock::now() + g;
                const auto give_up = std::chrono::steady_clock::now() + 2s;
                while (replies.load() < sent && std::chrono::steady_clock::now() < give_up)
                    std::this_thread::yield();
                pace(t);
                const InputEvent b[] = {{monotonic_ns(), EV_REL, REL_X, 1, 0},
                                        {0, EV_SYN, SYN_REPORT, 0, 0}};
                client.send(b);
                ++sent;
            }
            const auto end = std::chrono::steady_clock::now() + 10s;
            while (replies.load() < n && std::chrono::steady_clock::now() < end)
                std::this_thread::sleep_for(1ms);
            r.rejected = client.stats().rejected;
            r.missing = n - replies.load();
        }
        client.on_reply({});
        std::this_thread::sleep_for(10ms);
        r.latency = summarise(lat);
    }
    ::kill(pid, SIGTERM);
    ::waitpid(pid, nullptr, 0);
    std::filesystem::remove_all(dir);
    return r;
}

// --- window mode while rendering -------------------------------------------

// The guest side: the bench's agent session in a region file, a thread that
// heartbeats, publishes a pattern stream at 60 Hz while `streaming`, and
// notes when each KEY_A press arrives in the input ring.
class BenchGuest {
  public:
    BenchGuest(const std::string& path, std::uint32_t w, std::uint32_t h) : w_(w), h_(h) {
        const std::size_t frame = std::size_t{w} * h * 4;
        auto map =
            ivshmem::create_region_file(path, (frame * 3 + (16U << 20)) / (1U << 20) * (1U << 20));
        if (!map) {
            std::fprintf(stderr, "region: %s\n", map.error().message.c_str());
            return;
        }
        map_.emplace(std::move(*map));
        auto s = protocol::AgentSession::create(map_->bytes(), protocol::LayoutParams{},
                                                protocol::cap::frames | protocol::cap::input_inject,
                                                "bench-input", monotonic_ns());
        if (!s) {
            std::fprintf(stderr, "session: %s\n", s.error().message.c_str());
            return;
        }
        session_.emplace(std::move(*s));
        thread_ = std::thread([this] { run(); });
    }
    ~BenchGuest() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
    }
    [[nodiscard]] bool ok() const { return session_.has_value(); }
    [[nodiscard]] bool attached() const { return attached_.load(); }
    void set_streaming(bool on) { streaming_ = on; }
    [[nodiscard]] std::uint64_t published() const { return published_.load(); }
    // The time of the next KEY_A press after `since` (0: none yet).
    [[nodiscard]] std::uint64_t key_after(std::uint64_t since) const {
        const std::uint64_t t = last_key_.load();
        return t > since ? t : 0;
    }

  private:
    void run() {
        std::vector<std::byte> image(std::size_t{w_} * h_ * 4);
        protocol::pattern::render_full(0, w_, h_, protocol::PixelFormat::bgra8, image, w_ * 4);
        std::uint64_t n = 0;
        std::uint64_t next_frame = monotonic_ns();
        constexpr std::uint64_t kPeriod = 1'000'000'000 / 60;
        while (!stop_.load()) {
            const std::uint64_t now = monotonic_ns();
            session_->tick(now);
            attached_ = session_->client_session() != 0;
            InputEvent buf[64];
            const std::size_t got = session_->channels().input.pop(buf);
            for (std::size_t i = 0; i < got; ++i)
                if (buf[i].type == EV_KEY && buf[i].code == KEY_A && buf[i].value == 1)
                    last_key_ = now;
            if (streaming_.load() && now >= next_frame) {
                ++n;
                const auto d = protocol::pattern::damage(n, w_, h_);
                protocol::pattern::render(n, w_, h_, protocol::PixelFormat::bgra8, image, w_ * 4,
                                          d.rects());
                protocol::FrameSource src{w_, h_, w_ * 4, protocol::PixelFormat::bgra8,
                                          image.data()};
                if (session_->channels().frames.publish(src, d, monotonic_ns())) ++published_;
                next_frame += kPeriod;
                if (next_frame < now) next_frame = now + kPeriod;
            }
            if (!streaming_.load()) next_frame = monotonic_ns();
            // The agent's input pump polls about as often (AdaptiveWait while busy).
            std::this_thread::sleep_for(200us);
        }
    }

    std::uint32_t w_, h_;
    std::optional<ivshmem::Mapping> map_;
    std::optional<protocol::AgentSession> session_;
    std::thread thread_;
    std::atomic<bool> stop_{false}, streaming_{false}, attached_{false};
    std::atomic<std::uint64_t> published_{0}, last_key_{0};
};

pid_t spawn(const std::vector<std::string>& args, const std::string& out, const std::string& err) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::setsid();
        const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ::dup2(o, 1);
        ::dup2(e, 2);
        std::vector<char*> argv;
        for (const auto& a : args)
            argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        ::execvp(argv[0], argv.data());
        ::_exit(127);
    }
    return pid;
}

int xdo(const std::string& args) {
    return std::system(("xdotool " + args + " >/dev/null 2>&1").c_str());
}

struct LatencyFromStats {
    double p50_ms = 0, p99_ms = 0;
    double shown_fps = 0;
    int seconds = 0;
};

// The client's --stats lines: medians over the seconds of the per-second mean
// latency and p99, after the first `skip` lines (start-up).
LatencyFromStats stats_latency(const std::string& path, int skip) {
    std::vector<double> mean, p99, fps;
    std::ifstream in(path);
    int i = 0;
    for (std::string line; std::getline(in, line); ++i) {
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_discarded() || i < skip) continue;
        if (j.contains("latency_ms") && j["latency_ms"].is_number())
            mean.push_back(j["latency_ms"].get<double>());
        if (j.contains("latency_p99_ms") && j["latency_p99_ms"].is_number())
            p99.push_back(j["latency_p99_ms"].get<double>());
        if (j.contains("fps") && j["fps"].is_number()) fps.push_back(j["fps"].get<double>());
    }
    const auto median = [](std::vector<double> v) {
        if (v.empty()) return 0.0;
        std::sort(v.begin(), v.end());
        return v[v.size() / 2];
    };
    return {median(mean), median(p99), median(fps), static_cast<int>(mean.size())};
}

struct ClientRun {
    std::string dir;
    pid_t pid = -1;
    std::string out, err;
};

// Starts the client over the guest's region; waits until it attached.
std::optional<ClientRun> start_client(const std::string& client, const std::string& region,
                                      bool headless, BenchGuest& guest) {
    ClientRun r;
    char tmpl[] = "/tmp/porthole-bench-window-XXXXXX";
    if (!::mkdtemp(tmpl)) return std::nullopt;
    r.dir = tmpl;
    r.out = r.dir + "/out";
    r.err = r.dir + "/err";
    std::vector<std::string> args{client, "--shm", region, "--stats", "--config", ""};
    if (headless) {
        args.insert(args.end(), {"--headless", "--input", "none"});
    } else {
        args.insert(args.end(),
                    {"--input", "window", "--size", "1280x720", "--title", "porthole-bench-input"});
    }
    r.pid = spawn(args, r.out, r.err);
    for (int i = 0; i < 300 && !guest.attached(); ++i)
        std::this_thread::sleep_for(100ms);
    if (!guest.attached()) {
        std::fprintf(stderr, "the client never attached (see %s)\n", r.err.c_str());
        ::kill(r.pid, SIGTERM);
        ::waitpid(r.pid, nullptr, 0);
        return std::nullopt;
    }
    return r;
}

void stop_client(ClientRun& r) {
    ::kill(r.pid, SIGTERM);
    ::waitpid(r.pid, nullptr, 0);
}

// Key presses into the focused window, one at a time, timed to the ring.
std::optional<Stats> key_latency(BenchGuest& guest, std::size_t keys) {
    std::vector<std::uint64_t> lat;
    std::mt19937 rng(7);
    std::uniform_int_distribution<int> gap(50, 150);  // lands anywhere in a frame
    for (std::size_t k = 0; k < keys; ++k) {
        const std::uint64_t sent = monotonic_ns();
        if (xdo("key a") != 0) return std::nullopt;
        const std::uint64_t limit = sent + 5'000'000'000ULL;
        std::uint64_t got = 0;
        while ((got = guest.key_after(sent)) == 0 && monotonic_ns() < limit)
            std::this_thread::sleep_for(100us);
        if (got != 0) lat.push_back(got - sent);
        std::this_thread::sleep_for(std::chrono::milliseconds(gap(rng)));
    }
    if (lat.size() < keys) std::fprintf(stderr, "%zu keys lost\n", keys - lat.size());
    return summarise(lat);
}

int window_bench(const std::string& client, std::size_t keys, bool latency_rows) {
    if (std::getenv("DISPLAY") == nullptr) {
        std::printf("skipped: no DISPLAY (run under xvfb-run -s \"-screen 0 2560x1440x24\")\n");
        return 0;
    }
    const std::string region = "/dev/shm/porthole-bench-input-" + std::to_string(getpid());
    int rc = 0;
    {
        BenchGuest guest(region, 2560, 1440);
        if (!guest.ok()) return 1;
        auto run = start_client(client, region, false, guest);
        if (!run) return 1;
        bool focused = false;
        for (int i = 0; i < 50 && !focused; ++i) {
            focused = xdo("search --sync --name '^porthole-bench-input' windowfocus --sync") == 0;
            if (!focused) std::this_thread::sleep_for(100ms);
        }
        if (!focused) {
            std::fprintf(stderr, "the window never took the focus\n");
            stop_client(*run);
            return 1;
        }
        std::this_thread::sleep_for(1s);
        const auto idle = key_latency(guest, keys);
        guest.set_streaming(true);
        std::this_thread::sleep_for(2s);  // the stream is flowing and drawn
        const std::uint64_t published0 = guest.published();
        const auto busy = key_latency(guest, keys);
        const std::uint64_t published = guest.published() - published0;
        guest.set_streaming(false);
        stop_client(*run);
        const auto shown = stats_latency(run->out, 0);
        std::filesystem::remove_all(run->dir);
        if (!idle || !busy) {
            std::fprintf(stderr, "xdotool failed\n");
            return 1;
        }
        std::printf("window key -> region input ring, %zu keys each, client %s\n", keys,
                    client.c_str());
        std::printf("%-44s %10s %10s %10s\n", "", "median ms", "p99 ms", "p99/idle");
        std::printf("%-44s %10.2f %10.2f %10.2f\n", "stream paused", idle->median_us / 1e3,
                    idle->p99_us / 1e3, 1.0);
        std::printf("%-44s %10.2f %10.2f %10.2f\n", "rendering 2560x1440 60 Hz",
                    busy->median_us / 1e3, busy->p99_us / 1e3,
                    busy->p99_us / std::max(idle->p99_us, 0.001));
        std::printf("(frames published while rendering: %llu; client shown fps median %.0f)\n",
                    static_cast<unsigned long long>(published), shown.shown_fps);
        const bool ok = busy->p99_us <= idle->p99_us * 1.10;
        std::printf("target: p99 while rendering within 10%% of paused: %s\n",
                    ok ? "met" : "MISSED");
        rc = ok ? 0 : 1;
    }
    std::remove(region.c_str());
    if (!latency_rows) return rc;
    std::printf("\ncapture-to-present, 1920x1080 60 Hz stream, 10 s (from --stats)\n");
    std::printf("%-20s %10s %10s %10s\n", "", "p50 ms", "p99 ms", "fps");
    for (const bool headless : {true, false}) {
        BenchGuest guest(region, 1920, 1080);
        if (!guest.ok()) return 1;
        auto run = start_client(client, region, headless, guest);
        if (!run) return 1;
        guest.set_streaming(true);
        std::this_thread::sleep_for(12s);
        stop_client(*run);
        const auto l = stats_latency(run->out, 2);  // after the start-up
        std::filesystem::remove_all(run->dir);
        std::printf("%-20s %10.1f %10.1f %10.0f\n", headless ? "headless" : "windowed", l.p50_ms,
                    l.p99_ms, l.shown_fps);
        std::remove(region.c_str());
    }
    return rc;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc > 2 && std::string(argv[1]) == "--window-client") {
        const std::size_t keys =
            argc > 3 ? static_cast<std::size_t>(std::strtoul(argv[3], nullptr, 10)) : 100;
        const bool latency = !(argc > 4 && std::string(argv[4]) == "--keys-only");
        return window_bench(argv[2], std::max<std::size_t>(keys, 10), latency);
    }
    std::size_t n = 10000;
    if (argc > 1) n = static_cast<std::size_t>(std::strtoul(argv[1], nullptr, 10));
    std::printf("input latency, %zu events, gaps 0.2..2 ms (mouse-like)\n\n", n);
    const Stats base = baseline(n);
    const RegionResult reg = region(n);
    const QmpResult q = measure_qmp(n);
    std::printf("%-52s %10s %10s %12s\n", "path", "median us", "p99 us", "p99/baseline");
    std::printf("%-52s %10.1f %10.1f %12.1f\n", "baseline: atomic handoff to a spinning thread",
                base.median_us, base.p99_us, 1.0);
    std::printf("%-52s %10.1f %10.1f %12.1f\n", "region: router -> ring -> agent (AdaptiveWait)",
                reg.latency.median_us, reg.latency.p99_us,
                reg.latency.p99_us / std::max(base.p99_us, 0.001));
    if (q.ran) {
        std::printf("%-52s %10.1f %10.1f %12.1f\n",
                    "qmp: input-send-event to QEMU's reply (1 in flight)", q.latency.median_us,
                    q.latency.p99_us, q.latency.p99_us / std::max(base.p99_us, 0.001));
    } else {
        std::printf("%-52s %s\n", "qmp", "skipped: qemu-system-x86_64 did not answer");
    }
    std::printf("\nagent idle CPU (AdaptiveWait, no input for 2 s): %.2f%% of a core\n",
                reg.idle_cpu_percent);
    std::printf("events lost: region %llu, qmp missing replies %llu, qmp rejected %llu\n",
                static_cast<unsigned long long>(reg.lost),
                static_cast<unsigned long long>(q.missing),
                static_cast<unsigned long long>(q.rejected));
    const bool ok = reg.latency.p99_us < 1000.0 && reg.idle_cpu_percent < 5.0 && reg.lost == 0;
    std::printf("targets: region p99 < 1000 us, idle < 5%%: %s\n", ok ? "met" : "MISSED");
    return ok ? 0 : 1;
}
