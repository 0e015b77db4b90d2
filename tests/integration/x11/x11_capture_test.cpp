// The X11 capture backend against a private Xvfb: what a small X client draws
// comes back pixel-exact, and the damage covers exactly what was drawn.
#include <gtest/gtest.h>

#include <time.h>

#include <chrono>
#include <cstring>
#include <optional>
#include <thread>
#include <vector>

#include "capture/x11.hpp"
#include "porthole/protocol/test_pattern.hpp"
#include "x_painter.hpp"
#include "xvfb_server.hpp"

#include <X11/cursorfont.h>  // after our headers: only macros, no Xlib types

namespace porthole::agent {
namespace {

using protocol::Rect;
using namespace std::chrono_literals;

constexpr std::uint32_t kWidth = 320, kHeight = 240;

// What the screen should hold, as the backend reports it: 0xAARRGGBB with A = 255.
struct Model {
    std::uint32_t width, height;
    std::vector<std::uint32_t> px;
    Model(std::uint32_t w, std::uint32_t h) : width(w), height(h), px(std::size_t{w} * h, 0) {}
    void fill(const Rect& r, std::uint32_t rgb) {
        for (std::uint32_t y = r.y; y < r.y + r.h; ++y) {
            for (std::uint32_t x = r.x; x < r.x + r.w; ++x) {
                px[std::size_t{y} * width + x] = 0xFF000000u | rgb;
            }
        }
    }
};

// A mask of the pixels covered by a set of rectangles.
std::vector<bool> mask_of(std::span<const Rect> rects, std::uint32_t w, std::uint32_t h) {
    std::vector<bool> m(std::size_t{w} * h, false);
    for (const auto& r : rects) {
        for (std::uint32_t y = r.y; y < r.y + r.h; ++y) {
            for (std::uint32_t x = r.x; x < r.x + r.w; ++x)
                m[std::size_t{y} * w + x] = true;
        }
    }
    return m;
}

// Counts pixels of the frame that differ from the model.
std::size_t mismatches(const protocol::FrameSource& img, const Model& model) {
    std::size_t bad = 0;
    for (std::uint32_t y = 0; y < img.height; ++y) {
        for (std::uint32_t x = 0; x < img.width; ++x) {
            std::uint32_t v;
            std::memcpy(&v, img.pixels + std::size_t{y} * img.stride + std::size_t{x} * 4, 4);
            if (v != model.px[std::size_t{y} * model.width + x]) ++bad;
        }
    }
    return bad;
}

// Every frame until the screen stays quiet for `quiet`: their damage, and the last image.
struct Captured {
    int frames = 0;
    std::vector<Rect> damage;
    protocol::FrameSource last{};
};
Captured capture_until_quiet(CaptureSource& src, std::chrono::milliseconds quiet = 150ms) {
    Captured c;
    for (int i = 0; i < 100; ++i) {
        CapturedFrame f;
        const auto st = src.next_frame(quiet, f);
        if (st == CaptureStatus::timeout) break;
        EXPECT_EQ(st, CaptureStatus::ok) << src.last_error();
        if (st != CaptureStatus::ok) break;
        ++c.frames;
        for (const auto& r : f.damage.rects())
            c.damage.push_back(r);
        c.last = f.image;
    }
    return c;
}

class X11Capture : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        auto s = testing::XvfbServer::start(kWidth, kHeight, 24);
        ASSERT_TRUE(s) << s.error().message;
        server_.emplace(std::move(*s));
    }
    static void TearDownTestSuite() { server_.reset(); }

    void SetUp() override {
        ASSERT_TRUE(server_);
        auto p = testing::XPainter::open(server_->display());
        ASSERT_TRUE(p) << p.error().message;
        painter_.emplace(std::move(*p));
        // A known background before the backend starts.
        painter_->fill(Rect{0, 0, kWidth, kHeight}, 0x204060);
        painter_->sync();
        model_.fill(Rect{0, 0, kWidth, kHeight}, 0x204060);
    }

    std::unique_ptr<X11Source> open_source() {
        CaptureOptions o;
        o.display = server_->display();
        auto s = X11Source::open(o);
        EXPECT_TRUE(s) << s.error().message;
        return s ? std::move(*s) : nullptr;
    }

    static inline std::optional<testing::XvfbServer> server_;
    std::optional<testing::XPainter> painter_;
    Model model_{kWidth, kHeight};
};

TEST_F(X11Capture, FirstFrameIsTheWholeScreenWithFullDamage) {
    auto src = open_source();
    ASSERT_TRUE(src);
    CapturedFrame f;
    ASSERT_EQ(src->next_frame(10s, f), CaptureStatus::ok) << src->last_error();
    EXPECT_EQ(f.image.width, kWidth);
    EXPECT_EQ(f.image.height, kHeight);
    EXPECT_EQ(f.image.format, protocol::PixelFormat::bgra8);
    ASSERT_EQ(f.damage.size(), 1u);
    EXPECT_EQ(f.damage.rects()[0], (Rect{0, 0, kWidth, kHeight}));
    EXPECT_EQ(mismatches(f.image, model_), 0u);
}

TEST_F(X11Capture, DamageCoversExactlyTheDrawnRectangles) {
    auto src = open_source();
    ASSERT_TRUE(src);
    capture_until_quiet(*src);

    const std::vector<Rect> drawn{{10, 20, 64, 64}, {200, 150, 33, 17}, {319, 239, 1, 1}};
    const std::uint32_t colours[] = {0xFF0000, 0x00FF80, 0x123456};
    for (std::size_t i = 0; i < drawn.size(); ++i) {
        painter_->fill(drawn[i], colours[i]);
        model_.fill(drawn[i], colours[i]);
    }
    painter_->sync();

    const auto c = capture_until_quiet(*src);
    ASSERT_GE(c.frames, 1);
    EXPECT_EQ(mask_of(c.damage, kWidth, kHeight), mask_of(drawn, kWidth, kHeight))
        << "damage must be the drawn areas, not more, not less";
    EXPECT_EQ(mismatches(c.last, model_), 0u);
}

TEST_F(X11Capture, OverlappingDrawsBetweenFramesAccumulate) {
    auto src = open_source();
    ASSERT_TRUE(src);
    capture_until_quiet(*src);
    // Two overlapping rectangles and one drawn over again: the final state counts.
    const std::vector<Rect> drawn{{40, 40, 100, 50}, {90, 60, 100, 80}};
    painter_->fill(drawn[0], 0xAA00AA);
    painter_->fill(drawn[1], 0x00AAAA);
    painter_->fill(drawn[0], 0xFFFF00);
    painter_->sync();
    model_.fill(drawn[0], 0xAA00AA);
    model_.fill(drawn[1], 0x00AAAA);
    model_.fill(drawn[0], 0xFFFF00);

    const auto c = capture_until_quiet(*src);
    ASSERT_GE(c.frames, 1);
    EXPECT_EQ(mask_of(c.damage, kWidth, kHeight), mask_of(drawn, kWidth, kHeight));
    EXPECT_EQ(mismatches(c.last, model_), 0u);
}

TEST_F(X11Capture, TestPatternFramesComeBackPixelExact) {
    namespace pattern = protocol::pattern;
    const std::uint32_t stride = kWidth * 4;
    std::vector<std::byte> img(std::size_t{stride} * kHeight);
    pattern::render_full(0, kWidth, kHeight, protocol::PixelFormat::bgra8, img, stride);
    painter_->put(Rect{0, 0, kWidth, kHeight}, img, stride);
    painter_->sync();

    auto src = open_source();
    ASSERT_TRUE(src);
    auto c = capture_until_quiet(*src);
    ASSERT_EQ(c.frames, 1);
    EXPECT_EQ(pattern::verify(0, kWidth, kHeight, protocol::PixelFormat::bgra8,
                              {c.last.pixels, std::size_t{c.last.stride} * kHeight}, c.last.stride)
                  .count,
              0u);
    for (std::uint64_t n = 1; n <= 6; ++n) {
        const auto d = pattern::damage(n, kWidth, kHeight);
        pattern::render(n, kWidth, kHeight, protocol::PixelFormat::bgra8, img, stride, d.rects());
        for (const auto& r : d.rects())
            painter_->put(r, img, stride);
        painter_->sync();
        c = capture_until_quiet(*src);
        ASSERT_GE(c.frames, 1) << "frame " << n;
        const auto mm =
            pattern::verify(n, kWidth, kHeight, protocol::PixelFormat::bgra8,
                            {c.last.pixels, std::size_t{c.last.stride} * kHeight}, c.last.stride);
        EXPECT_EQ(mm.count, 0u) << "frame " << n << " first at " << mm.first_x << "," << mm.first_y;
        // X damage may be finer than the pattern's rectangles, never wider.
        const auto reported = mask_of(c.damage, kWidth, kHeight);
        const auto allowed = mask_of(d.rects(), kWidth, kHeight);
        std::size_t outside = 0;
        for (std::size_t i = 0; i < reported.size(); ++i)
            outside += reported[i] && !allowed[i];
        EXPECT_EQ(outside, 0u) << "frame " << n << ": damage outside what was drawn";
        EXPECT_EQ(pattern::read_counter(protocol::PixelFormat::bgra8,
                                        {c.last.pixels, std::size_t{c.last.stride} * kHeight},
                                        c.last.stride, kWidth, kHeight),
                  n);
    }
}

TEST_F(X11Capture, WaitsForDamageWithoutBurningCpu) {
    auto src = open_source();
    ASSERT_TRUE(src);
    capture_until_quiet(*src);
    timespec c0{}, c1{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    const auto t0 = std::chrono::steady_clock::now();
    CapturedFrame f;
    EXPECT_EQ(src->next_frame(400ms, f), CaptureStatus::timeout);
    const auto wall = std::chrono::steady_clock::now() - t0;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    const double cpu_ms = static_cast<double>(c1.tv_sec - c0.tv_sec) * 1e3 +
                          static_cast<double>(c1.tv_nsec - c0.tv_nsec) / 1e6;
    EXPECT_GE(wall, 390ms);
    // A spinning wait burns ~400 ms; the bound leaves room for a loaded machine and sanitizers.
    EXPECT_LT(cpu_ms, 100.0) << "the wait must sleep in poll(), not spin";

    // And a change wakes it well before the timeout (ok, not timeout, means the damage woke it).
    painter_->fill(Rect{5, 5, 8, 8}, 0xFFFFFF);
    painter_->sync();
    const auto t1 = std::chrono::steady_clock::now();
    ASSERT_EQ(src->next_frame(10s, f), CaptureStatus::ok) << src->last_error();
    EXPECT_LT(std::chrono::steady_clock::now() - t1, 5s);
    EXPECT_EQ(f.damage.bounds(), (Rect{5, 5, 8, 8}));
}

TEST_F(X11Capture, ReportsPointerPositionAndCursorShape) {
    auto src = open_source();
    ASSERT_TRUE(src);
    painter_->set_font_cursor(XC_crosshair);
    painter_->warp_pointer(40, 30);
    painter_->sync();

    auto first = src->cursor();
    ASSERT_TRUE(first);
    EXPECT_EQ(first->x, 40);
    EXPECT_EQ(first->y, 30);
    EXPECT_TRUE(first->visible);
    ASSERT_TRUE(first->shape) << "the first update carries the current shape";
    const auto& s = *first->shape;
    EXPECT_EQ(s.type, protocol::CursorType::color);
    EXPECT_GT(s.width, 0u);
    EXPECT_EQ(s.pitch, s.width * 4);
    EXPECT_EQ(s.data.size(), std::size_t{s.pitch} * s.height);
    EXPECT_LT(s.hotspot_x, static_cast<std::int32_t>(s.width));
    std::size_t opaque = 0;
    for (std::size_t i = 3; i < s.data.size(); i += 4)
        opaque += s.data[i] == std::byte{255};
    EXPECT_GT(opaque, 0u) << "a crosshair has opaque pixels";

    EXPECT_FALSE(src->cursor()) << "nothing moved, nothing to report";

    painter_->warp_pointer(100, 90);
    painter_->sync();
    auto moved = src->cursor();
    ASSERT_TRUE(moved);
    EXPECT_EQ(moved->x, 100);
    EXPECT_EQ(moved->y, 90);
    EXPECT_FALSE(moved->shape);

    // A new cursor shape arrives as an XFixes notification.
    painter_->set_font_cursor(XC_watch);
    painter_->sync();
    std::optional<CursorShapeUpdate> next;
    for (int i = 0; i < 1000 && !next; ++i) {  // up to 10 s
        if (auto u = src->cursor(); u && u->shape) {
            next = u->shape;
        } else {
            std::this_thread::sleep_for(10ms);
        }
    }
    ASSERT_TRUE(next);
    EXPECT_NE(next->data, s.data);
}

TEST(X11CaptureResize, ScreenSizeChangeGivesAFullFrameOfTheNewSize) {
#ifndef PORTHOLE_TEST_HAVE_XRANDR
    GTEST_SKIP() << "built without libXrandr: cannot resize the test screen";
#endif
    auto server = testing::XvfbServer::start(640, 480, 24);
    ASSERT_TRUE(server) << server.error().message;
    auto painter = testing::XPainter::open(server->display());
    ASSERT_TRUE(painter) << painter.error().message;
    CaptureOptions o;
    o.display = server->display();
    auto src = X11Source::open(o);
    ASSERT_TRUE(src) << src.error().message;
    auto c = capture_until_quiet(**src);
    ASSERT_EQ(c.last.width, 640u);

    for (const auto& [w, h] : {std::pair{320u, 200u}, std::pair{640u, 480u}}) {
        ASSERT_TRUE(painter->resize_screen(w, h)) << w << "x" << h;
        Model model(w, h);
        painter->fill(Rect{0, 0, w, h}, 0x0000FF);
        painter->fill(Rect{w - 10, h - 10, 10, 10}, 0x00FF00);
        painter->sync();
        model.fill(Rect{0, 0, w, h}, 0x0000FF);
        model.fill(Rect{w - 10, h - 10, 10, 10}, 0x00FF00);
        CapturedFrame f;
        ASSERT_EQ((*src)->next_frame(10s, f), CaptureStatus::ok) << (*src)->last_error();
        EXPECT_EQ(f.image.width, w);
        EXPECT_EQ(f.image.height, h);
        EXPECT_EQ(f.image.stride, w * 4);
        ASSERT_EQ(f.damage.size(), 1u);
        EXPECT_EQ(f.damage.rects()[0], (Rect{0, 0, w, h})) << "a new size is a full frame";
        EXPECT_EQ(mismatches(f.image, model), 0u);
        capture_until_quiet(**src);
    }
}

TEST(X11CaptureSetup, RefusesADisplayThatIsNotTrueColor24Or32) {
    auto server = testing::XvfbServer::start(64, 64, 16);
    ASSERT_TRUE(server) << server.error().message;
    CaptureOptions o;
    o.display = server->display();
    auto s = X11Source::open(o);
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().message.find("depth 16"), std::string::npos) << s.error().message;
}

TEST(X11CaptureSetup, LosingTheXServerIsAnErrorNotAnExit) {
    auto server = testing::XvfbServer::start(64, 64, 24);
    ASSERT_TRUE(server) << server.error().message;
    CaptureOptions o;
    o.display = server->display();
    auto src = X11Source::open(o);
    ASSERT_TRUE(src) << src.error().message;
    CapturedFrame f;
    ASSERT_EQ((*src)->next_frame(10s, f), CaptureStatus::ok);
    server->stop();
    // Xlib's default would exit() this process here.
    EXPECT_EQ((*src)->next_frame(10s, f), CaptureStatus::error);
    EXPECT_NE((*src)->last_error().find("X server"), std::string::npos) << (*src)->last_error();
    EXPECT_EQ((*src)->next_frame(10ms, f), CaptureStatus::error) << "and stays an error";
    EXPECT_FALSE((*src)->cursor());
}

TEST(X11CaptureSetup, SaysWhichDisplayCannotBeOpened) {
    CaptureOptions o;
    o.display = ":4095";
    auto s = X11Source::open(o);
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().message.find(":4095"), std::string::npos) << s.error().message;
}

}  // namespace
}  // namespace porthole::agent
