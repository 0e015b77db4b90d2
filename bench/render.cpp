// porthole-bench-render, two tables, headless on whatever Vulkan device is
// present (lavapipe in CI).
// 1. The host's cost of taking a frame into the GPU texture, per copy path:
//    for 1080p and 1440p, full and partial damage, import and staging, host
//    CPU time per frame of the calling thread (the client's own work; on
//    lavapipe the "GPU" copy runs on driver threads and is reported separately
//    as wall time) and frame bytes copied by the CPU, each as a ratio to a
//    memcpy of the whole frame measured in the same run.
// 2. Stages, one at a time on an idle pipeline, per frame: the agent's pattern
//    render + publish (it shares this machine's cores in the stream table),
//    the upload of the agent's damage (import, waited for) and a 1:1 draw of
//    the whole frame (queued back to back), each as wall time, process CPU and
//    a ratio to a memcpy of the frame (the floor of any CPU that touches every
//    pixel once).
// 3. Streams: an agent thread publishes the test pattern (the agent's damage)
//    at 60 Hz for a few seconds while a loop like the client's takes and draws
//    frames: frames shown / frames published, and host CPU per shown frame
//    (the loop's thread, and the whole process minus the publisher: the loop
//    plus the driver's threads), for 1, 2 and 3 frames in flight, as ratios to
//    1 frame in flight in the same run. (The "before frames in flight" figures
//    in issue 15's note came from this program built against the renderer of
//    commit 85c33ac^, where every stage was waited for.)
// 4. Streaming (issue 21; `porthole-bench-render --streaming [frames]` runs
//    only this): a guest thread writes whole frames progressively, as the
//    agent does for full updates, one at a time, while the host takes each
//    either the old way (poll: offered once complete, then uploaded) or
//    progressively (poll_progressive: rows copied or their GPU copy submitted
//    as they land), alternating frame by frame so both meet the same load.
//    Latency from the guest starting to write the frame to the host holding
//    it: the import path's texture complete (fence signalled, seqlock
//    checked), the staging path's copy done and the texture upload submitted.
//    Median and p99, as ratios to the old path and to a memcpy of the frame
//    in the same run.
// 5. Windowed streams (issue 15), when DISPLAY is set (run the program under
//    `xvfb-run -s "-screen 0 2560x1440x24"`; `--windowed [seconds]` runs only
//    this): the same 60 Hz streams drawn to a window of the frame's size, 2
//    frames in flight, with fifo paced as the client paces it
//    (app/frame_pacer.hpp: the newest frame once a refresh) and with
//    immediate (as frames arrive), beside the headless row: frames shown /
//    published and CPU per shown frame, as ratios to headless.
//    On lavapipe under Xvfb, 2 cores shared with other builds (load 6-9),
//    eight runs: headless 93-100% at 1080p60 and 1440p60; windowed fifo
//    61-98% (1080p) and 31-71% (1440p), unpaced fifo and immediate as
//    scattered, at 1.4-2.8x the headless CPU per shown frame (the X11
//    WSI's copy of each present into the server). The run-to-run spread is
//    wider than any difference between the windowed rows.
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <SDL.h>
#include <sys/resource.h>

#include "app/frame_pacer.hpp"
#include "display/sdl_window.hpp"
#include "porthole/ivshmem/mapping.hpp"
#include "porthole/protocol/session.hpp"
#include "porthole/protocol/test_pattern.hpp"
#include "porthole/util/adaptive_wait.hpp"
#include "render/renderer.hpp"

namespace {

using namespace porthole;

double thread_cpu_ns() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

double memcpy_ns(std::size_t bytes, int reps) {
    std::vector<std::byte> a(bytes, std::byte{1}), b(bytes);
    std::memcpy(b.data(), a.data(), bytes);  // fault pages in
    std::vector<double> t;
    for (int i = 0; i < reps; ++i) {
        const auto s = monotonic_ns();
        std::memcpy(b.data(), a.data(), bytes);
        t.push_back(static_cast<double>(monotonic_ns() - s));
        a[static_cast<std::size_t>(i) % bytes] = b[0];
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

struct Row {
    std::string name;
    double cpu_ns = 0, wall_ns = 0, cpu_bytes = 0, frame_bytes = 0, memcpy = 0;
    std::string path;
};

// A /dev/shm region (the import path maps the file) with the bench's agent
// session and the host attached to it: what every measurement renders from.
// Filled in place: the host session refers to the mapping, so it never moves.
struct BenchSession {
    std::optional<ivshmem::Mapping> region;
    std::optional<protocol::AgentSession> agent;
    std::optional<protocol::HostSession> host;
    std::optional<protocol::HostChannels> ch;
};

Status open_bench_session(BenchSession& s, std::uint32_t w, std::uint32_t h) {
    const std::string shm = "/dev/shm/porthole-bench-render-" + std::to_string(getpid());
    const std::size_t frame_bytes = std::size_t{w} * h * 4;
    auto region =
        ivshmem::create_region_file(shm, (frame_bytes * 3 + (8U << 20)) / (1U << 20) * (1U << 20));
    if (!region) return region.error();
    std::remove(shm.c_str());  // the mapping stays valid
    s.region.emplace(std::move(*region));
    auto agent = protocol::AgentSession::create(s.region->bytes(), protocol::LayoutParams{},
                                                protocol::cap::frames, "bench", monotonic_ns());
    if (!agent) return agent.error();
    s.agent.emplace(std::move(*agent));
    s.host.emplace(s.region->bytes(), 0, "bench");
    for (int i = 0; i < 100 && !s.ch; ++i) {
        s.agent->tick(monotonic_ns());
        if (s.host->poll(monotonic_ns()).new_session) {
            auto c = s.host->attach_channels();
            if (!c) return c.error();
            s.ch.emplace(std::move(*c));
        }
    }
    if (!s.ch) return Error::make("the host never saw the bench's agent session");
    return {};
}

Result<Row> measure(std::uint32_t w, std::uint32_t h, bool partial, bool staging, int frames) {
    const std::size_t frame_bytes = std::size_t{w} * h * 4;
    BenchSession session;
    if (auto opened = open_bench_session(session, w, h); !opened) return opened.error();
    ivshmem::Mapping* region = &*session.region;
    auto& agent = session.agent;
    auto& ch = session.ch;

    client::RendererConfig cfg;
    cfg.force_staging = staging;
    auto renderer = client::Renderer::create(cfg, nullptr, region->bytes());
    if (!renderer) return renderer.error();
    auto& r = **renderer;

    std::vector<std::byte> image(frame_bytes);
    protocol::pattern::render_full(0, w, h, protocol::PixelFormat::bgra8, image, w * 4);
    Row row;
    row.frame_bytes = static_cast<double>(frame_bytes);
    row.path = std::string(client::to_string(r.copy_path()));
    double cpu = 0, wall = 0;
    std::uint64_t cpu_bytes = 0;
    int counted = 0;
    for (int n = 0; n < frames + 2; ++n) {
        protocol::DamageList damage;
        if (partial && n > 0) {
            damage = protocol::pattern::damage(static_cast<std::uint64_t>(n), w, h);
            protocol::pattern::render(static_cast<std::uint64_t>(n), w, h,
                                      protocol::PixelFormat::bgra8, image, w * 4, damage.rects());
        } else {
            protocol::pattern::render_full(static_cast<std::uint64_t>(n), w, h,
                                           protocol::PixelFormat::bgra8, image, w * 4);
            damage.set_full(w, h);
        }
        protocol::FrameSource src{w, h, w * 4, protocol::PixelFormat::bgra8, image.data()};
        auto serial = agent->channels().frames.publish(src, damage, monotonic_ns());
        if (!serial) return serial.error();
        auto view = ch->frames.poll();
        if (!view || !*view) return Error::make("the bench's frame did not arrive");
        const auto bytes_before = r.cpu_bytes_copied();
        const double c0 = thread_cpu_ns();
        const auto t0 = monotonic_ns();
        auto up = r.upload_frame(**view, ch->frames);
        // Waited for here to count the GPU copy's wall time, unlike the client.
        const bool ok =
            up && (*up == client::UploadState::accepted ||
                   (*up == client::UploadState::pending &&
                    r.finish_upload(ch->frames, true) == client::UploadState::accepted));
        const auto t1 = monotonic_ns();
        const double c1 = thread_cpu_ns();
        if (!up) return up.error();
        if (!ok) return Error::make("a bench frame was torn or refused");
        if (n >= 2) {  // the first frames are whole and warm the driver up
            cpu += c1 - c0;
            wall += static_cast<double>(t1 - t0);
            cpu_bytes += r.cpu_bytes_copied() - bytes_before;
            ++counted;
        }
    }
    row.cpu_ns = cpu / counted;
    row.wall_ns = wall / counted;
    row.cpu_bytes = static_cast<double>(cpu_bytes) / counted;
    row.memcpy = memcpy_ns(frame_bytes, 20);
    row.name = fmt::format("{}p {:<7} {:<7}", h, partial ? "partial" : "full",
                           staging ? "staging" : "import");
    return row;
}

double process_cpu_ns() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return (static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e9) +
           (static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e3);
}

struct StreamRow {
    std::uint64_t published = 0, shown = 0, torn = 0;
    double loop_cpu_ns = 0, client_cpu_ns = 0;  // per shown frame
    std::string path;
};

// One stream: the publisher paces itself on the clock (a late frame is not
// made up), the loop polls like the client's session loop (AdaptiveWait).
// `window`: drawn to its swapchain with `mode` (fifo paced to the refresh,
// like the client); null: headless.
Result<StreamRow> stream(std::uint32_t w, std::uint32_t h, std::uint32_t in_flight, double seconds,
                         client::SurfaceProvider* window = nullptr,
                         client::PresentMode mode = client::PresentMode::fifo, int refresh_hz = 0,
                         bool paced = true) {
    const std::size_t frame_bytes = std::size_t{w} * h * 4;
    BenchSession session;
    if (auto opened = open_bench_session(session, w, h); !opened) return opened.error();
    ivshmem::Mapping* region = &*session.region;
    auto& agent = session.agent;
    auto& ch = session.ch;

    client::RendererConfig cfg;
    cfg.frames_in_flight = in_flight;
    cfg.present_mode = mode;
    auto renderer = client::Renderer::create(cfg, window, region->bytes());
    if (!renderer) return renderer.error();
    auto& r = **renderer;

    // The first frame, whole, before the clock starts (it sizes the target).
    std::vector<std::byte> image(frame_bytes);
    protocol::pattern::render_full(0, w, h, protocol::PixelFormat::bgra8, image, w * 4);
    const protocol::FrameSource src{w, h, w * 4, protocol::PixelFormat::bgra8, image.data()};
    {
        protocol::DamageList d;
        d.set_full(w, h);
        if (auto s = agent->channels().frames.publish(src, d, monotonic_ns()); !s) return s.error();
    }

    std::atomic<bool> done{false};
    std::atomic<double> publisher_cpu{0};
    std::uint64_t published = 0;
    const std::uint64_t t_start = monotonic_ns();
    const auto t_end = t_start + static_cast<std::uint64_t>(seconds * 1e9);
    std::thread publisher([&] {
        const double c0 = thread_cpu_ns();
        std::uint64_t n = 1;
        for (std::uint64_t next = t_start; next < t_end; next += 1'000'000'000ULL / 60) {
            while (monotonic_ns() < next)
                std::this_thread::sleep_for(std::chrono::microseconds(200));
            const auto d = protocol::pattern::damage(n, w, h);
            protocol::pattern::render(n, w, h, protocol::PixelFormat::bgra8, image, w * 4,
                                      d.rects());
            if (agent->channels().frames.publish(src, d, monotonic_ns())) ++published;
            ++n;
        }
        publisher_cpu = thread_cpu_ns() - c0;
        done = true;
    });

    StreamRow row;
    const double loop0 = thread_cpu_ns(), proc0 = process_cpu_ns();
    std::uint64_t last_shown = 0;
    AdaptiveWait wait;
    auto& frames = ch->frames;
    // Runs a little past the publisher so that its last frame can be shown.
    const auto drain_until = [&] {
        return done.load() ? monotonic_ns() + 100'000'000 : UINT64_MAX;
    };
    std::uint64_t stop_at = UINT64_MAX;
    client::FramePacer pacer(
        paced && window != nullptr && r.present_mode() == client::PresentMode::fifo,
        refresh_hz > 0 ? std::uint64_t{1'000'000'000} / static_cast<std::uint64_t>(refresh_hz) : 0);
    bool new_frame = false;
    while (monotonic_ns() < stop_at) {
        if (stop_at == UINT64_MAX) stop_at = drain_until();
        bool active = false, accepted = false;
        if (r.upload_pending()) {
            const auto st = r.finish_upload(frames);
            accepted = st == client::UploadState::accepted;
            active = st != client::UploadState::pending;
        } else if (auto v = frames.poll(); v && *v) {
            auto up = r.upload_frame(**v, frames);
            if (!up) return up.error();
            accepted = *up == client::UploadState::accepted;
            active = true;
        }
        if (accepted) {
            pacer.frame_complete(monotonic_ns());
            new_frame = true;
        }
        // A swapchain may not give an image at once: the draw is tried again.
        if (new_frame && pacer.due(monotonic_ns())) {
            auto d = r.draw(false);
            if (!d) return d.error();
            if (d->presented) {
                new_frame = false;
                pacer.presented(d->present_ns);
                if (r.frame_serial() != last_shown) {
                    last_shown = r.frame_serial();
                    ++row.shown;
                }
            }
            active = true;
        }
        if (active)
            wait.activity();
        else
            wait.idle();
    }
    publisher.join();
    const double loop1 = thread_cpu_ns(), proc1 = process_cpu_ns();
    row.published = published + 1;
    row.torn = frames.stats().torn;
    row.loop_cpu_ns = (loop1 - loop0) / static_cast<double>(std::max<std::uint64_t>(row.shown, 1));
    row.client_cpu_ns = (proc1 - proc0 - publisher_cpu.load()) /
                        static_cast<double>(std::max<std::uint64_t>(row.shown, 1));
    row.path = std::string(client::to_string(r.copy_path()));
    return row;
}

struct Stage {
    double wall_ns = 0, cpu_ns = 0;
};

// Runs `body` `reps` times and returns the mean wall and process CPU time.
template <typename F>
Stage time_stage(int reps, F&& body) {
    const double c0 = process_cpu_ns();
    const auto t0 = monotonic_ns();
    for (int i = 0; i < reps; ++i)
        body(i);
    return {static_cast<double>(monotonic_ns() - t0) / reps, (process_cpu_ns() - c0) / reps};
}

Status stages(std::uint32_t w, std::uint32_t h, int reps) {
    const std::size_t frame_bytes = std::size_t{w} * h * 4;
    BenchSession session;
    if (auto opened = open_bench_session(session, w, h); !opened) return opened.error();
    ivshmem::Mapping* region = &*session.region;
    auto& agent = session.agent;
    auto& ch = session.ch;
    auto renderer = client::Renderer::create({}, nullptr, region->bytes());
    if (!renderer) return renderer.error();
    auto& r = **renderer;
    std::vector<std::byte> image(frame_bytes);
    const protocol::FrameSource src{w, h, w * 4, protocol::PixelFormat::bgra8, image.data()};
    std::uint64_t n = 0;
    bool failed = false;
    auto publish = [&] {
        protocol::DamageList d;
        if (n == 0) {
            protocol::pattern::render_full(0, w, h, protocol::PixelFormat::bgra8, image, w * 4);
            d.set_full(w, h);
        } else {
            d = protocol::pattern::damage(n, w, h);
            protocol::pattern::render(n, w, h, protocol::PixelFormat::bgra8, image, w * 4,
                                      d.rects());
        }
        ++n;
        failed = !agent->channels().frames.publish(src, d, monotonic_ns()) || failed;
    };
    auto upload = [&] {
        auto v = ch->frames.poll();
        if (!v || !*v) {
            failed = true;
            return;
        }
        auto up = r.upload_frame(**v, ch->frames);
        failed = !up || failed;
        if (up && *up == client::UploadState::pending)
            failed = r.finish_upload(ch->frames, true) != client::UploadState::accepted || failed;
    };
    publish();
    upload();
    if (auto d = r.draw(true); !d) return d.error();  // sizes the target, warms the driver up
    const auto pub = time_stage(reps, [&](int) { publish(); });
    upload();
    Stage up{};
    for (int i = 0; i < reps; ++i) {  // the damage the stream publishes, one frame at a time
        publish();
        const auto s = time_stage(1, [&](int) { upload(); });
        up.wall_ns += s.wall_ns / reps;
        up.cpu_ns += s.cpu_ns / reps;
    }
    const auto draw = time_stage(reps, [&](int i) {
        auto d = r.draw(i + 1 == reps);  // the last one reads back: every draw has finished
        failed = !d || failed;
    });
    if (failed) return Error::make("a stage failed");
    const double mc = memcpy_ns(frame_bytes, 10);
    for (const auto& [name, st] :
         {std::pair{"publish", pub}, std::pair{"upload", up}, std::pair{"draw", draw}}) {
        fmt::print("{:<8} {:<8} {:>10.0f} {:>10.0f} {:>10.0f} {:>9.2f}\n", fmt::format("{}p", h),
                   name, st.wall_ns / 1e3, st.cpu_ns / 1e3, mc / 1e3, st.cpu_ns / mc);
    }
    return {};
}

struct StreamingRow {
    std::string path;
    std::vector<double> lat[2];    // [0] old path (complete-only), [1] progressive; ns
    std::vector<double> write[2];  // the guest's time writing a frame, per host path; ns
    // From the guest's last row to the host holding the frame, per path: the
    // part of the latency the host adds (less sensitive to the guest's pace).
    std::vector<double> lag[2];
    std::uint64_t dropped = 0;
};

double pct(std::vector<double> v, double q) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))];
}

Result<StreamingRow> streaming(std::uint32_t w, std::uint32_t h, bool staging, int frames) {
    const std::size_t frame_bytes = std::size_t{w} * h * 4;
    BenchSession session;
    if (auto opened = open_bench_session(session, w, h); !opened) return opened.error();
    client::RendererConfig cfg;
    cfg.force_staging = staging;
    cfg.draw_cursor = false;
    auto renderer = client::Renderer::create(cfg, nullptr, session.region->bytes());
    if (!renderer) return renderer.error();
    auto& r = **renderer;
    auto& writer = session.agent->channels().frames;
    auto& reader = session.ch->frames;

    std::vector<std::byte> image(frame_bytes);
    protocol::pattern::render_full(1, w, h, protocol::PixelFormat::bgra8, image, w * 4);
    const protocol::FrameSource src{w, h, w * 4, protocol::PixelFormat::bgra8, image.data()};
    // The guest writes frame n when told and the host says when it holds it:
    // one frame at a time, so each latency is the path's own.
    std::atomic<int> go{-1}, done{-1};
    std::atomic<bool> failed{false};
    StreamingRow row;
    std::vector<std::atomic<std::uint64_t>> write_end(static_cast<std::size_t>(frames) * 2 + 2);
    std::thread guest([&] {
        for (int n = 0; n < frames * 2 + 2; ++n) {
            while (go.load() < n)
                std::this_thread::yield();
            const auto t0 = monotonic_ns();
            if (!writer.publish_progressive(src, t0)) failed = true;
            const auto t1 = monotonic_ns();
            write_end[static_cast<std::size_t>(n)] = t1;
            if (n >= 2) row.write[n % 2].push_back(static_cast<double>(t1 - t0));
            while (done.load() < n && !failed.load())
                std::this_thread::yield();
        }
    });
    row.path = std::string(client::to_string(r.copy_path()));
    for (int n = 0; n < frames * 2 + 2 && !failed.load(); ++n) {
        const bool progressive = n % 2 == 1;
        go = n;
        std::optional<protocol::FrameView> view;
        const auto give_up = monotonic_ns() + 5'000'000'000ULL;
        while (!view && monotonic_ns() < give_up) {
            auto v = progressive ? reader.poll_progressive(monotonic_ns()) : reader.poll();
            if (!v) {
                failed = true;
                break;
            }
            view = *v;
            if (!view) std::this_thread::yield();  // the client's spin window yields too
        }
        if (!view) {
            failed = true;
            break;
        }
        auto up = r.upload_frame(*view, reader);
        if (!up) {
            failed = true;
            break;
        }
        auto state = *up;
        while (state == client::UploadState::pending) {
            state = r.finish_upload(reader, false);  // as the client's loop in its spin window
            if (state == client::UploadState::pending) std::this_thread::yield();
        }
        const auto t = monotonic_ns();
        if (state == client::UploadState::accepted) {
            if (n >= 2) {
                row.lat[progressive ? 1 : 0].push_back(
                    static_cast<double>(t - view->meta.capture_time_ns));
                const auto end = write_end[static_cast<std::size_t>(n)].load();
                row.lag[progressive ? 1 : 0].push_back(
                    end != 0 && t > end ? static_cast<double>(t - end) : 0.0);
            }
        } else {
            ++row.dropped;
        }
        // Each frame starts on an idle pipeline: the read-back waits for the
        // upload (lavapipe runs it on these same cores).
        if (auto d = r.draw(true); !d) {
            failed = true;
            break;
        }
        done = n;
    }
    go = frames * 2 + 2;
    done = frames * 2 + 2;
    guest.join();
    if (failed.load()) return Error::make("the streaming bench's frames did not come through");
    return row;
}

int streaming_table(int frames) {
    fmt::print(
        "streaming: guest starts writing a whole frame -> host holds it (import: texture complete; "
        "staging: copy done, upload submitted); {} frames per path, alternating; ratios in the "
        "same "
        "run\n",
        frames);
    fmt::print("{:<6} {:>8} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8}\n", "size",
               "path", "memcpy ms", "write med", "old med", "old p99", "prog med", "prog p99",
               "prog/old", "prog/mcpy", "dropped");
    fmt::print(
        "(lag rows: the guest's write time with the progressive host, and from the guest's last "
        "row to the host holding the frame, medians; write med above: with the old host)\n");
    int failures = 0;
    for (const auto& [w, h] : {std::pair{1920U, 1080U}, std::pair{3840U, 2160U}}) {
        for (bool staging : {true, false}) {
            auto row = streaming(w, h, staging, frames);
            if (!row) {
                fmt::print("{}p {}: {}\n", h, staging ? "staging" : "import", row.error().message);
                ++failures;
                continue;
            }
            const double mc = memcpy_ns(std::size_t{w} * h * 4, 20);
            const double om = pct(row->lat[0], 0.5), op = pct(row->lat[0], 0.99);
            const double pm = pct(row->lat[1], 0.5), pp = pct(row->lat[1], 0.99);
            fmt::print(
                "{:<6} {:>8} {:>10.2f} {:>9.2f} {:>9.2f} {:>9.2f} {:>9.2f} {:>9.2f} {:>9.3f} "
                "{:>9.3f} {:>8}\n",
                fmt::format("{}p", h), row->path, mc / 1e6, pct(row->write[0], 0.5) / 1e6, om / 1e6,
                op / 1e6, pm / 1e6, pp / 1e6, pm / om, pm / mc, row->dropped);
            const double ol = pct(row->lag[0], 0.5), pl = pct(row->lag[1], 0.5);
            fmt::print("{:<6} {:>8} {:>10} {:>9} {:>9.2f} {:>9} {:>9.2f} {:>9} {:>9.3f} {:>9.3f}\n",
                       "  lag", "", "", fmt::format("{:.2f}", pct(row->write[1], 0.5) / 1e6),
                       ol / 1e6, "", pl / 1e6, "", pl / ol, pl / mc);
        }
    }
    return failures == 0 ? 0 : 1;
}

}  // namespace

// Table 5: the streams headless and in a window (see the file's comment).
int windowed_table(double seconds) {
    fmt::print(
        "\nwindowed streams: 60 Hz pattern for {} s, 2 in flight; cpu per shown frame (client: "
        "every thread but the publisher); ratios to headless\n",
        seconds);
    if (std::getenv("DISPLAY") == nullptr) {
        fmt::print("skipped: no DISPLAY (run under xvfb-run -s \"-screen 0 2560x1440x24\")\n");
        return 0;
    }
    fmt::print("{:<8} {:<19} {:>9} {:>6} {:>8} {:>7} {:>11} {:>13} {:>7}\n", "stream", "target",
               "published", "shown", "shown %", "ratio", "loop cpu us", "client cpu us", "ratio");
    struct Target {
        const char* name;
        bool window;
        client::PresentMode mode;
        bool paced;
    };
    // Headless; fifo paced (the client); fifo drawn as frames arrive (the
    // client before pacing); immediate.
    const Target targets[] = {{"headless", false, client::PresentMode::fifo, false},
                              {"window fifo", true, client::PresentMode::fifo, true},
                              {"window fifo unpaced", true, client::PresentMode::fifo, false},
                              {"window immediate", true, client::PresentMode::immediate, false}};
    // SDL's video (and X connection) held for the table: a bare Xvfb resets
    // when its last client leaves, and refuses the next window meanwhile.
    if (SDL_InitSubSystem(SDL_INIT_VIDEO) != 0) {
        fmt::print("skipped: SDL video: {}\n", SDL_GetError());
        return 1;
    }
    int failures = 0;
    for (const auto& [w, h] : {std::pair{1920U, 1080U}, std::pair{2560U, 1440U}}) {
        // One window a size, each stream's renderer making its own swapchain on it.
        client::WindowConfig wc;
        wc.title = "porthole-bench-render";
        wc.width = w;
        wc.height = h;
        wc.borderless = true;
        wc.position = std::pair{0, 0};
        auto window = client::SdlWindow::create(wc);
        if (!window) {
            fmt::print("{}p60 window: {}\n", h, window.error().message);
            ++failures;
            continue;
        }
        (*window)->poll_events();
        const int hz = (*window)->refresh_hz();
        double base_shown = 0, base_cpu = 0;
        for (const auto& t : targets) {
            auto row = stream(w, h, client::kFramesInFlight, seconds,
                              t.window ? window->get() : nullptr, t.mode, hz, t.paced);
            (*window)->poll_events();
            if (!row) {
                fmt::print("{}p60 {}: {}\n", h, t.name, row.error().message);
                ++failures;
                continue;
            }
            const double pct =
                100.0 * static_cast<double>(row->shown) / static_cast<double>(row->published);
            if (!t.window) {
                base_shown = pct;
                base_cpu = row->client_cpu_ns;
            }
            fmt::print("{:<8} {:<19} {:>9} {:>6} {:>7.1f}% {:>7.3f} {:>11.0f} {:>13.0f} {:>7.3f}\n",
                       fmt::format("{}p60", h), t.name, row->published, row->shown, pct,
                       base_shown > 0 ? pct / base_shown : 0.0, row->loop_cpu_ns / 1e3,
                       row->client_cpu_ns / 1e3,
                       base_cpu > 0 ? row->client_cpu_ns / base_cpu : 0.0);
        }
    }
    SDL_QuitSubSystem(SDL_INIT_VIDEO);
    return failures;
}

int main(int argc, char** argv) {
    if (argc > 1 && std::string(argv[1]) == "--windowed") {
        return windowed_table(argc > 2 ? std::max(1.0, std::atof(argv[2])) : 5.0) == 0 ? 0 : 1;
    }
    if (argc > 1 && std::string(argv[1]) == "--streaming") {
        return streaming_table(argc > 2 ? std::max(1, std::atoi(argv[2])) : 30);
    }
    const int frames = argc > 1 ? std::max(1, std::atoi(argv[1])) : 30;
    fmt::print(
        "porthole-bench-render: {} frames a case; ratios are to a memcpy of the whole frame (same "
        "run)\n",
        frames);
    fmt::print("{:<26} {:>8} {:>10} {:>10} {:>9} {:>10} {:>12} {:>9}\n", "case", "path",
               "memcpy us", "cpu us", "cpu/memcpy", "wall us", "cpu bytes", "bytes/frame");
    int failures = 0;
    for (const auto& [w, h] : {std::pair{1920U, 1080U}, std::pair{2560U, 1440U}}) {
        for (bool partial : {false, true}) {
            for (bool staging : {false, true}) {
                auto row = measure(w, h, partial, staging, frames);
                if (!row) {
                    fmt::print("{}x{} {} {}: {}\n", w, h, partial ? "partial" : "full",
                               staging ? "staging" : "import", row.error().message);
                    ++failures;
                    continue;
                }
                fmt::print(
                    "{:<26} {:>8} {:>10.1f} {:>10.1f} {:>9.3f} {:>10.1f} {:>12.0f} {:>9.3f}\n",
                    row->name, row->path, row->memcpy / 1e3, row->cpu_ns / 1e3,
                    row->cpu_ns / row->memcpy, row->wall_ns / 1e3, row->cpu_bytes,
                    row->cpu_bytes / row->frame_bytes);
            }
        }
    }
    fmt::print(
        "\nstages, one at a time, per frame (process cpu: every thread, the driver's too)\n");
    fmt::print("{:<8} {:<8} {:>10} {:>10} {:>10} {:>9}\n", "size", "stage", "wall us", "cpu us",
               "memcpy us", "cpu/memcpy");
    for (const auto& [w, h] : {std::pair{1920U, 1080U}, std::pair{2560U, 1440U}}) {
        if (auto ok = stages(w, h, frames); !ok) {
            fmt::print("{}p stages: {}\n", h, ok.error().message);
            ++failures;
        }
    }

    const double seconds = argc > 2 ? std::max(1.0, std::atof(argv[2])) : 5.0;
    fmt::print(
        "\nstreams: 60 Hz pattern (agent damage) for {} s, headless; cpu per shown frame; ratios "
        "to "
        "1 in flight\n",
        seconds);
    fmt::print("{:<8} {:>6} {:>12} {:>9} {:>6} {:>5} {:>8} {:>7} {:>11} {:>13} {:>7}\n", "stream",
               "flight", "path", "published", "shown", "torn", "shown %", "ratio", "loop cpu us",
               "client cpu us", "ratio");
    const std::vector<std::uint32_t> flights{1, 2, 3};
    for (const auto& [w, h] : {std::pair{1920U, 1080U}, std::pair{2560U, 1440U}}) {
        double base_shown = 0, base_cpu = 0;
        for (auto f : flights) {
            auto row = stream(w, h, f, seconds);
            if (!row) {
                fmt::print("{}p60 x{}: {}\n", h, f, row.error().message);
                ++failures;
                continue;
            }
            const double pct =
                100.0 * static_cast<double>(row->shown) / static_cast<double>(row->published);
            if (base_shown == 0) {
                base_shown = pct;
                base_cpu = row->client_cpu_ns;
            }
            fmt::print(
                "{:<8} {:>6} {:>12} {:>9} {:>6} {:>5} {:>7.1f}% {:>7.3f} {:>11.0f} {:>13.0f} "
                "{:>7.3f}\n",
                fmt::format("{}p60", h), f == 0 ? std::string("wait") : std::to_string(f),
                row->path, row->published, row->shown, row->torn, pct, pct / base_shown,
                row->loop_cpu_ns / 1e3, row->client_cpu_ns / 1e3, row->client_cpu_ns / base_cpu);
        }
    }
    failures += windowed_table(seconds);
    return failures == 0 ? 0 : 1;
}
