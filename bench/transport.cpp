// Transport benchmark: what moving a frame through the region costs, as a
// ratio to memcpy of the same bytes measured in the same run, and how fast
// and how cheaply a waiting host notices a new frame.
//
//   publish  FrameWriter::publish of a BGRA frame (full damage, or ~1% of the
//            screen in 4 rects that move every frame)
//   consume  FrameReader::poll + copy_frame_rects into a persistent buffer + finish
//   memcpy   one memcpy of as many bytes as the operation copied (its floor)
//   notice   64x64 updates: publish -> the host thread's poll returns it, and
//            that thread's CPU, for the baseline spin (a busy poll), today's
//            AdaptiveWait (200/50/250 us), the defaults, and the defaults with
//            a doorbell (an eventfd the guest thread rings after publishing,
//            as QEMU signals one for ivshmem-doorbell), in alternating
//            rounds; --notice-wait spin/min/max[/slack] adds a wait to compare
//   stream   full frames paced at 60 or 144 Hz by a guest thread while a host
//            thread copies them: from the moment the guest starts writing a
//            frame to the host's copy being done, for today's path (publish,
//            then poll + copy + finish) and the progressive one (rows
//            announced in chunks, the host copying behind the writer), as a
//            ratio to one memcpy of the frame's bytes in the same run
//
// Usage: porthole-bench-transport [--quick] [--notice (only notice)] [--stream (only the
//        streaming table)] [--costs (only the cost table)] [--res NAME (stream one resolution)]
//        [--cadence lead/after (us, FrameReader::wake_hint's spin around the next frame)]
//        [--slots N (frame slots, kMinFrameSlots..kMaxFrameSlots; default the agent's)]
//        [--notice-samples N]
//        [--notice-wait spin/min/max[/slack] ...]

#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "porthole/protocol/frame_channel.hpp"
#include "porthole/protocol/layout.hpp"
#include "porthole/util/adaptive_wait.hpp"
#include "porthole/util/unique_fd.hpp"
#include "support/aligned_region.hpp"

namespace {

using namespace porthole::protocol;
using porthole::AdaptiveWait;
using porthole::monotonic_ns;
using porthole::testing::AlignedRegion;

// The agent's slot count (protocol::kMinFrameSlots) unless --slots N.
std::uint32_t g_slots = porthole::protocol::kMinFrameSlots;

struct Resolution {
    std::string_view name;
    std::uint32_t width, height;
};

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
}
double percentile(std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    if (v.empty()) return 0.0;
    const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
}

// ~1% of the screen in 4 equal squares at new random places every frame.
DamageList partial_damage(std::mt19937& rng, std::uint32_t w, std::uint32_t h) {
    const auto side = static_cast<std::uint32_t>(
        std::sqrt(0.01 * static_cast<double>(w) * static_cast<double>(h) / 4.0));
    DamageList d;
    for (int i = 0; i < 4; ++i) {
        d.add(Rect{static_cast<std::uint32_t>(rng() % (w - side)),
                   static_cast<std::uint32_t>(rng() % (h - side)), side, side});
    }
    return d;
}

// A frames channel with a writer, a reader, a source image and the host's
// persistent copy, every page touched before timing. Source and copy are
// page-aligned (as DXGI staging maps and Vulkan host memory are) unless
// `misalign` shifts the copy, to show what an unaligned buffer costs.
struct Rig {
    Resolution res;
    std::uint32_t stride;
    AlignedRegion channel;
    AlignedRegion source_memory;
    AlignedRegion persistent_memory;
    std::span<std::byte> source;
    std::span<std::byte> persistent;
    FrameWriter writer;
    FrameReader reader;

    static Rig make(const Resolution& r, std::size_t misalign = 0) {
        const std::uint32_t stride = r.width * 4;
        const std::size_t n = std::size_t{stride} * r.height;
        const std::uint64_t bytes =
            frames_overhead() +
            std::uint64_t{g_slots} * slot_size_for(r.width, r.height, PixelFormat::bgra8);
        AlignedRegion channel(static_cast<std::size_t>(bytes));
        auto w = FrameWriter::create(channel.bytes(), g_slots);
        auto rd = FrameReader::attach(channel.bytes());
        if (!w || !rd) {
            fmt::print(stderr, "cannot lay out a {} frames channel\n", r.name);
            std::exit(1);
        }
        AlignedRegion src(n), dst(n + 64);
        for (std::size_t i = 0; i < n; ++i)
            src.data()[i] = static_cast<std::byte>(i * 131 >> 3);
        std::memset(dst.data(), 1, dst.size());
        const auto src_span = src.bytes();
        const auto dst_span = dst.bytes().subspan(misalign, n);
        return Rig{r,        stride,   std::move(channel), std::move(src), std::move(dst),
                   src_span, dst_span, std::move(*w),      std::move(*rd)};
    }
    [[nodiscard]] FrameSource frame() const {
        return {res.width, res.height, stride, PixelFormat::bgra8, source.data()};
    }
    std::byte* slot_pixels(std::uint32_t i) {
        return channel.data() + reader.slot_pixels_offset(i);
    }
};

struct CostRow {
    std::string what;
    double damaged_bytes = 0;  // per frame
    double copied_bytes = 0;   // per operation
    double op_ns = 0;
    double memcpy_ns = 0;
    double ratio = 0;  // median of per-frame op / memcpy
};

// CPU time of this thread: other load on the machine preempts us but does
// not count, which keeps the ratios stable on a shared machine.
std::uint64_t cpu_now() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<std::uint64_t>(t.tv_sec) * 1'000'000'000U +
           static_cast<std::uint64_t>(t.tv_nsec);
}

// Publish, then consume, `frames` frames. Each operation is followed by a
// memcpy of as many bytes, with the same source and destination memory, so
// that both see the same machine state; the ratio is the median of the
// per-frame ratios (robust against other load on the machine).
std::array<CostRow, 2> measure_costs(Rig& rig, bool full, int frames) {
    std::mt19937 rng(1);
    const auto [name, w, h] = rig.res;
    DamageList full_damage;
    full_damage.set_full(w, h);
    // Warm-up: first frame (full), reader in sync.
    (void)rig.writer.publish(rig.frame(), full_damage, 0);
    if (auto v = rig.reader.poll(); v && *v) {
        copy_frame_rects(**v, rig.persistent, rig.stride);
        (void)rig.reader.finish(**v);
    }
    std::vector<double> pub_ns, con_ns, pub_copy_ns, con_copy_ns, pub_ratio, con_ratio;
    std::vector<double> pub_bytes, con_bytes, dmg_bytes;
    auto timed_memcpy = [](std::byte* dst, const std::byte* src, std::size_t n) {
        const std::uint64_t t0 = cpu_now();
        std::memcpy(dst, src, n);
        return static_cast<double>(cpu_now() - t0);
    };
    for (int i = 0; i < frames + 3; ++i) {
        const DamageList d = full ? full_damage : partial_damage(rng, w, h);
        const std::uint64_t t0 = cpu_now();
        auto serial = rig.writer.publish(rig.frame(), d, t0);
        const std::uint64_t t1 = cpu_now();
        if (!serial) {
            fmt::print(stderr, "publish failed: {}\n", serial.error().message);
            std::exit(1);
        }
        auto v = rig.reader.poll();
        if (!v || !*v) {
            fmt::print(stderr, "the reader did not see frame {}\n", *serial);
            std::exit(1);
        }
        const std::uint64_t t2 = cpu_now();
        copy_frame_rects(**v, rig.persistent, rig.stride);
        const bool ok = rig.reader.finish(**v);
        const std::uint64_t t3 = cpu_now();
        if (!ok) std::exit(1);
        const auto pb = static_cast<std::size_t>(rig.writer.stats().last_bytes_copied);
        const auto cb = static_cast<std::size_t>((*v)->copy_rects.area() * 4);
        std::byte* slot = rig.slot_pixels((*v)->slot);
        const double mp = timed_memcpy(slot, rig.source.data(), pb);
        const double mc = timed_memcpy(rig.persistent.data(), slot, cb);
        if (i < 3) continue;  // until every slot has been through one cycle
        pub_ns.push_back(static_cast<double>(t1 - t0));
        con_ns.push_back(static_cast<double>((t3 - t2) + (t2 - t1)));
        pub_copy_ns.push_back(mp);
        con_copy_ns.push_back(mc);
        pub_ratio.push_back(pub_ns.back() / mp);
        con_ratio.push_back(con_ns.back() / mc);
        pub_bytes.push_back(static_cast<double>(pb));
        con_bytes.push_back(static_cast<double>(cb));
        dmg_bytes.push_back(static_cast<double>(d.area() * 4));
    }
    const std::string kind = full ? "full" : "1%";
    return {CostRow{fmt::format("{} {} publish", name, kind), median(dmg_bytes), median(pub_bytes),
                    median(pub_ns), median(pub_copy_ns), median(pub_ratio)},
            CostRow{fmt::format("{} {} consume", name, kind), median(dmg_bytes), median(con_bytes),
                    median(con_ns), median(con_copy_ns), median(con_ratio)}};
}

// The guest's side of a progressive full frame: publish_progressive (rows
// copied in chunks, a position stored after each) against one memcpy of the
// frame, as measure_costs does for publish.
CostRow measure_progressive_publish(Rig& rig, int frames, std::size_t chunk_bytes) {
    std::vector<double> op, base, ratio;
    const std::size_t n = rig.source.size();
    for (int i = 0; i < frames + 3; ++i) {
        const std::uint64_t t0 = cpu_now();
        auto serial = rig.writer.publish_progressive(rig.frame(), t0, chunk_bytes);
        const std::uint64_t t1 = cpu_now();
        if (!serial) {
            fmt::print(stderr, "publish failed: {}\n", serial.error().message);
            std::exit(1);
        }
        auto v = rig.reader.poll();  // keeps the reader in step; not timed
        if (v && *v) {
            copy_frame_rects(**v, rig.persistent, rig.stride);
            (void)rig.reader.finish(**v);
        }
        std::byte* slot = rig.slot_pixels(rig.writer.slot_count() - 1);
        const std::uint64_t t2 = cpu_now();
        std::memcpy(slot, rig.source.data(), n);
        const std::uint64_t t3 = cpu_now();
        if (i < 3) continue;
        op.push_back(static_cast<double>(t1 - t0));
        base.push_back(static_cast<double>(t3 - t2));
        ratio.push_back(op.back() / base.back());
    }
    return CostRow{fmt::format("{} full publish progressive/{}", rig.res.name, chunk_bytes / 1024),
                   static_cast<double>(n),
                   static_cast<double>(n),
                   median(op),
                   median(base),
                   median(ratio)};
}

// A way for the host to wait: the baseline spin (poll in a busy loop, the
// floor of notice latency at a whole core) or an AdaptiveWait.
struct WaitCase {
    std::string name;
    bool spin = false;
    AdaptiveWait::Config config{};
    // ivshmem-doorbell: the guest rings after each publish. Here an eventfd
    // the publishing thread writes, as QEMU's ioeventfd does for the guest's
    // doorbell write (the guest's MMIO exit, 1-2 us on KVM, is not in it).
    bool doorbell = false;
};

struct NoticeTally {
    std::vector<double> latency_ns;
    double active_cpu_ns = 0, active_wall_ns = 0;  // while updates arrive
    double idle_cpu_ns = 0, idle_wall_ns = 0;      // after the last one
    std::uint64_t published = 0, seen = 0;
};

// One segment: a host thread waits for frames as `c` says while the guest
// publishes a 64x64 update after each of `intervals_us`, then stays idle for
// `idle_ms`. Latency: publish (capture time) -> the host's poll returns it.
void notice_segment(Rig& rig, const WaitCase& c, std::span<const int> intervals_us, int idle_ms,
                    NoticeTally& t) {
    while (true) {  // drain what an earlier segment left
        auto v = rig.reader.poll();
        if (!v || !*v) break;
        (void)rig.reader.finish(**v);
    }
    std::atomic<bool> stop{false}, idle_phase{false};
    std::atomic<std::uint64_t> seen{0};
    std::vector<double> latencies;
    double a_cpu = 0, a_wall = 0, i_cpu = 0, i_wall = 0;
    porthole::UniqueFd bell(c.doorbell ? ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) : -1);
    std::thread host([&] {
        AdaptiveWait wait(c.config);
        if (bell) wait.set_doorbell(bell.get());
        double cpu0 = static_cast<double>(cpu_now());
        double wall0 = static_cast<double>(monotonic_ns());
        bool idle_started = false;
        std::uint64_t n = 0;
        while (!stop.load(std::memory_order_relaxed)) {
            if (!idle_started && idle_phase.load(std::memory_order_relaxed)) {
                idle_started = true;
                const auto cpu1 = static_cast<double>(cpu_now());
                const auto wall1 = static_cast<double>(monotonic_ns());
                a_cpu = cpu1 - cpu0;
                a_wall = wall1 - wall0;
                cpu0 = cpu1;
                wall0 = wall1;
            }
            auto v = rig.reader.poll();
            if (v && *v) {
                const std::uint64_t now = monotonic_ns();
                latencies.push_back(static_cast<double>(now - (*v)->meta.capture_time_ns));
                copy_frame_rects(**v, rig.persistent, rig.stride);
                (void)rig.reader.finish(**v);
                ++n;
                wait.activity();
            } else if (!c.spin) {
                wait.idle();
            }
        }
        i_cpu = static_cast<double>(cpu_now()) - cpu0;
        i_wall = static_cast<double>(monotonic_ns()) - wall0;
        seen.store(n);
    });
    DamageList small;
    small.add(Rect{100, 100, 64, 64});
    for (const int us : intervals_us) {
        std::this_thread::sleep_for(std::chrono::microseconds(us));
        if (rig.writer.publish(rig.frame(), small, monotonic_ns())) ++t.published;
        if (bell) {
            const std::uint64_t one = 1;
            (void)!::write(bell.get(), &one, sizeof one);
        }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // the last notice
    idle_phase = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(idle_ms));
    stop = true;
    host.join();
    t.latency_ns.insert(t.latency_ns.end(), latencies.begin(), latencies.end());
    t.seen += seen.load();
    t.active_cpu_ns += a_cpu;
    t.active_wall_ns += a_wall;
    t.idle_cpu_ns += i_cpu;
    t.idle_wall_ns += i_wall;
}

// Every case meets the same load: `rounds` rounds, each running every case
// (in an order rotated each round) over the same random 2-10 ms intervals.
std::vector<NoticeTally> measure_notice(Rig& rig, std::span<const WaitCase> cases, int samples,
                                        int rounds, int idle_ms) {
    std::vector<NoticeTally> out(cases.size());
    const int per_round = std::max(1, samples / rounds);
    for (int r = 0; r < rounds; ++r) {
        std::mt19937 rng(static_cast<unsigned>(3 + r));
        std::vector<int> intervals(static_cast<std::size_t>(per_round));
        for (int& i : intervals)
            i = 2000 + static_cast<int>(rng() % 8000);
        for (std::size_t k = 0; k < cases.size(); ++k) {
            const std::size_t i = (k + static_cast<std::size_t>(r)) % cases.size();
            notice_segment(rig, cases[i], intervals, idle_ms, out[i]);
        }
    }
    return out;
}

// "spin/min/max/slack" in microseconds (slack 0: the thread's default).
std::optional<WaitCase> parse_wait_case(std::string_view text) {
    std::array<long, 4> v{};
    std::size_t i = 0;
    while (i < v.size()) {
        const std::size_t slash = text.find('/');
        const std::string part(text.substr(0, slash));
        char* end = nullptr;
        v[i++] = std::strtol(part.c_str(), &end, 10);
        if (part.empty() || *end != 0) return std::nullopt;
        if (slash == std::string_view::npos) break;
        text.remove_prefix(slash + 1);
    }
    if (i < 3) return std::nullopt;
    using us = std::chrono::microseconds;
    return WaitCase{fmt::format("{}/{}/{}/{}", v[0], v[1], v[2], v[3]), false,
                    AdaptiveWait::Config{us(v[0]), us(v[1]), us(v[2]), us(v[3])}};
}

// ---------------------------------------------------------------- streaming

struct StreamRow {
    std::string what;
    double memcpy_ns = 0;  // median of one memcpy of the frame's bytes
    std::vector<double> latency_ns;
    std::uint64_t published = 0, missed = 0, torn = 0;
    double reader_cpu_ns = 0, reader_wall_ns = 0;  // the host thread, this path's frames
    // Where the latency goes, per frame copied: start -> the host first sees
    // the frame (notice), start -> the guest's publish returns (write), the
    // guest's publish returning -> the host's copy done (tail).
    std::vector<double> notice_ns, write_ns, tail_ns;
    std::string pacing;  // a line on the guest's pacing, printed after the row
};

// While a progressive frame's rows land: spin up to 2 ms between chunks, then
// sleep briefly (a writer descheduled mid-frame).
constexpr AdaptiveWait::Config kRowsWait{
    std::chrono::microseconds(2000), std::chrono::microseconds(20), std::chrono::microseconds(100)};

// A guest thread publishes `frames` whole frames at `hz`; the paths take
// turns every kStreamBlock frames, so all meet the same load on the machine
// (frame by frame, a progressive frame announced while the host still copied
// the one before superseded every complete one between them, and today's path
// was shown missing them all):
//   0 publish, the host waiting with the default AdaptiveWait (today's path);
//   1 progressive, the same wait, spinning (kRowsWait) while rows land;
//   2 progressive, the host waiting as the session loop does: idle with
//     FrameReader::wake_hint (spin while rows land and around the moment the
//     next frame is due; otherwise the default wait).
// The host copies each frame into its persistent copy. Latency: the guest
// starts writing -> the host's copy is done.
constexpr int kStreamBlock = 8;
constexpr std::size_t kStreamPaths = 3;
porthole::FrameCadence::Config g_cadence{};      // --cadence lead/after
std::size_t stream_path(std::uint64_t serial) {  // serials start at 1
    return static_cast<std::size_t>((serial - 1) / kStreamBlock) % kStreamPaths;
}
std::array<StreamRow, kStreamPaths> measure_stream(const Resolution& res, int hz,
                                                   std::size_t chunk_bytes, int frames) {
    Rig rig = Rig::make(res);
    rig.reader.set_cadence(g_cadence);
    std::array<StreamRow, kStreamPaths> rows;
    // The baseline: one memcpy of the frame's bytes, 10 times before the
    // stream and once in every kBaselineEvery frame periods during it (that
    // period publishes nothing), so it meets the stream's load on the machine.
    AlignedRegion baseline_dst(rig.source.size());
    std::memset(baseline_dst.data(), 1, baseline_dst.size());
    std::vector<double> baseline;
    auto time_memcpy = [&] {
        const std::uint64_t t0 = monotonic_ns();
        std::memcpy(baseline_dst.data(), rig.source.data(), rig.source.size());
        baseline.push_back(static_cast<double>(monotonic_ns() - t0));
    };
    for (int i = 0; i < 10; ++i)
        time_memcpy();
    std::atomic<bool> stop{false};
    std::array<std::vector<double>, kStreamPaths> latencies;
    std::array<std::uint64_t, kStreamPaths> torn{};
    // By serial (1..frames): the host's first sight and copy done, the guest's start and end.
    std::vector<std::uint64_t> seen_at(static_cast<std::size_t>(frames) + 2),
        done_at(seen_at.size()), start_at(seen_at.size()), end_at(seen_at.size());
    // The host thread's CPU and wall time, each frame's share (the wait
    // before it, then its copy) counted to its path.
    std::array<double, kStreamPaths> cpu{}, wall{};
    std::thread host([&] {
        AdaptiveWait wait;
        auto cpu0 = static_cast<double>(cpu_now());
        auto wall0 = static_cast<double>(monotonic_ns());
        std::uint64_t last_serial = 0;
        while (!stop.load(std::memory_order_relaxed)) {
            // poll_progressive offers a publish()ed frame exactly as poll()
            // does (once complete), and copy_available then copies and
            // finishes it as copy_frame_rects + finish do.
            const bool hinted = stream_path(last_serial + 1) == 2;
            auto v = rig.reader.poll_progressive(monotonic_ns());
            if (!v || !*v) {
                if (hinted) {
                    wait.idle(rig.reader.wake_hint(monotonic_ns()));
                } else {
                    wait.idle();
                }
                continue;
            }
            FrameView view = **v;
            last_serial = view.meta.serial;
            const std::size_t path = stream_path(view.meta.serial);
            const auto idx = static_cast<std::size_t>(view.meta.serial);
            if (idx < seen_at.size() && seen_at[idx] == 0) seen_at[idx] = monotonic_ns();
            // Chunks land every few tens of microseconds: spin (yielding, so a
            // writer sharing this core still runs) while they do.
            AdaptiveWait rows_wait(kRowsWait);
            std::uint32_t copied = 0;
            FrameCopyState state = FrameCopyState::in_progress;
            while (state == FrameCopyState::in_progress) {
                auto p =
                    rig.reader.copy_available(view, rig.persistent, rig.stride, monotonic_ns());
                if (!p) break;
                state = p->state;
                if (p->rows > copied) {
                    copied = p->rows;
                    rows_wait.activity();
                    wait.activity();
                } else if (state == FrameCopyState::in_progress) {
                    if (path == 2) {
                        wait.idle(rig.reader.wake_hint(monotonic_ns()));
                    } else {
                        rows_wait.idle();
                    }
                }
            }
            if (state == FrameCopyState::complete) {
                const std::uint64_t done = monotonic_ns();
                latencies[path].push_back(static_cast<double>(done - view.meta.capture_time_ns));
                if (idx < done_at.size()) done_at[idx] = done;
            } else if (state == FrameCopyState::torn) {
                ++torn[path];
            }
            const auto cpu1 = static_cast<double>(cpu_now());
            const auto wall1 = static_cast<double>(monotonic_ns());
            cpu[path] += cpu1 - cpu0;
            wall[path] += wall1 - wall0;
            cpu0 = cpu1;
            wall0 = wall1;
            wait.activity();
        }
    });
    const auto period = std::chrono::nanoseconds(1'000'000'000 / hz);
    auto next = std::chrono::steady_clock::now() + period;
    DamageList full;
    full.set_full(res.width, res.height);
    constexpr int kBaselineEvery = 13;
    for (int i = 0, published = 0; published < frames; ++i) {
        std::this_thread::sleep_until(next);
        next += period;
        if (i % kBaselineEvery == kBaselineEvery - 1) {
            time_memcpy();
            continue;
        }
        ++published;
        const std::uint64_t start = monotonic_ns();
        const std::size_t path = stream_path(static_cast<std::uint64_t>(published));
        auto serial = path != 0 ? rig.writer.publish_progressive(rig.frame(), start, chunk_bytes)
                                : rig.writer.publish(rig.frame(), full, start);
        if (!serial) {
            fmt::print(stderr, "publish failed: {}\n", serial.error().message);
            std::exit(1);
        }
        if (*serial < start_at.size()) {
            start_at[*serial] = start;
            end_at[*serial] = monotonic_ns();
        }
        rows[path].published++;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(30));  // the last copy
    stop = true;
    host.join();
    for (auto& r : rows)
        r.memcpy_ns = median(baseline);
    for (std::size_t p = 0; p < kStreamPaths; ++p) {
        rows[p].latency_ns = std::move(latencies[p]);
        rows[p].missed = rows[p].published - rows[p].latency_ns.size();
        rows[p].torn = torn[p];
        rows[p].reader_cpu_ns = cpu[p];
        rows[p].reader_wall_ns = wall[p];
    }
    for (std::size_t i = 1; i < start_at.size(); ++i) {
        if (done_at[i] == 0 || start_at[i] == 0) continue;
        StreamRow& r = rows[stream_path(i)];
        r.notice_ns.push_back(static_cast<double>(seen_at[i] - start_at[i]));
        r.write_ns.push_back(static_cast<double>(end_at[i] - start_at[i]));
        r.tail_ns.push_back(static_cast<double>(done_at[i]) - static_cast<double>(end_at[i]));
    }
    // How steady the guest's pacing was (what the wake hint predicts from).
    std::vector<double> jitter;
    for (std::size_t i = 2; i < start_at.size(); ++i) {
        if (start_at[i] != 0 && start_at[i - 1] != 0)
            jitter.push_back(static_cast<double>(start_at[i] - start_at[i - 1]) - 1e9 / hz);
    }
    std::sort(jitter.begin(), jitter.end());
    rows[2].pacing = fmt::format(
        "  guest pacing, frame start interval - period, us: p10 {:.0f} p50 {:.0f} p90 {:.0f}; "
        "learned period {}",
        percentile(jitter, 0.1) / 1e3, percentile(jitter, 0.5) / 1e3, percentile(jitter, 0.9) / 1e3,
        rig.reader.cadence().period()
            ? fmt::format("{:.1f} us",
                          static_cast<double>(rig.reader.cadence().period()->count()) / 1e3)
            : std::string("none"));
    return rows;
}

void print_stream_row(const StreamRow& r) {
    const double med = median(r.latency_ns), p99 = percentile(r.latency_ns, 0.99);
    const double frames_seen = static_cast<double>(std::max<std::size_t>(r.latency_ns.size(), 1));
    fmt::print(
        "{:<40} {:>9.2f} {:>9.2f} {:>9.2f} {:>7.2f}x {:>7.2f}x {:>7} {:>5} {:>6.1f} {:>7.2f}x "
        "{:>6.2f}x {:>6.2f}x {:>6.2f}x\n",
        r.what, r.memcpy_ns / 1e6, med / 1e6, p99 / 1e6, med / r.memcpy_ns, p99 / r.memcpy_ns,
        fmt::format("{}/{}", r.missed, r.published), r.torn,
        r.reader_cpu_ns / std::max(r.reader_wall_ns, 1.0) * 100,
        r.reader_cpu_ns / frames_seen / r.memcpy_ns, median(r.notice_ns) / r.memcpy_ns,
        median(r.write_ns) / r.memcpy_ns, median(r.tail_ns) / r.memcpy_ns);
    if (!r.pacing.empty()) fmt::print("{}\n", r.pacing);
}

void print_row(const CostRow& row) {
    fmt::print("{:<34} {:>10.0f} {:>10.0f} {:>6.2f}x {:>10.1f} {:>10.1f} {:>6.2f}x {:>9.2f}\n",
               row.what, row.damaged_bytes / 1024, row.copied_bytes / 1024,
               row.copied_bytes / row.damaged_bytes, row.op_ns / 1000, row.memcpy_ns / 1000,
               row.ratio, row.copied_bytes / row.op_ns);
}

}  // namespace

// Notice for 64x64 updates: today's wait and the tuned defaults, each beside
// the baseline spin of the same run (rounds alternate between them).
void print_notice(const Resolution& res, int samples, bool quick, std::span<const WaitCase> extra) {
    using us = std::chrono::microseconds;
    std::vector<WaitCase> cases{
        WaitCase{"spin (baseline)", true, {}},
        WaitCase{"today 200/50/250", false, AdaptiveWait::Config{us(200), us(50), us(250)}},
        WaitCase{"tuned (defaults)", false, AdaptiveWait::Config{}},
        WaitCase{"doorbell (defaults)", false, AdaptiveWait::Config{}, true},
    };
    cases.insert(cases.end(), extra.begin(), extra.end());
    Rig rig = Rig::make(res);
    DamageList all;
    all.set_full(res.width, res.height);
    (void)rig.writer.publish(rig.frame(), all, monotonic_ns());
    const int rounds = quick ? 2 : 15;
    const auto tallies = measure_notice(rig, cases, samples, rounds, quick ? 100 : 300);
    fmt::print(
        "Notice: a 64x64 update published every 2-10 ms (random) -> the host thread's poll returns "
        "it.\n{} rounds alternate the cases over the same intervals. CPU: that thread's CPU time "
        "while the\nupdates arrive (idle: in the quiet after them), % of a core. x spin: ratio to "
        "the baseline spin\nof the same run. Waits: spin window/first sleep/longest sleep/timer "
        "slack, us.\n",
        rounds);
    fmt::print("{:<26} {:>7} {:>9} {:>9} {:>9} {:>6} {:>7} {:>7} {:>8} {:>8} {:>8}\n", "wait",
               "samples", "median us", "p99 us", "max us", "missed", "CPU %", "idle %", "med x",
               "p99 x", "CPU x");
    const double spin_med = median(tallies[0].latency_ns);
    const double spin_p99 = percentile(tallies[0].latency_ns, 0.99);
    for (std::size_t i = 0; i < cases.size(); ++i) {
        const NoticeTally& t = tallies[i];
        const double med = median(t.latency_ns), p99 = percentile(t.latency_ns, 0.99);
        fmt::print(
            "{:<26} {:>7} {:>9.1f} {:>9.1f} {:>9.1f} {:>6} {:>7.2f} {:>7.2f} {:>7.2f}x {:>7.2f}x "
            "{:>7.3f}x\n",
            cases[i].name, t.latency_ns.size(), med / 1000, p99 / 1000,
            percentile(t.latency_ns, 1.0) / 1000, t.published - t.seen,
            t.active_cpu_ns / t.active_wall_ns * 100, t.idle_cpu_ns / t.idle_wall_ns * 100,
            med / spin_med, p99 / spin_p99,
            (t.active_cpu_ns / t.active_wall_ns) /
                (tallies[0].active_cpu_ns / tallies[0].active_wall_ns));
    }
    fmt::print(
        "Target (LGMP measured here): median <= 165 us, p99 <= 404 us, CPU <= 5% of a core\n\n");
}

int main(int argc, char** argv) {
    bool quick = false, notice_only = false, stream_only = false, costs_only = false;
    std::string_view only_res;  // --res NAME: stream only this resolution
    int notice_samples = 0;
    std::vector<WaitCase> extra_cases;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "--quick") {
            quick = true;
        } else if (a == "--notice") {
            notice_only = true;
        } else if (a == "--stream") {
            stream_only = true;
        } else if (a == "--costs") {
            costs_only = true;
        } else if (a == "--res" && i + 1 < argc) {
            only_res = argv[++i];
        } else if (a == "--cadence" && i + 1 < argc) {
            int lead = 0, after = 0;
            if (std::sscanf(argv[++i], "%d/%d", &lead, &after) != 2) return 2;
            g_cadence.lead = std::chrono::microseconds(lead);
            g_cadence.after = std::chrono::microseconds(after);
        } else if (a == "--slots" && i + 1 < argc) {
            g_slots = static_cast<std::uint32_t>(std::atoi(argv[++i]));
            if (g_slots < porthole::protocol::kMinFrameSlots ||
                g_slots > porthole::protocol::kMaxFrameSlots) {
                fmt::print(stderr, "--slots wants {}..{}\n", porthole::protocol::kMinFrameSlots,
                           porthole::protocol::kMaxFrameSlots);
                return 2;
            }
        } else if (a == "--notice-samples" && i + 1 < argc) {
            notice_samples = std::atoi(argv[++i]);
        } else if (a == "--notice-wait" && i + 1 < argc) {
            auto c = parse_wait_case(argv[++i]);
            if (!c) {
                fmt::print(stderr, "--notice-wait wants spin/min/max[/slack] in us\n");
                return 2;
            }
            extra_cases.push_back(*c);
        } else {
            fmt::print(stderr,
                       "usage: porthole-bench-transport [--quick] [--notice] [--stream] "
                       "[--costs] [--res 1080p|1440p|4K] [--slots N] [--cadence lead/after] "
                       "[--notice-samples N] "
                       "[--notice-wait spin/min/max[/slack] ...]\n");
            return 2;
        }
    }
    const std::array<Resolution, 3> resolutions{
        {{"1080p", 1920, 1080}, {"1440p", 2560, 1440}, {"4K", 3840, 2160}}};
    const int frames = quick ? 10 : 40;
    if (notice_samples <= 0) notice_samples = quick ? 200 : 3000;

    if (!stream_only && !costs_only)
        print_notice(resolutions[0], notice_samples, quick, extra_cases);
    if (notice_only) return 0;

    fmt::print(
        "Frame transport, BGRA8, {} slots. Times are medians of thread CPU time; ratio is the "
        "median over frames of\n"
        "operation / memcpy of the bytes it copied, run right after it on the same memory.\n\n",
        g_slots);
    fmt::print("{:<34} {:>10} {:>10} {:>7} {:>10} {:>10} {:>7} {:>9}\n", "case", "damage KiB",
               "copied KiB", "ampl.", "op us", "memcpy us", "ratio", "GB/s");
    for (const auto& r : resolutions) {
        if (stream_only) break;
        Rig rig = Rig::make(r);
        for (bool full : {true, false}) {
            for (const CostRow& row : measure_costs(rig, full, frames))
                print_row(row);
        }
        print_row(measure_progressive_publish(rig, frames, kProgressiveChunkBytes));
    }
    if (!stream_only) {
        // The same full-frame consume into a copy 16 bytes off 64-byte alignment.
        Rig rig = Rig::make(resolutions[0], 16);
        auto rows = measure_costs(rig, true, frames);
        rows[1].what += " (copy +16 B)";
        print_row(rows[1]);
    }

    if (costs_only) return 0;
    fmt::print(
        "\nStreaming full frames: a guest thread paces whole-frame updates, a host thread "
        "(default AdaptiveWait)\n"
        "copies each into its persistent copy. Latency: the guest starts writing -> the host's "
        "copy is done\n"
        "(wall clock, ms). med x, p99 x: latency / memcpy of the frame's bytes (median, same "
        "run: before\nthe stream and in every 13th frame period, which publishes nothing). "
        "missed:\n"
        "frames never fully copied by the host; torn: copies discarded because the slot was "
        "reused. Frames\nalternate between the paths every 8, so both meet the same load; the host "
        "thread's CPU time is counted\nto the path of the frame it waited for and copied. CPU %: "
        "% of a core; CPU/fr x: CPU time per frame\ncopied / memcpy. progressive/N: chunks of N "
        "KiB. notice, write, tail (x memcpy, medians): the guest starts\nwriting -> the host first "
        "sees the frame; the guest starts -> its write ends; its write ends -> the\nhost's copy is "
        "done.\n");
    fmt::print("{:<40} {:>9} {:>9} {:>9} {:>8} {:>8} {:>7} {:>5} {:>6} {:>8} {:>7} {:>7} {:>7}\n",
               "case", "memcpy ms", "median ms", "p99 ms", "med x", "p99 x", "missed", "torn",
               "CPU %", "CPU/fr x", "notice", "write", "tail");
    const int seconds_per_case = quick ? 1 : 4;
    for (const auto& r : resolutions) {
        if (!only_res.empty() && r.name != only_res) continue;
        for (const int hz : {60, 144}) {
            auto rows = measure_stream(r, hz, kProgressiveChunkBytes, hz * seconds_per_case);
            rows[0].what = fmt::format("{} {} Hz publish (today)", r.name, hz);
            rows[1].what =
                fmt::format("{} {} Hz progressive/{}", r.name, hz, kProgressiveChunkBytes / 1024);
            rows[2].what = fmt::format("{} {} Hz progressive/{} + wake hint", r.name, hz,
                                       kProgressiveChunkBytes / 1024);
            for (const auto& row : rows)
                print_stream_row(row);
        }
    }
    if (stream_only) return 0;
    fmt::print("\nChunk size (60 Hz; each beside today's publish of the same run):\n");
    for (const auto& r : {resolutions[0], resolutions[2]}) {
        for (const std::size_t kib : std::array<std::size_t, 5>{32, 64, 128, 256, 1024}) {
            auto rows = measure_stream(r, 60, kib * 1024, 60 * seconds_per_case);
            rows[1].what = fmt::format("{} 60 Hz progressive/{} (today {:.2f}x)", r.name, kib,
                                       median(rows[0].latency_ns) / rows[0].memcpy_ns);
            rows[2].what = fmt::format("{} 60 Hz progressive/{} + wake hint", r.name, kib);
            print_stream_row(rows[1]);
            print_stream_row(rows[2]);
        }
    }

    fmt::print(
        "\nTargets: full-frame publish <= 1.15x memcpy; notice median <= 165 us, p99 <= 404 us at "
        "<= 5% "
        "of a core;\nstreaming copy-done median <= 1.2x memcpy with 0 torn shown and 0 missed at "
        "60 "
        "Hz\n");
    return 0;
}
