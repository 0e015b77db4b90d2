// porthole-bench-render: the host's cost of taking a frame into the GPU
// texture, per copy path, headless on whatever Vulkan device is present
// (lavapipe in CI). For 1080p and 1440p, full and partial damage, import and
// staging: host CPU time per frame of the calling thread (the client's own
// work; on lavapipe the "GPU" copy runs on driver threads and is reported
// separately as wall time) and frame bytes copied by the CPU, each as a ratio
// to a memcpy of the whole frame measured in the same run.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

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

Result<Row> measure(std::uint32_t w, std::uint32_t h, bool partial, bool staging, int frames) {
    const std::string shm = "/dev/shm/porthole-bench-render-" + std::to_string(getpid());
    const std::size_t frame_bytes = std::size_t{w} * h * 4;
    auto region =
        ivshmem::create_region_file(shm, (frame_bytes * 3 + (8U << 20)) / (1U << 20) * (1U << 20));
    if (!region) return region.error();
    std::remove(shm.c_str());  // the mapping stays valid

    auto agent = protocol::AgentSession::create(region->bytes(), protocol::LayoutParams{},
                                                protocol::cap::frames, "bench", monotonic_ns());
    if (!agent) return agent.error();
    protocol::HostSession host(region->bytes(), 0, "bench");
    std::optional<protocol::HostChannels> ch;
    for (int i = 0; i < 100 && !ch; ++i) {
        agent->tick(monotonic_ns());
        if (host.poll(monotonic_ns()).new_session) {
            auto c = host.attach_channels();
            if (!c) return c.error();
            ch.emplace(std::move(*c));
        }
    }
    if (!ch) return Error::make("the host never saw the bench's agent session");

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
        const auto t1 = monotonic_ns();
        const double c1 = thread_cpu_ns();
        if (!up) return up.error();
        if (!*up) return Error::make("a bench frame was torn or refused");
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

}  // namespace

int main(int argc, char** argv) {
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
    return failures == 0 ? 0 : 1;
}
