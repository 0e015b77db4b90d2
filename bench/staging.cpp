// porthole-bench-staging: what the DXGI path's ring of staging textures
// (guest-agent/capture/win/staging_ring.hpp) buys over one staging texture
// mapped with a blocking Map, the agent's loop before the ring.
//
// DXGI cannot run here, so the duplication is a stand-in: the GPU's copy into
// a staging texture is modelled as a delay (--gpu-ms, run on a "GPU" thread
// that uses no CPU), while everything the CPU does is real: the ring's logic,
// the map of the oldest finished copy, and the publish of the whole frame
// into an in-memory region by the agent's FrameWriter. Full-screen damage on
// every frame, as games draw. Two runs per case:
// - unpaced: the desktop always has a new frame; frames per second the agent
//   publishes, as a ratio to the single blocking texture (the baseline);
// - paced: the desktop presents at --hz; the time from a frame's present to
//   the end of its publish (p50, p99) and the frames published per frame
//   presented.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "agent_region.hpp"
#include "capture/win/staging_ring.hpp"
#include "porthole/protocol/layout.hpp"
#include "porthole/protocol/session.hpp"

namespace {

using namespace porthole;
using namespace porthole::agent::win;
using Clock = std::chrono::steady_clock;
using Kind = DuplicationPort::Acquired::Kind;

std::uint64_t now_ns() {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
            .count());
}

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    const auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return v[k];
}

// The duplication and device context: a desktop presenting at `hz` (0: a new
// frame whenever asked), and a GPU that finishes each copy `gpu` after it
// was queued and after the copy before it (one copy engine, in order).
class ModelledDuplication final : public DuplicationPort {
  public:
    ModelledDuplication(std::uint32_t w, std::uint32_t h, double hz, Clock::duration gpu)
        : w_(w), h_(h), gpu_(gpu), gpu_thread_([this] { gpu_loop(); }) {
        if (hz > 0)
            period_ = std::chrono::duration_cast<Clock::duration>(
                std::chrono::duration<double>(1.0 / hz));
        next_present_ = Clock::now();
    }
    ~ModelledDuplication() override {
        {
            const std::lock_guard lock(m_);
            stop_ = true;
        }
        cv_.notify_all();
        gpu_thread_.join();
    }
    ModelledDuplication(const ModelledDuplication&) = delete;
    ModelledDuplication& operator=(const ModelledDuplication&) = delete;

    std::uint64_t presented = 0;  // desktop frames presented (paced) or acquired

    Acquired acquire(std::chrono::milliseconds timeout) override {
        Acquired a;
        if (period_ != Clock::duration::zero()) {
            // The newest present not yet taken; none within the timeout: a timeout.
            const auto now = Clock::now();
            if (next_present_ > now + timeout) return a;
            if (next_present_ > now) std::this_thread::sleep_until(next_present_);
            const auto at = next_present_;
            // Presents missed meanwhile are one desktop frame (DXGI accumulates
            // them): each counts as presented, only the newest is captured.
            while (next_present_ <= Clock::now()) {
                next_present_ += period_;
                ++presented;
            }
            --presented;
            a.capture_time_ns = static_cast<std::uint64_t>(
                std::chrono::duration_cast<std::chrono::nanoseconds>(at.time_since_epoch())
                    .count());
        } else {
            a.capture_time_ns = now_ns();
        }
        a.kind = Kind::image;
        a.layout = StagingLayout{w_, h_, 87};  // DXGI_FORMAT_B8G8R8A8_UNORM
        a.damage.set_full(w_, h_);
        ++presented;
        return a;
    }
    void release_frame() override {}
    Status make_staging(const StagingLayout& layout, std::size_t slots) override {
        const std::lock_guard lock(m_);
        textures_.assign(
            slots,
            std::vector<std::byte>(std::size_t{layout.width} * 4 * layout.height, std::byte{0x40}));
        done_.assign(slots, true);
        return {};
    }
    void copy(std::size_t slot, std::span<const protocol::Rect> /*rects*/) override {
        {
            const std::lock_guard lock(m_);
            done_[slot] = false;
            const auto start = std::max(Clock::now(), last_done_);
            last_done_ = start + gpu_;
            jobs_.push_back({slot, last_done_});
        }
        cv_.notify_all();
    }
    MapResult map(std::size_t slot, bool wait, MappedSlot& out) override {
        std::unique_lock lock(m_);
        if (!done_[slot]) {
            if (!wait) return MapResult::still_drawing;
            cv_.wait(lock, [&] { return done_[slot]; });
        }
        out.data = textures_[slot].data();
        out.row_pitch = w_ * 4;
        return MapResult::ok;
    }
    void unmap(std::size_t /*slot*/) override {}

  private:
    struct Job {
        std::size_t slot;
        Clock::time_point done_at;
    };
    void gpu_loop() {
        std::unique_lock lock(m_);
        for (;;) {
            cv_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
            if (stop_) return;
            const Job j = jobs_.front();
            lock.unlock();
            std::this_thread::sleep_until(j.done_at);
            lock.lock();
            jobs_.pop_front();
            done_[j.slot] = true;
            cv_.notify_all();
        }
    }

    std::uint32_t w_, h_;
    Clock::duration gpu_;
    Clock::duration period_{};
    Clock::time_point next_present_;
    std::mutex m_;
    std::condition_variable cv_;
    std::deque<Job> jobs_;
    std::vector<std::vector<std::byte>> textures_;
    std::vector<bool> done_;
    Clock::time_point last_done_{};
    bool stop_ = false;
    std::thread gpu_thread_;  // last: started once the rest is set up
};

struct RunResult {
    double fps = 0;                 // frames published per second
    double publish_us = 0;          // median publish
    double p50_ms = 0, p99_ms = 0;  // present -> published
    double shown = 0;               // frames published per desktop frame presented
};

// One frame handed out by either loop: the mapped texture and its present time.
struct Mapped {
    MappedSlot map;
    std::uint64_t capture_time_ns = 0;
};

// The loop before the ring: acquire, copy, release, Map (blocking), publish, Unmap.
class SingleTexture {
  public:
    explicit SingleTexture(DuplicationPort& port) : port_(port) {}
    std::optional<Mapped> next() {
        auto a = port_.acquire(std::chrono::milliseconds(100));
        if (a.kind != Kind::image) return std::nullopt;
        if (!made_) {
            (void)port_.make_staging(a.layout, 1);
            made_ = true;
        }
        port_.copy(0, a.damage.rects());
        port_.release_frame();
        Mapped m;
        if (port_.map(0, true, m.map) != MapResult::ok) return std::nullopt;
        m.capture_time_ns = a.capture_time_ns;
        return m;
    }
    void done() { port_.unmap(0); }

  private:
    DuplicationPort& port_;
    bool made_ = false;
};

class Ring {
  public:
    Ring(DuplicationPort& port, std::size_t slots) : port_(port), ring_(slots) {}
    std::optional<Mapped> next() {
        const RingFrame f = ring_.next(port_, std::chrono::milliseconds(100));
        if (f.status != agent::CaptureStatus::ok) return std::nullopt;
        return Mapped{f.map, f.capture_time_ns};
    }
    void done() {}  // the ring unmaps the frame at its next call

  private:
    DuplicationPort& port_;
    StagingRing ring_;
};

template <class Loop>
RunResult run(Loop& loop, ModelledDuplication& dup, std::uint32_t w, std::uint32_t h,
              Clock::duration length) {
    RunResult r;
    auto region = bench::AgentRegion::make(w, h);
    if (!region) return r;
    auto& writer = region->session->channels().frames;
    protocol::DamageList full;
    full.set_full(w, h);
    std::vector<double> pub, lat;
    const std::uint64_t presented0 = dup.presented;
    const auto t0 = Clock::now();
    int frames = 0;
    while (Clock::now() - t0 < length) {
        const auto m = loop.next();
        if (!m) continue;
        const auto p0 = Clock::now();
        const protocol::FrameSource src{w, h, w * 4, protocol::PixelFormat::bgra8, m->map.data};
        if (auto s = writer.publish(src, full, m->capture_time_ns); !s) {
            fmt::print(stderr, "publish failed: {}\n", s.error().message);
            return r;
        }
        pub.push_back(std::chrono::duration<double, std::micro>(Clock::now() - p0).count());
        lat.push_back(static_cast<double>(now_ns() - m->capture_time_ns) / 1e6);
        loop.done();
        ++frames;
    }
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    r.fps = frames / secs;
    r.publish_us = percentile(pub, 0.5);
    r.p50_ms = percentile(lat, 0.5);
    r.p99_ms = percentile(lat, 0.99);
    const auto presented = dup.presented - presented0;
    r.shown = presented == 0 ? 0 : static_cast<double>(frames) / static_cast<double>(presented);
    return r;
}

RunResult measure(std::size_t slots, std::uint32_t w, std::uint32_t h, double hz,
                  Clock::duration gpu, Clock::duration length) {
    ModelledDuplication dup(w, h, hz, gpu);
    if (slots == 1) {
        SingleTexture loop(dup);
        return run(loop, dup, w, h, length);
    }
    Ring loop(dup, slots);
    return run(loop, dup, w, h, length);
}

// The baseline of the publish column: a memcpy of the whole frame.
double frame_memcpy_us(std::uint32_t w, std::uint32_t h) {
    const std::size_t n = std::size_t{w} * 4 * h;
    std::vector<std::byte> a(n, std::byte{1}), b(n, std::byte{0});
    std::vector<double> t;
    for (int i = 0; i < 20; ++i) {
        const auto t0 = Clock::now();
        std::memcpy(b.data(), a.data(), n);
        t.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
        a[static_cast<std::size_t>(i)] = b[n - 1 - static_cast<std::size_t>(i)];
    }
    return percentile(t, 0.5);
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"porthole-bench-staging: the DXGI staging ring against one blocking texture"};
    std::vector<double> gpu_ms{1.0, 3.0, 6.0};
    double hz = 144;
    double seconds = 2;
    app.add_option("--gpu-ms", gpu_ms, "modelled GPU copy time per frame (repeatable)");
    app.add_option("--hz", hz, "desktop refresh rate of the paced runs")->check(CLI::Range(1, 500));
    app.add_option("--seconds", seconds, "length of each run")->check(CLI::Range(0.2, 60.0));
    CLI11_PARSE(app, argc, argv);
    const auto length =
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));

    fmt::print("{:<10} {:>6} {:<8} {:>9} {:>8} {:>10} {:>9} | {:>8} {:>8} {:>7}\n", "size",
               "gpu ms", "staging", "unpaced", "fps /", "publish", "publish/", "present->", "",
               "shown/");
    fmt::print("{:<10} {:>6} {:<8} {:>9} {:>8} {:>10} {:>9} | {:>8} {:>8} {:>7}\n", "", "", "",
               "fps", "single", "us", "memcpy", "pub p50", "p99 ms", "presntd");
    for (const auto& [w, h] : {std::pair{1920u, 1080u}, std::pair{2560u, 1440u}}) {
        const double cpy = frame_memcpy_us(w, h);
        for (const double g : gpu_ms) {
            const auto gpu = std::chrono::duration_cast<Clock::duration>(
                std::chrono::duration<double, std::milli>(g));
            double single_fps = 0;
            for (const std::size_t slots : {std::size_t{1}, std::size_t{2}, std::size_t{3}}) {
                const RunResult unpaced = measure(slots, w, h, 0, gpu, length);
                const RunResult paced = measure(slots, w, h, hz, gpu, length);
                if (slots == 1) single_fps = unpaced.fps;
                fmt::print(
                    "{:<10} {:>6.1f} {:<8} {:>9.1f} {:>7.2f}x {:>10.0f} {:>8.2f}x | {:>8.2f} "
                    "{:>8.2f} {:>7.2f}\n",
                    fmt::format("{}x{}", w, h), g,
                    slots == 1 ? std::string("single") : fmt::format("ring {}", slots), unpaced.fps,
                    unpaced.fps / std::max(single_fps, 1e-9), unpaced.publish_us,
                    unpaced.publish_us / std::max(cpy, 1e-3), paced.p50_ms, paced.p99_ms,
                    paced.shown);
            }
        }
    }
    fmt::print(
        "\nsingle = one staging texture, Map blocking (the loop before the ring); ring N = "
        "StagingRing\nwith N textures and DO_NOT_WAIT maps. The GPU copy is a modelled delay; the "
        "ring's logic,\nthe maps and the publish into an in-memory region are real. unpaced: a "
        "new desktop frame\nwhenever asked; paced: the desktop presents at --hz ({} Hz), "
        "present->pub = from a present to\nthe end of its publish; shown/presntd = frames "
        "published per frame presented.\n",
        hz);
    return 0;
}
