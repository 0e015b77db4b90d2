// porthole: the host client. Maps the region, follows the agent's session and
// takes its frames. This build's display is headless: frames land in a
// persistent system-memory copy, checked against the test pattern on request,
// with live statistics.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <optional>
#include <string>

#include "porthole/ivshmem/mapping.hpp"
#include "porthole/protocol/session.hpp"
#include "porthole/protocol/test_pattern.hpp"
#include "porthole/util/adaptive_wait.hpp"
#include "render/cpu_frame_store.hpp"

namespace {

using namespace porthole;
using Clock = std::chrono::steady_clock;

std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop.store(true); }

struct Options {
    std::string shm = std::string(ivshmem::kDefaultShmPath);
    bool headless = true;
    bool stats = false;
    std::uint64_t exit_after_frames = 0;
    double timeout_s = 0;
    bool verify_pattern = false;
    std::string log_level = "info";
};

struct Counters {
    std::uint64_t frames = 0;        // accepted
    std::uint64_t last_serial = 0;
    std::uint64_t verified = 0;
    std::uint64_t mismatched = 0;
    double latency_sum_ms = 0;
    std::uint64_t latency_n = 0;
};

int run(const Options& o) {
    auto region = ivshmem::open_host_region(o.shm, protocol::kPageSize);
    if (!region) {
        spdlog::error("{}", region.error().message);
        return 1;
    }
    spdlog::info("region: {}", region->description());
    protocol::HostSession session(region->bytes(), 0, "porthole 0.1");
    std::optional<protocol::HostChannels> channels;
    client::CpuFrameStore store;
    AdaptiveWait wait;
    Counters total, window;
    std::uint64_t window_first_serial = 0;
    protocol::LinkState last_state = protocol::LinkState::waiting;
    bool announced = false;
    const auto start = Clock::now();
    auto next_stats = start + std::chrono::seconds(1);
    auto last_error_log = Clock::time_point{};

    while (!g_stop.load()) {
        const std::uint64_t now = monotonic_ns();
        const auto poll = session.poll(now);
        if (poll.state != last_state || !announced) {
            if (poll.state == protocol::LinkState::connected) {
                spdlog::info("agent connected: {} (session {:016x})", session.agent_name(),
                             session.agent_session());
            } else {
                spdlog::warn("{}{}{}", protocol::to_string(poll.state),
                             poll.message.empty() ? "" : ": ", poll.message);
            }
            last_state = poll.state;
            announced = true;
        }
        if (poll.new_session) {
            auto c = session.attach_channels();
            if (!c) {
                spdlog::error("cannot attach to the agent's channels: {}", c.error().message);
                channels.reset();
            } else {
                channels.emplace(std::move(*c));
            }
        }
        bool active = false;
        if (poll.state == protocol::LinkState::connected && channels) {
            auto frame = channels->frames.poll();
            if (!frame) {
                if (Clock::now() - last_error_log > std::chrono::seconds(1)) {
                    spdlog::error("bad frame from the agent: {}", frame.error().message);
                    last_error_log = Clock::now();
                }
            } else if (*frame) {
                const auto& view = **frame;
                store.update(view);
                if (channels->frames.finish(view)) {
                    active = true;
                    total.frames++;
                    window.frames++;
                    if (window_first_serial == 0) window_first_serial = view.meta.serial;
                    window.last_serial = view.meta.serial;
                    if (auto local = session.clock().to_local(view.meta.capture_time_ns)) {
                        const double ms = static_cast<double>(monotonic_ns() - *local) / 1e6;
                        window.latency_sum_ms += ms;
                        window.latency_n++;
                    }
                    if (o.verify_pattern) {
                        const auto mm = protocol::pattern::verify(
                            protocol::pattern::read_counter(store.format(), store.pixels(),
                                                            store.stride(), store.width(),
                                                            store.height()),
                            store.width(), store.height(), store.format(), store.pixels(),
                            store.stride());
                        if (mm.count == 0) {
                            total.verified++;
                        } else {
                            total.mismatched++;
                            spdlog::error("frame {} differs from the pattern in {} pixels (first at {},{})",
                                          view.meta.serial, mm.count, mm.first_x, mm.first_y);
                        }
                    }
                }
            }
        }
        if (Clock::now() >= next_stats) {
            if (o.stats) {
                nlohmann::json j;
                j["state"] = std::string(protocol::to_string(session.state()));
                j["frames"] = total.frames;
                j["fps"] = window.frames;
                j["ups"] = window_first_serial == 0 ? 0 : window.last_serial - window_first_serial + 1;
                j["latency_ms"] = window.latency_n == 0 ? nlohmann::json(nullptr)
                                                        : nlohmann::json(window.latency_sum_ms /
                                                                         static_cast<double>(window.latency_n));
                j["copy_path"] = "cpu";
                if (channels) {
                    j["torn"] = channels->frames.stats().torn;
                    j["skipped"] = channels->frames.stats().skipped;
                }
                if (o.verify_pattern) {
                    j["verified"] = total.verified;
                    j["mismatched"] = total.mismatched;
                }
                std::printf("%s\n", j.dump().c_str());
                std::fflush(stdout);
            }
            window = Counters{};
            window_first_serial = 0;
            next_stats += std::chrono::seconds(1);
        }
        if (o.exit_after_frames != 0 && total.frames >= o.exit_after_frames) break;
        if (o.timeout_s > 0 && Clock::now() - start > std::chrono::duration<double>(o.timeout_s)) {
            spdlog::error("timed out after {} s with {} frames", o.timeout_s, total.frames);
            return 3;
        }
        if (active) wait.activity();
        else wait.idle();
    }
    spdlog::info("{} frames accepted, {} verified, {} mismatched", total.frames, total.verified,
                 total.mismatched);
    return total.mismatched == 0 ? 0 : 4;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    CLI::App app{"porthole: shows a VFIO guest's screen from the Porthole shared region"};
    app.option_defaults()->always_capture_default();
    app.add_option("--shm", o.shm, "region file or device (QEMU's memory-backend-file, /dev/kvmfr0)");
    app.add_flag("--headless", o.headless, "no window (this build has no display yet)");
    app.add_flag("--stats", o.stats, "print one JSON line of statistics per second");
    app.add_option("--exit-after-frames", o.exit_after_frames, "exit after N frames (0: never)");
    app.add_option("--timeout", o.timeout_s, "fail after this many seconds (0: never)");
    app.add_flag("--verify-pattern", o.verify_pattern,
                 "check every frame pixel-exact against the agent's test pattern");
    app.add_option("--log-level", o.log_level, "trace, debug, info, warn, error");
    CLI11_PARSE(app, argc, argv);

    spdlog::set_level(spdlog::level::from_str(o.log_level));
    spdlog::set_pattern("[%H:%M:%S.%e] [porthole] [%l] %v");
    spdlog::set_default_logger(spdlog::stderr_color_mt("porthole"));
    spdlog::set_pattern("[%H:%M:%S.%e] [porthole] [%l] %v");
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    return run(o);
}
