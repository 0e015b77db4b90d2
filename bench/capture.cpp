// porthole-bench-capture: the agent's cost per frame (capture + publish into
// the frames channel) for the pattern and X11 sources at 1080p and 1440p, with
// full and small damage, as a ratio to a memcpy of the damaged bytes measured
// in the same run. The target: small damage costs in proportion to the damage,
// not to the screen. The X11 source runs against an Xvfb started here.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agent_region.hpp"
#include "capture/pattern.hpp"
#include "capture/source.hpp"
#include "porthole/protocol/layout.hpp"
#include "porthole/protocol/session.hpp"
#include "porthole/protocol/test_pattern.hpp"
#ifdef PORTHOLE_HAVE_X11
#include "capture/x11.hpp"
#include "x_painter.hpp"
#include "xvfb_server.hpp"
#endif

namespace {

using namespace porthole;
using protocol::Rect;
using Clock = std::chrono::steady_clock;

double us_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
}

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return v[v.size() / 2];
}

// Page-aligned, zeroed memory (every page touched before timing).
struct alignas(4096) Page {
    std::byte bytes[4096];
};
class Buffer {
  public:
    Buffer() = default;
    explicit Buffer(std::size_t size) : pages_((size + sizeof(Page) - 1) / sizeof(Page), Page{}) {}
    [[nodiscard]] std::byte* get() { return pages_.front().bytes; }

  private:
    std::vector<Page> pages_;
};
Buffer page_aligned(std::size_t bytes) {
    return Buffer(bytes);
}

// The baseline: copying the same rectangles between two full-screen images.
double memcpy_us(const protocol::DamageList& damage, std::uint32_t w, std::uint32_t h, int iters) {
    const std::size_t stride = std::size_t{w} * 4;
    Buffer src = page_aligned(stride * h), dst = page_aligned(stride * h);
    std::memset(src.get(), 0x5a, stride * h);
    std::vector<double> t;
    for (int i = 0; i < iters; ++i) {
        const auto t0 = Clock::now();
        for (const auto& r : damage.rects()) {
            for (std::uint32_t y = r.y; y < r.y + r.h; ++y) {
                const std::size_t off = y * stride + std::size_t{r.x} * 4;
                std::memcpy(dst.get() + off, src.get() + off, std::size_t{r.w} * 4);
            }
        }
        t.push_back(us_since(t0));
        // Keep the copy observable so it is not optimised away.
        if (dst.get()[static_cast<std::size_t>(i) % (stride * h)] == std::byte{1}) std::abort();
    }
    return median(t);
}

struct Row {
    Row(std::string src, std::string m, std::uint32_t width, std::uint32_t height)
        : source(std::move(src)), mode(std::move(m)), w(width), h(height) {}
    std::string source, mode;
    std::uint32_t w = 0, h = 0;
    std::uint64_t damage_px = 0;
    protocol::DamageList damage;  // of the last frame: what the baseline copies
    double capture_us = 0, publish_us = 0, memcpy_us = 0, screen_memcpy_us = 0;
    int frames = 0;
    int odd = 0;  // frames whose damage was not what the case drew
};

// Times `frames` rounds of: prepare (untimed; draws the change), next_frame, publish.
template <class Prepare, class Check>
bool run_case(agent::CaptureSource& src, Row& row, int frames, Prepare prepare, Check check) {
    auto region = bench::AgentRegion::make(row.w, row.h);
    if (!region) return false;
    auto& writer = region->session->channels().frames;
    std::vector<double> cap, pub;
    protocol::DamageList last_damage;
    for (int i = 0; i < frames; ++i) {
        prepare(i);
        agent::CapturedFrame f;
        const auto t0 = Clock::now();
        const auto st = src.next_frame(std::chrono::milliseconds(2000), f);
        const double c = us_since(t0);
        if (st != agent::CaptureStatus::ok) {
            fmt::print(stderr, "{} {}: capture returned {} ({})\n", row.source, row.mode,
                       static_cast<int>(st), src.last_error());
            return false;
        }
        const auto t1 = Clock::now();
        auto serial = writer.publish(f.image, f.damage, f.capture_time_ns);
        const double p = us_since(t1);
        if (!serial) {
            fmt::print(stderr, "publish failed: {}\n", serial.error().message);
            return false;
        }
        if (!check(f.damage)) ++row.odd;
        cap.push_back(c);
        pub.push_back(p);
        last_damage = f.damage;
    }
    row.frames = frames;
    row.capture_us = median(cap);
    row.publish_us = median(pub);
    row.damage_px = last_damage.area();
    row.damage = last_damage;
    return true;
}

void pattern_cases(std::uint32_t w, std::uint32_t h, int scale, std::vector<Row>& rows) {
    agent::CaptureOptions o;
    o.width = w;
    o.height = h;
    o.rate_hz = 0;  // unpaced
    agent::PatternSource src(o);
    Row full("pattern", "full", w, h);
    // resize() (untimed) makes the next frame a full redraw.
    if (run_case(
            src, full, 10 * scale, [&](int) { src.resize(w, h, protocol::PixelFormat::bgra8); },
            [&](const protocol::DamageList& d) { return d.area() == std::uint64_t{w} * h; })) {
        rows.push_back(full);
    }
    Row small("pattern", "small (bar)", w, h);
    if (run_case(
            src, small, 100 * scale, [](int) {},
            [&](const protocol::DamageList& d) { return d.area() < std::uint64_t{w} * h / 4; })) {
        rows.push_back(small);
    }
}

#ifdef PORTHOLE_HAVE_X11
void x11_cases(std::uint32_t w, std::uint32_t h, int scale, std::vector<Row>& rows) {
    auto server = testing::XvfbServer::start(w, h, 24);
    if (!server) {
        fmt::print(stderr, "x11 {}x{}: skipped: {}\n", w, h, server.error().message);
        return;
    }
    auto painter = testing::XPainter::open(server->display());
    if (!painter) {
        fmt::print(stderr, "x11: skipped: {}\n", painter.error().message);
        return;
    }
    agent::CaptureOptions o;
    o.display = server->display();
    auto src = agent::X11Source::open(o);
    if (!src) {
        fmt::print(stderr, "x11: skipped: {}\n", src.error().message);
        return;
    }
    agent::CapturedFrame first;
    (void)(*src)->next_frame(std::chrono::milliseconds(1000), first);  // the initial full grab

    const Rect screen{0, 0, w, h};
    Row full("x11", "full", w, h);
    if (run_case(
            **src, full, 10 * scale,
            [&](int i) {
                painter->fill(screen, 0x010101u * static_cast<std::uint32_t>(i % 200 + 20));
                painter->sync();
            },
            [&](const protocol::DamageList& d) { return d.bounds() == screen; })) {
        rows.push_back(full);
    }
    // One 64x64 square redrawn in place with a new colour each frame.
    const Rect square{w / 2, h / 3, 64, 64};
    Row small("x11", "small 64x64", w, h);
    if (run_case(
            **src, small, 200 * scale,
            [&](int i) {
                painter->fill(square, 0x0F0F0Fu * static_cast<std::uint32_t>(i % 16 + 1));
                painter->sync();
            },
            [&](const protocol::DamageList& d) { return d.bounds() == square; })) {
        rows.push_back(small);
    }
    // Sixteen 16x16 squares spread over the screen: sixteen rectangles to grab
    // (each its own colour: Xlib would batch same-GC fills into one request,
    // which the server damages as one bounding box).
    std::vector<Rect> spots;
    for (std::uint32_t i = 0; i < 16; ++i) {
        spots.push_back(Rect{w / 5 * (i % 4 + 1), h / 5 * (i / 4 + 1), 16, 16});
    }
    Row spread("x11", "16x 16x16", w, h);
    if (run_case(
            **src, spread, 100 * scale,
            [&](int i) {
                for (std::uint32_t k = 0; k < spots.size(); ++k) {
                    painter->fill(spots[k], 0x0F0F0Fu * static_cast<std::uint32_t>(i % 16 + 1) + k);
                }
                painter->sync();
            },
            [&](const protocol::DamageList& d) {
                return d.area() == std::uint64_t{16} * 16 * 16;
            })) {
        rows.push_back(spread);
    }
    // A line of text: 16 glyph cells of 8x16, 4 pixels apart, each its own request.
    std::vector<Rect> glyphs;
    for (std::uint32_t k = 0; k < 16; ++k)
        glyphs.push_back(Rect{w / 4 + k * 12, h / 2, 8, 16});
    Row text("x11", "16 glyphs", w, h);
    if (run_case(
            **src, text, 100 * scale,
            [&](int i) {
                for (std::uint32_t k = 0; k < glyphs.size(); ++k) {
                    painter->fill(glyphs[k],
                                  0x0F0F0Fu * static_cast<std::uint32_t>(i % 16 + 1) + k);
                }
                painter->sync();
            },
            [&](const protocol::DamageList& d) {
                return d.area() == std::uint64_t{16} * 8 * 16;
            })) {
        rows.push_back(text);
    }
}
#endif

}  // namespace

int run(int argc, char** argv) {
    CLI::App app{"porthole-bench-capture: agent cost per frame vs memcpy of the damaged bytes"};
    int scale = 3;
    std::string only;
    app.add_option("--scale", scale, "iterations multiplier (1: quick)")->check(CLI::Range(1, 100));
    app.add_option("--only", only, "pattern or x11");
    CLI11_PARSE(app, argc, argv);

    std::vector<Row> rows;
    for (const auto& [w, h] : {std::pair{1920u, 1080u}, std::pair{2560u, 1440u}}) {
        if (only.empty() || only == "pattern") pattern_cases(w, h, scale, rows);
#ifdef PORTHOLE_HAVE_X11
        if (only.empty() || only == "x11") x11_cases(w, h, scale, rows);
#else
        if (only == "x11") fmt::print(stderr, "x11: not in this build\n");
#endif
    }
    // Baselines in the same run: the damaged bytes, and the whole screen.
    for (auto& r : rows) {
        r.memcpy_us = memcpy_us(r.damage, r.w, r.h, 200);
        protocol::DamageList all;
        all.set_full(r.w, r.h);
        r.screen_memcpy_us = memcpy_us(all, r.w, r.h, 20);
    }

    fmt::print("{:<8} {:<12} {:>9} {:>9} {:>10} {:>10} {:>10} {:>10} {:>9} {:>11} {:>5}\n",
               "source", "damage", "size", "dmg px", "capture", "publish", "agent", "memcpy",
               "agent/", "agent/", "odd");
    fmt::print("{:<8} {:<12} {:>9} {:>9} {:>10} {:>10} {:>10} {:>10} {:>9} {:>11} {:>5}\n", "", "",
               "", "", "us", "us", "us", "dmg us", "memcpy", "screen cpy", "");
    for (const auto& r : rows) {
        const double agent = r.capture_us + r.publish_us;
        fmt::print(
            "{:<8} {:<12} {:>9} {:>9} {:>10.1f} {:>10.1f} {:>10.1f} {:>10.2f} {:>8.1f}x {:>10.3f}x "
            "{:>5}\n",
            r.source, r.mode, fmt::format("{}x{}", r.w, r.h), r.damage_px, r.capture_us,
            r.publish_us, agent, r.memcpy_us, agent / std::max(r.memcpy_us, 1e-3),
            agent / std::max(r.screen_memcpy_us, 1e-3), r.odd);
    }
    fmt::print(
        "\nmedians per frame. agent = capture (next_frame) + publish (FrameWriter into an "
        "in-memory region);\nmemcpy = the same damaged rectangles copied between two full-screen "
        "images; screen cpy = a full-screen memcpy;\nodd = frames whose damage differed from what "
        "was drawn. x11 runs against Xvfb (server-side copies count).\n");
    return 0;
}

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        fmt::print(stderr, "porthole-bench-capture: {}\n", e.what());
        return 1;
    }
}
