// The client's display end to end: the pattern agent and `porthole` as two
// processes over a /dev/shm region, rendering with Mesa's lavapipe, headless
// and in a window on a private Xvfb. Images come back through --screenshot
// (read from the swapchain or the offscreen target) and --verify-pattern
// (every shown frame read back and compared by the client).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "porthole/protocol/test_pattern.hpp"
#include "process.hpp"
#include "render/png_file.hpp"
#include "support/command_output.hpp"

namespace {

using namespace std::chrono_literals;
using porthole::client::ReadbackImage;
using porthole::protocol::PixelFormat;
using porthole::test::read_text;
namespace pattern = porthole::protocol::pattern;
using Json = nlohmann::json;

struct ClientRun {
    std::optional<int> code;
    std::vector<Json> stats;  // one per --stats line
    std::string log;
    // The last --stats line (an empty object when there was none).
    [[nodiscard]] Json last() const { return stats.empty() ? Json::object() : stats.back(); }
};

class Render : public ::testing::Test {
  protected:
    void SetUp() override {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        shm_ = "/dev/shm/porthole-render-" + std::to_string(getpid()) + "-" + info->name();
        std::replace(shm_.begin() + 9, shm_.end(), '/', '-');  // parameterised names hold '/'

        std::filesystem::create_directories(dir_.file("config/porthole"));
    }
    void TearDown() override { std::filesystem::remove(shm_); }

    porthole::test::Process start_agent(std::vector<std::string> args) {
        args.insert(args.begin(), {PORTHOLE_AGENT, "--shm", shm_, "--log-level", "warn"});
        const auto n = std::to_string(agents_++);
        porthole::test::Process p(args, dir_.file("agent" + n + ".out"),
                                  dir_.file("agent" + n + ".err"));
        // The agent creates the region; a client started first waits for it.
        for (int i = 0; i < 300 && !std::filesystem::exists(shm_); ++i)
            std::this_thread::sleep_for(10ms);
        std::this_thread::sleep_for(50ms);
        return p;
    }

    porthole::test::Process start_client(std::vector<std::string> args,
                                         const std::string& display = "") {
        args.insert(args.begin(), {PORTHOLE_CLIENT, "--shm", shm_, "--stats"});
        std::vector<std::string> env = {"XDG_CONFIG_HOME=" + dir_.file("config")};
        env.insert(env.end(), extra_env_.begin(), extra_env_.end());
        if (!display.empty()) env.push_back("DISPLAY=" + display);
        return porthole::test::Process(args, dir_.file("client.out"), dir_.file("client.err"), env);
    }

    // Ends a running client with SIGTERM; its exit code, stats and log.
    ClientRun terminate_client(porthole::test::Process& p) {
        ClientRun r;
        r.code = p.terminate();
        collect(r);
        return r;
    }

    ClientRun finish_client(porthole::test::Process& p, std::chrono::milliseconds limit) {
        ClientRun r;
        r.code = p.wait_exit(limit);
        collect(r);
        return r;
    }

    void collect(ClientRun& r) {
        r.log = porthole::test::read_text(dir_.file("client.err"));
        std::istringstream out(porthole::test::read_text(dir_.file("client.out")));
        for (std::string line; std::getline(out, line);) {
            if (line.empty() || line[0] != '{') continue;
            // A running client may be mid-line: an unfinished line is not a line yet.
            auto j = Json::parse(line, nullptr, false);
            if (!j.is_discarded()) r.stats.push_back(std::move(j));
        }
    }

    // Waits until the running client's --stats report at least `frames`
    // verified frames; returns the count last seen.
    std::uint64_t wait_verified(std::uint64_t frames, std::chrono::milliseconds limit) {
        std::uint64_t seen = 0;
        const auto end = std::chrono::steady_clock::now() + limit;
        for (;;) {
            ClientRun r;
            collect(r);
            if (!r.stats.empty() && r.last().contains("verified"))
                seen = r.last()["verified"].get<std::uint64_t>();
            if (seen >= frames || std::chrono::steady_clock::now() >= end) return seen;
            std::this_thread::sleep_for(100ms);
        }
    }

    // The limit bounds a hang; the runs count frames, and a sanitizer build is slow.
    ClientRun run_client(std::vector<std::string> args, std::chrono::milliseconds limit = 60s,
                         const std::string& display = "") {
        auto p = start_client(std::move(args), display);
        return finish_client(p, limit);
    }

    ReadbackImage screenshot(const std::string& name) {
        auto img = porthole::client::read_png(dir_.file(name));
        EXPECT_TRUE(img.has_value()) << (img ? "" : img.error().message);
        return img ? *img : ReadbackImage{};
    }

    porthole::test::TempDir dir_;
    std::string shm_;
    int agents_ = 0;
    std::vector<std::string> extra_env_;  // more NAME=value for the clients started
};

// Pixels of `img` inside rect, one per (kx, ky) block (nearest sampling at
// integer factors reproduces the frame exactly this way).
std::vector<std::byte> subsample(const ReadbackImage& img, std::uint32_t x0, std::uint32_t y0,
                                 std::uint32_t w, std::uint32_t h, std::uint32_t kx,
                                 std::uint32_t ky) {
    std::vector<std::byte> out(std::size_t{w} * h * 4);
    for (std::uint32_t y = 0; y < h; ++y) {
        for (std::uint32_t x = 0; x < w; ++x) {
            const std::size_t src =
                std::size_t{y0 + y * ky} * img.stride + std::size_t{x0 + x * kx} * 4;
            std::copy_n(img.bgra.begin() + static_cast<std::ptrdiff_t>(src), 4,
                        out.begin() + static_cast<std::ptrdiff_t>((std::size_t{y} * w + x) * 4));
        }
    }
    return out;
}

// Expects the frame (w x h, drawn at x0,y0 scaled by kx,ky) to be a whole test
// pattern frame, and returns its counter.
std::uint64_t expect_pattern(const ReadbackImage& img, std::uint32_t x0, std::uint32_t y0,
                             std::uint32_t w, std::uint32_t h, std::uint32_t kx = 1,
                             std::uint32_t ky = 1) {
    const auto px = subsample(img, x0, y0, w, h, kx, ky);
    const auto n = pattern::read_counter(PixelFormat::bgra8, px, w * 4, w, h);
    EXPECT_NE(n, UINT64_MAX) << "no pattern code at " << x0 << "," << y0;
    if (n == UINT64_MAX) return n;
    const auto mm = pattern::verify(n, w, h, PixelFormat::bgra8, px, w * 4);
    EXPECT_EQ(mm.count, 0U) << "frame " << n << " differs, first at " << mm.first_x << ","
                            << mm.first_y;
    return n;
}

// Counts pixels outside `inside` that are not black.
std::uint32_t lit_outside(const ReadbackImage& img, std::uint32_t x0, std::uint32_t y0,
                          std::uint32_t w, std::uint32_t h) {
    std::uint32_t lit = 0;
    for (std::uint32_t y = 0; y < img.height; ++y) {
        for (std::uint32_t x = 0; x < img.width; ++x) {
            if (x >= x0 && x < x0 + w && y >= y0 && y < y0 + h) continue;
            const auto* p = &img.bgra[std::size_t{y} * img.stride + std::size_t{x} * 4];
            if (p[0] != std::byte{0} || p[1] != std::byte{0} || p[2] != std::byte{0}) ++lit;
        }
    }
    return lit;
}

// ---- in a window (Xvfb) ----

class RenderWindow : public Render {
  protected:
    static void SetUpTestSuite() { xvfb_ = std::make_unique<porthole::test::Xvfb>(); }
    static void TearDownTestSuite() { xvfb_.reset(); }
    void SetUp() override {
        Render::SetUp();
        ASSERT_FALSE(xvfb_->display().empty())
            << "Xvfb did not start (is the xvfb package installed?)";
    }
    static std::unique_ptr<porthole::test::Xvfb> xvfb_;
};
std::unique_ptr<porthole::test::Xvfb> RenderWindow::xvfb_;

TEST_F(RenderWindow, ShowsBgra8FramesPixelExactAt1To1) {
    auto agent = start_agent(
        {"--width", "640", "--height", "480", "--format", "bgra8", "--fps-limit", "60"});
    const auto r =
        run_client({"--size", "800x600", "--scale", "integer", "--no-cursor", "--verify-pattern",
                    "--exit-after-frames", "40", "--screenshot", dir_.file("shot.png")},
                   60s, xvfb_->display());
    ASSERT_EQ(r.code, 0) << r.log;
    ASSERT_FALSE(r.stats.empty());
    EXPECT_EQ(r.last()["mismatched"], 0);
    EXPECT_GE(r.last()["verified"].get<int>(), 1);
    const auto img = screenshot("shot.png");
    ASSERT_EQ(img.width, 800U);
    ASSERT_EQ(img.height, 600U);
    expect_pattern(img, 80, 60, 640, 480);
    EXPECT_EQ(lit_outside(img, 80, 60, 640, 480), 0U);
}

TEST_F(RenderWindow, ShowsRgb10a2FramesPixelExactAt1To1) {
    auto agent = start_agent(
        {"--width", "640", "--height", "480", "--format", "rgb10a2", "--fps-limit", "60"});
    const auto r = run_client(
        {"--scale", "fit", "--filter", "nearest", "--size", "640x480", "--no-cursor",
         "--verify-pattern", "--exit-after-frames", "40", "--screenshot", dir_.file("shot.png")},
        60s, xvfb_->display());
    ASSERT_EQ(r.code, 0) << r.log;
    EXPECT_EQ(r.last()["mismatched"], 0);
    const auto img = screenshot("shot.png");
    ASSERT_EQ(img.width, 640U);
    expect_pattern(img, 0, 0, 640, 480);
}

TEST_F(RenderWindow, StaysPixelExactAcrossResolutionChanges) {
    auto agent = start_agent({"--width", "640", "--height", "480", "--resize-to", "512x384",
                              "--resize-every", "15", "--fps-limit", "60"});
    const auto r = run_client({"--size", "800x600", "--scale", "integer", "--no-cursor",
                               "--verify-pattern", "--exit-after-frames", "70"},
                              60s, xvfb_->display());
    ASSERT_EQ(r.code, 0) << r.log;
    EXPECT_EQ(r.last()["mismatched"], 0);
    EXPECT_GE(r.last()["verified"].get<int>(), 60);  // both sizes shown several times over
}

TEST_F(RenderWindow, FollowsWindowResizesWithoutRestarting) {
    auto agent = start_agent({"--width", "640", "--height", "480", "--fps-limit", "60"});
    auto client = start_client({"--size", "800x600", "--scale", "integer", "--no-cursor",
                                "--verify-pattern", "--screenshot", dir_.file("shot.png")},
                               xvfb_->display());
    // Frames flow before the resize and keep flowing after it; counted, not
    // timed (a sanitizer build renders several times slower).
    const std::uint64_t before = wait_verified(20, 60s);
    ASSERT_GE(before, 20U) << porthole::test::read_text(dir_.file("client.err"));
    const std::string resize =
        "DISPLAY=" + xvfb_->display() +
        " xdotool search --name '^porthole [(]' windowsize 1000 700 >/dev/null 2>&1";
    ASSERT_EQ(std::system(resize.c_str()), 0) << "xdotool could not resize the window";
    std::this_thread::sleep_for(300ms);
    const std::uint64_t resized = wait_verified(0, 0ms);  // the count now
    EXPECT_GE(wait_verified(resized + 30, 60s), resized + 30) << "frames stopped after the resize";
    // One more --stats line, whose screenshot-to-be has the new size.
    std::this_thread::sleep_for(1200ms);
    ASSERT_TRUE(client.running());
    const ClientRun r = terminate_client(client);
    ASSERT_EQ(r.code, 0) << r.log;
    EXPECT_EQ(r.last()["mismatched"], 0);
    const auto img = screenshot("shot.png");
    ASSERT_EQ(img.width, 1000U);
    ASSERT_EQ(img.height, 700U);
    expect_pattern(img, 180, 110, 640, 480);
    EXPECT_EQ(lit_outside(img, 180, 110, 640, 480), 0U);
}

// ScrollLock+F makes the window a borderless one covering the screen (Xvfb's
// 1920x1080) and back: the same device and swapchain path carry on, frames
// stay pixel-exact, the image follows the new size both ways. Desktop
// fullscreen is the window manager's doing (_NET_WM_STATE_FULLSCREEN), so a
// real one (openbox) runs on the test's X server for this test. It starts
// once the window is up and takes it over, as when a WM restarts: SDL waits
// for its window's MapNotify without a timeout, and a WM still starting may
// not map it.
TEST_F(RenderWindow, TogglesBorderlessFullscreenWithoutRestarting) {
    // Integer scaling keeps 1024x768 at 1:1 in both sizes, so every frame is verified.
    auto agent = start_agent({"--width", "1024", "--height", "768", "--fps-limit", "60"});
    auto client = start_client(
        {"--size", "1100x800", "--scale", "integer", "--no-cursor", "--verify-pattern"},
        xvfb_->display());
    ASSERT_GE(wait_verified(20, 60s), 20U) << porthole::test::read_text(dir_.file("client.err"));
    porthole::test::Process wm({"/usr/bin/openbox"}, dir_.file("openbox.out"),
                               dir_.file("openbox.err"), {"DISPLAY=" + xvfb_->display()});
    // The window is managed once openbox lists it.
    const std::string wm_check = "DISPLAY=" + xvfb_->display() +
                                 " xprop -root _NET_CLIENT_LIST 2>/dev/null | grep -q 'window id'";
    bool wm_up = false;
    for (int i = 0; i < 200 && !wm_up; ++i) {
        wm_up = std::system(wm_check.c_str()) == 0;
        if (!wm_up) std::this_thread::sleep_for(50ms);
    }
    ASSERT_TRUE(wm_up) << "openbox did not take the window (package openbox): "
                       << porthole::test::read_text(dir_.file("openbox.err"));
    const std::uint64_t managed = wait_verified(0, 0ms);
    ASSERT_GE(wait_verified(managed + 10, 60s), managed + 10) << "frames stopped under openbox";
    const auto key = [&](const char* k) {
        const std::string cmd = "DISPLAY=" + xvfb_->display() +
                                " sh -c \"xdotool windowfocus --sync \\$(xdotool search --name "
                                "'^porthole [(]' | head -1) key " +
                                k + "\" >/dev/null 2>&1";
        return std::system(cmd.c_str());
    };
    const auto window_size = [&] {
        const std::string cmd = "DISPLAY=" + xvfb_->display() +
                                " xdotool search --name '^porthole [(]' getwindowgeometry";
        const std::string out = porthole::test::command_output(cmd);
        const auto at = out.find("Geometry: ");
        return at == std::string::npos ? std::string{}
                                       : out.substr(at + 10, out.find('\n', at) - at - 10);
    };
    const auto wait_size = [&](const std::string& want) {
        for (int i = 0; i < 100 && window_size() != want; ++i)
            std::this_thread::sleep_for(50ms);
        return window_size();
    };
    ASSERT_EQ(key("Scroll_Lock+f"), 0) << "xdotool could not send ScrollLock+F";
    EXPECT_EQ(wait_size("1920x1080"), "1920x1080")
        << "not fullscreen: " << porthole::test::read_text(dir_.file("client.err"));
    std::uint64_t now = wait_verified(0, 0ms);
    EXPECT_GE(wait_verified(now + 30, 60s), now + 30) << "frames stopped in fullscreen";
    ASSERT_EQ(key("Scroll_Lock+f"), 0);
    EXPECT_EQ(wait_size("1100x800"), "1100x800") << "not back to the window's size";
    now = wait_verified(0, 0ms);
    EXPECT_GE(wait_verified(now + 30, 60s), now + 30) << "frames stopped after leaving fullscreen";
    ASSERT_TRUE(client.running());
    const ClientRun r = terminate_client(client);
    ASSERT_EQ(r.code, 0) << r.log;
    EXPECT_EQ(r.last()["mismatched"], 0);
    // One Vulkan device for the whole run: resizes re-create the swapchain only.
    std::size_t devices = 0;
    for (std::size_t at = r.log.find("Vulkan device: "); at != std::string::npos;
         at = r.log.find("Vulkan device: ", at + 1))
        ++devices;
    EXPECT_EQ(devices, 1U) << r.log;
}

// Where `img` (a w x h frame at 0,0) differs from pattern frame n: the
// bounding box of the pixels drawn over it, and how many there are.
struct Covered {
    std::uint32_t x0 = UINT32_MAX, y0 = UINT32_MAX, x1 = 0, y1 = 0;  // x1, y1 past the end
    std::uint64_t pixels = 0;
};
Covered covered_pixels(const ReadbackImage& img, std::uint64_t n, std::uint32_t w,
                       std::uint32_t h) {
    Covered c;
    for (std::uint32_t y = 0; y < h; ++y) {
        for (std::uint32_t x = 0; x < w; ++x) {
            const auto want = pattern::pixel(n, x, y, w, h);
            const auto* p = &img.bgra[std::size_t{y} * img.stride + std::size_t{x} * 4];
            if (p[0] == std::byte{want.b} && p[1] == std::byte{want.g} && p[2] == std::byte{want.r})
                continue;
            c.x0 = std::min(c.x0, x);
            c.y0 = std::min(c.y0, y);
            c.x1 = std::max(c.x1, x + 1);
            c.y1 = std::max(c.y1, y + 1);
            ++c.pixels;
        }
    }
    return c;
}

// Lines of text in a panel: bands of rows holding white pixels (the text),
// apart from the rest of the panel (the frame dimmed by its dark box). A
// band under 5 rows is an underscore's or a descender's, not a line.
// `level`: the least grey level of a text pixel (250, the glyphs' solid
// parts; lower catches the anti-aliased stems that light hinting leaves
// between two columns, where nothing else is that bright).
std::uint32_t text_rows(const ReadbackImage& img, const Covered& panel, std::uint8_t level = 250) {
    std::uint32_t lines = 0, band = 0;
    for (std::uint32_t y = panel.y0; y <= panel.y1; ++y) {
        bool white = false;
        for (std::uint32_t x = panel.x0; y < panel.y1 && x < panel.x1 && !white; ++x) {
            const auto* p = &img.bgra[std::size_t{y} * img.stride + std::size_t{x} * 4];
            white =
                p[0] >= std::byte{level} && p[1] >= std::byte{level} && p[2] >= std::byte{level};
        }
        if (white) {
            ++band;
            continue;
        }
        if (band >= 5) ++lines;
        band = 0;
    }
    return lines;
}

// While the escape key (ScrollLock) is held the bindings are drawn over the
// frame, centred, one line each; on its release they go. The screenshot at
// exit shows the window as it was (the key still held, or released).
TEST_F(RenderWindow, HoldingTheEscapeKeyShowsTheBindingsOverTheFrame) {
    constexpr std::uint32_t w = 640, h = 480;
    auto agent = start_agent({"--width", "640", "--height", "480", "--fps-limit", "30"});
    const auto xdo = [&](const std::string& args) {
        const std::string cmd = "DISPLAY=" + xvfb_->display() +
                                " sh -c \"xdotool windowfocus --sync \\$(xdotool search --name "
                                "'^porthole [(]' | head -1) " +
                                args + "\" >/dev/null 2>&1";
        return std::system(cmd.c_str());
    };
    const auto wait_log = [&](const std::string& what) {
        for (int i = 0; i < 300; ++i) {
            if (read_text(dir_.file("client.err")).find(what) != std::string::npos) return true;
            std::this_thread::sleep_for(100ms);
        }
        return false;
    };
    for (const bool release : {false, true}) {
        SCOPED_TRACE(release ? "held, then released" : "held");
        const std::string shot = release ? "released.png" : "held.png";
        auto client = start_client({"--size", "640x480", "--scale", "integer", "--no-cursor",
                                    "--log-level", "debug", "--screenshot", dir_.file(shot)},
                                   xvfb_->display());
        ASSERT_TRUE(wait_log("agent connected")) << read_text(dir_.file("client.err"));
        // The log line may come before the window is mapped: try until it is.
        const auto xdo_retried = [&](const std::string& args) {
            int rc = -1;
            for (int i = 0; i < 100 && rc != 0; ++i) {
                rc = xdo(args);
                if (rc != 0) std::this_thread::sleep_for(100ms);
            }
            return rc;
        };
        if (release) {
            // A quick binding does not flash the panel: it shows after a moment's hold.
            ASSERT_EQ(xdo_retried("key Scroll_Lock+x"), 0)  // x: no binding, swallowed
                << read_text(dir_.file("client.err"));
            std::this_thread::sleep_for(800ms);
            EXPECT_EQ(read_text(dir_.file("client.err")).find("help panel shown"),
                      std::string::npos);
        }
        ASSERT_EQ(xdo_retried("keydown Scroll_Lock"), 0) << "xdotool could not press ScrollLock\n"
                                                         << read_text(dir_.file("client.err"));
        const bool shown = wait_log("help panel shown");
        if (release) {
            EXPECT_EQ(xdo("keyup Scroll_Lock"), 0);
            EXPECT_TRUE(wait_log("help panel hidden"));
        }
        std::this_thread::sleep_for(300ms);  // a frame or two after the change
        const ClientRun r = terminate_client(client);
        if (!release) xdo("keyup Scroll_Lock");  // the X server keeps a key down past its client
        ASSERT_TRUE(shown) << r.log;
        ASSERT_EQ(r.code, 0) << r.log;
        const auto img = screenshot(shot);
        ASSERT_EQ(img.width, w);
        ASSERT_EQ(img.height, h);
        const auto n = pattern::read_counter(PixelFormat::bgra8, img.bgra, img.stride, w, h);
        ASSERT_NE(n, UINT64_MAX) << "the frame's code (top left) is not covered by the panel";
        const Covered panel = covered_pixels(img, n, w, h);
        if (release) {
            EXPECT_EQ(panel.pixels, 0U) << "the panel stayed after the key's release";
            continue;
        }
        // A panel centred over the frame, wide enough for the table's lines.
        ASSERT_GT(panel.pixels, 20000U);
        EXPECT_GT(panel.x1 - panel.x0, 400U);
        EXPECT_LE(std::abs(static_cast<int>(panel.x0 + panel.x1) - static_cast<int>(w)), 2);
        EXPECT_LE(std::abs(static_cast<int>(panel.y0 + panel.y1) - static_cast<int>(h)), 2);
        // A heading, a line per binding (8) and what the key alone does.
        EXPECT_EQ(text_rows(img, panel), 10U);
    }
}

// A window narrower than the panel at its usual size (about 610 px): the
// text gets smaller, every line still whole inside the window.
TEST_F(RenderWindow, TheBindingsPanelFitsANarrowWindow) {
    constexpr std::uint32_t w = 480, h = 360;
    auto agent = start_agent({"--width", "480", "--height", "360", "--fps-limit", "30"});
    const auto xdo = [&](const std::string& args) {
        const std::string cmd = "DISPLAY=" + xvfb_->display() +
                                " sh -c \"xdotool windowfocus --sync \\$(xdotool search --name "
                                "'^porthole [(]' | head -1) " +
                                args + "\" >/dev/null 2>&1";
        return std::system(cmd.c_str());
    };
    const auto wait_log = [&](const std::string& what) {
        for (int i = 0; i < 300; ++i) {
            if (read_text(dir_.file("client.err")).find(what) != std::string::npos) return true;
            std::this_thread::sleep_for(100ms);
        }
        return false;
    };
    auto client = start_client({"--size", "480x360", "--scale", "integer", "--no-cursor",
                                "--log-level", "debug", "--screenshot", dir_.file("narrow.png")},
                               xvfb_->display());
    ASSERT_TRUE(wait_log("agent connected")) << read_text(dir_.file("client.err"));
    int rc = -1;
    for (int i = 0; i < 100 && rc != 0; ++i) {
        rc = xdo("keydown Scroll_Lock");
        if (rc != 0) std::this_thread::sleep_for(100ms);
    }
    ASSERT_EQ(rc, 0) << "xdotool could not press ScrollLock";
    const bool shown = wait_log("help panel shown");
    std::this_thread::sleep_for(300ms);
    const ClientRun r = terminate_client(client);
    xdo("keyup Scroll_Lock");
    ASSERT_TRUE(shown) << r.log;
    ASSERT_EQ(r.code, 0) << r.log;
    const auto img = screenshot("narrow.png");
    ASSERT_EQ(img.width, w);
    ASSERT_EQ(img.height, h);
    const auto n = pattern::read_counter(PixelFormat::bgra8, img.bgra, img.stride, w, h);
    ASSERT_NE(n, UINT64_MAX) << "the frame's code (top left) is not covered by the panel";
    const Covered panel = covered_pixels(img, n, w, h);
    ASSERT_GT(panel.pixels, 10000U);
    EXPECT_GE(panel.x0, 4U) << "the panel reaches the window's left edge: cut";
    EXPECT_LE(panel.x1, w - 4) << "the panel reaches the window's right edge: cut";
    EXPECT_GT(panel.x1 - panel.x0, 300U) << "shrunk only as much as needed";
    EXPECT_LE(std::abs(static_cast<int>(panel.x0 + panel.x1) - static_cast<int>(w)), 2);
    // Small text has few fully white pixels: 170 still stands above the dimmed frame.
    EXPECT_EQ(text_rows(img, panel, 170), 10U) << "a heading, 8 bindings, the key alone";
}

// The window in each state, from its screenshot at exit: waiting for the
// agent (one centred line), an invalid region (the state and its reason),
// and connected with the overlay (six lines top left, over the black
// border, the frame-time graph under them; the help panel has its own test
// above).
TEST_F(RenderWindow, ScreenshotsOfEachStateShowItsText) {
    const Covered whole{0, 0, 640, 360, 0};
    // The bounding box of the white (text) pixels.
    const auto white_box = [](const ReadbackImage& img) {
        Covered c;
        for (std::uint32_t y = 0; y < img.height; ++y) {
            for (std::uint32_t x = 0; x < img.width; ++x) {
                const auto* p = &img.bgra[std::size_t{y} * img.stride + std::size_t{x} * 4];
                if (p[0] < std::byte{250} || p[1] < std::byte{250} || p[2] < std::byte{250})
                    continue;
                c = {std::min(c.x0, x), std::min(c.y0, y), std::max(c.x1, x + 1),
                     std::max(c.y1, y + 1), c.pixels + 1};
            }
        }
        return c;
    };
    const auto region = [&](bool garbage) {
        std::ofstream f(shm_, std::ios::binary | std::ios::trunc);
        std::mt19937_64 rng(42);
        for (int i = 0; i < (32 << 20) / 8; ++i) {
            const std::uint64_t v = garbage ? rng() : 0;
            f.write(reinterpret_cast<const char*>(&v), 8);
        }
    };
    for (const bool garbage : {false, true}) {
        SCOPED_TRACE(garbage ? "invalid region" : "waiting");
        region(garbage);
        const std::string shot = garbage ? "invalid.png" : "waiting.png";
        const auto r =
            run_client({"--size", "640x360", "--timeout", "2", "--screenshot", dir_.file(shot)},
                       60s, xvfb_->display());
        EXPECT_EQ(r.code, 3) << r.log;  // --timeout: no frame came
        ASSERT_FALSE(r.stats.empty()) << r.log;
        EXPECT_EQ(r.last()["state"], garbage ? "invalid region" : "waiting for the guest agent");
        const auto img = screenshot(shot);
        ASSERT_EQ(img.width, 640U);
        EXPECT_EQ(text_rows(img, whole), garbage ? 2U : 1U);
        const Covered text = white_box(img);
        ASSERT_GT(text.pixels, 200U);
        // Centred: the box around the text is, and a text line is most of its width.
        EXPECT_LE(std::abs(static_cast<int>(text.x0 + text.x1) - 640), 24) << text.x0;
        EXPECT_LE(std::abs(static_cast<int>(text.y0 + text.y1) - 360), 24) << text.y0;
    }
    std::filesystem::remove(shm_);

    auto agent = start_agent({"--width", "640", "--height", "480", "--fps-limit", "30"});
    const auto r =
        run_client({"--size", "800x600", "--scale", "integer", "--no-cursor", "--overlay",
                    "--exit-after-frames", "75", "--screenshot", dir_.file("overlay.png")},
                   60s, xvfb_->display());
    ASSERT_EQ(r.code, 0) << r.log;
    const auto img = screenshot("overlay.png");
    ASSERT_EQ(img.width, 800U);
    // The frame sits at 80,60; left of it the overlay's first letters are
    // drawn, each a capital (no descender to join it to the next line's).
    const Covered left{0, 0, 22, 600, 0};
    EXPECT_EQ(text_rows(img, left, 120), 6U) << "frames, latency, copy, dropped, audio, input";
    const Covered text = white_box(img);
    EXPECT_LT(text.x0, 20U);
    EXPECT_LT(text.y0, 20U);
    EXPECT_EQ(text_rows(img, Covered{0, 130, 22, 600, 0}, 120), 0U) << "six lines, no more";
    // Under the lines, the frame-time graph's coloured bars (30 fps: yellow or red).
    std::uint32_t bars = 0;
    for (std::uint32_t y = 100; y < 200; ++y) {
        for (std::uint32_t x = 0; x < 80; ++x) {
            const auto* p = &img.bgra[std::size_t{y} * img.stride + std::size_t{x} * 4];
            const auto [lo, hi] = std::minmax({p[0], p[1], p[2]});
            if (std::to_integer<int>(hi) - std::to_integer<int>(lo) > 100) ++bars;
        }
    }
    EXPECT_GT(bars, 100U) << "no frame-time graph under the overlay's lines";
}

// SDL2 on X11 never reports a HiDPI scale (the drawable is the window), so
// the text follows what the desktop says: Xft.dpi 192, set with xrdb as
// GNOME, KDE and ~/.Xresources do, draws the overlay twice as tall as on a
// desktop that says nothing; --ui-scale 2 does the same without it. Measured
// on the overlay's first letters, left of the frame (at 80,60): the rows
// from its first line's top to its sixth's bottom, and the first line alone.
TEST_F(RenderWindow, OverlayTextFollowsXftDpiAndUiScaleOnX11) {
    // A server of its own: the resource database is the display's, and the
    // suite's other tests must not see Xft.dpi.
    const porthole::test::Xvfb x;
    ASSERT_FALSE(x.display().empty()) << "Xvfb did not start";
    extra_env_ = {"GDK_SCALE="};  // the runner's desktop must not decide
    const auto xrdb = [&](const std::string& args) {
        const std::string cmd = "echo 'Xft.dpi: 192' | DISPLAY=" + x.display() + " xrdb -nocpp " +
                                args + " >/dev/null 2>&1";
        return std::system(cmd.c_str());
    };
    struct Text {
        std::uint32_t top = 0, bottom = 0, first_line = 0, lines = 0;
        std::string runs;  // the lines' rows, for a failure's message
        std::string log;
    };
    const auto overlay_text = [&](const std::string& name, std::vector<std::string> extra) {
        std::vector<std::string> args = {"--size",
                                         "800x600",
                                         "--scale",
                                         "integer",
                                         "--no-cursor",
                                         "--overlay",
                                         "--exit-after-frames",
                                         "45",
                                         "--screenshot",
                                         dir_.file(name)};
        args.insert(args.end(), extra.begin(), extra.end());
        const auto r = run_client(args, 60s, x.display());
        Text t;
        t.log = r.log;
        EXPECT_EQ(r.code, 0) << r.log;
        // Said once: on X11 nothing changes the scale while the window is open.
        std::size_t said = 0;
        for (auto at = r.log.find("text scale "); at != std::string::npos;
             at = r.log.find("text scale ", at + 1))
            ++said;
        EXPECT_EQ(said, 1U) << r.log;
        const auto img = screenshot(name);
        if (img.width != 800U) return t;
        // Left of x 40 only the lines' first letters are this bright (the
        // graph's bars are coloured); runs of at least 5 such rows are lines
        // (the graph's one-row target line is not). At 2x the sixth line's I
        // has its stem right of x 22.
        std::uint32_t run_start = 0;
        bool in_run = false;
        for (std::uint32_t y = 0; y <= 600; ++y) {
            bool white = false;
            for (std::uint32_t x0 = 0; y < 600 && x0 < 40 && !white; ++x0) {
                const auto* p = &img.bgra[std::size_t{y} * img.stride + std::size_t{x0} * 4];
                white = p[0] >= std::byte{120} && p[1] >= std::byte{120} && p[2] >= std::byte{120};
            }
            if (white && !in_run) run_start = y;
            if (!white && in_run && y - run_start >= 5) {
                if (t.lines++ == 0) {
                    t.top = run_start;
                    t.first_line = y - run_start;
                }
                t.bottom = y;
                std::array<char, 32> buf{};
                std::snprintf(buf.data(), buf.size(), " %u..%u", run_start, y);
                t.runs.append(buf.data());
            }
            in_run = white;
        }
        return t;
    };
    auto agent = start_agent({"--width", "640", "--height", "480", "--fps-limit", "30"});

    const Text at96 = overlay_text("dpi96.png", {});
    ASSERT_EQ(at96.lines, 6U) << at96.runs << "\n" << at96.log;
    EXPECT_NE(at96.log.find("text scale 1: nothing set it"), std::string::npos) << at96.log;

    ASSERT_EQ(xrdb("-merge"), 0) << "xrdb failed (is x11-xserver-utils installed?)";
    const Text at192 = overlay_text("dpi192.png", {});
    EXPECT_NE(at192.log.find("text scale 2: Xft.dpi 192"), std::string::npos) << at192.log;

    ASSERT_EQ(xrdb("-remove"), 0);
    const Text option = overlay_text("option.png", {"--ui-scale", "2"});
    EXPECT_NE(option.log.find("text scale 2: --ui-scale"), std::string::npos) << option.log;

    const double span96 = at96.bottom - at96.top;
    for (const Text* t : {&at192, &option}) {
        SCOPED_TRACE(t == &at192 ? "Xft.dpi 192" : "--ui-scale 2");
        EXPECT_EQ(t->lines, 6U) << "the same six lines, larger:" << t->runs;
        const double ratio = static_cast<double>(t->bottom - t->top) / span96;
        EXPECT_GT(ratio, 1.8) << t->runs << " vs" << at96.runs;
        EXPECT_LT(ratio, 2.2) << t->runs << " vs" << at96.runs;
        const double line = static_cast<double>(t->first_line) / at96.first_line;
        EXPECT_GT(line, 1.6) << t->first_line << " vs " << at96.first_line;
        EXPECT_LT(line, 2.4) << t->first_line << " vs " << at96.first_line;
        RecordProperty(t == &at192 ? "xft_dpi_192_ratio" : "ui_scale_2_ratio",
                       std::to_string(ratio));
    }
}

// Each present mode asked for is used where the driver offers it, and
// otherwise replaced by fifo with a message saying so: never a failure.
TEST_F(RenderWindow, UsesEachPresentModeOrFallsBackToFifoWithAMessage) {
    auto agent = start_agent({"--width", "320", "--height", "240", "--fps-limit", "60"});
    for (const std::string mode : {"fifo", "mailbox", "immediate"}) {
        const auto r = run_client({"--size", "320x240", "--no-cursor", "--verify-pattern",
                                   "--present-mode", mode, "--exit-after-frames", "15"},
                                  60s, xvfb_->display());
        ASSERT_EQ(r.code, 0) << mode << ": " << r.log;
        const std::string used = r.last().value("present_mode", "");
        if (used == mode) {
            EXPECT_EQ(r.log.find("is not supported"), std::string::npos) << r.log;
        } else {
            EXPECT_EQ(used, "fifo") << mode;
            EXPECT_NE(r.log.find("present mode " + mode + " is not supported"), std::string::npos)
                << r.log;
        }
        EXPECT_EQ(r.last()["mismatched"], 0) << mode;
        RecordProperty(mode, used);
    }
}

// With fifo the client draws the newest frame once a refresh (Xvfb reports
// no rate: 60 Hz) and counts the frames replaced before their refresh as
// superseded, instead of queueing a present for each of a 240 fps stream;
// the overlay's latency p99 reaches --stats too.
TEST_F(RenderWindow, FifoShowsTheNewestFrameOnceARefreshAndCountsTheSuperseded) {
    auto agent = start_agent({"--width", "320", "--height", "240", "--fps-limit", "240"});
    const auto r = run_client({"--size", "320x240", "--no-cursor", "--present-mode", "fifo",
                               "--exit-after-frames", "200"},
                              60s, xvfb_->display());
    ASSERT_EQ(r.code, 0) << r.log;
    ASSERT_GE(r.stats.size(), 3U) << r.log;
    const Json end = r.last();
    EXPECT_EQ(end["present_mode"], "fifo");
    EXPECT_EQ(end["vsync"], true);
    // Whole seconds after the first (shader compilation): at most one new frame a refresh.
    for (std::size_t i = 1; i + 1 < r.stats.size(); ++i) {
        EXPECT_LE(r.stats[i]["fps"].get<int>(), 66) << r.stats[i].dump();
        EXPECT_GT(r.stats[i]["ups"].get<int>(), 100) << r.stats[i].dump();
    }
    EXPECT_GT(end["superseded"].get<int>(), 100) << end.dump();
    ASSERT_TRUE(end["latency_p99_ms"].is_number()) << end.dump();
    ASSERT_TRUE(end["latency_ms"].is_number()) << end.dump();
    EXPECT_GE(end["latency_p99_ms"].get<double>(), end["latency_ms"].get<double>());
}

// ---- headless ----

class RenderHeadless : public Render {};

// Headless there is no refresh to pace to: the same stream is drawn as it arrives.
TEST_F(RenderHeadless, OffscreenDrawsFramesAsTheyArriveWithoutVsync) {
    auto agent = start_agent({"--width", "320", "--height", "240", "--fps-limit", "240"});
    const auto r = run_client({"--headless", "--no-cursor", "--exit-after-frames", "400"});
    ASSERT_EQ(r.code, 0) << r.log;
    ASSERT_GE(r.stats.size(), 2U) << r.log;
    EXPECT_EQ(r.last()["vsync"], false);
    int best = 0;
    for (const auto& s : r.stats)
        best = std::max(best, s["fps"].get<int>());
    EXPECT_GT(best, 90) << "headless draws are not paced to 60 Hz";
}

// What the host must show where the pattern agent's cursor (hotspot 0,0, see
// pattern_cursor_shape) covers frame pixel `bg`, at offset dx,dy in the shape.
std::array<int, 3> cursor_over(const std::string& type, std::uint32_t dx, std::uint32_t dy,
                               const std::byte* bg) {
    std::array<int, 3> c = {std::to_integer<int>(bg[0]), std::to_integer<int>(bg[1]),
                            std::to_integer<int>(bg[2])};  // B, G, R
    const auto invert = [&] {
        for (auto& v : c)
            v = 255 - v;
    };
    if (dx > dy) return c;  // outside the triangle: the screen, for every type
    if (type == "monochrome" && dx == dy) return {0, 0, 0};
    if (dy < 8) return {255, 255, 255};  // opaque white, in each type's encoding
    if (type == "color") {               // red at alpha 128 over the screen
        const double a = 128.0 / 255.0;
        return {static_cast<int>(std::lround(c[0] * (1 - a))),
                static_cast<int>(std::lround(c[1] * (1 - a))),
                static_cast<int>(std::lround(255 * a + c[2] * (1 - a)))};
    }
    invert();  // masked XOR white, monochrome AND 1 XOR 1
    return c;
}

// Every shape type the cursor channel carries, drawn by the host over the
// frame: the screenshot is the frame everywhere, except one 16x16 box where it
// is exactly what the type's blend rules give (opaque, alpha blend, replace,
// XOR/invert, black).
class RenderCursor : public RenderHeadless, public ::testing::WithParamInterface<std::string> {};

TEST_P(RenderCursor, DrawsEveryShapeTypeOnlyWhereTheCursorIs) {
    const std::uint32_t w = 320, h = 240;
    auto agent = start_agent({"--width", std::to_string(w), "--height", std::to_string(h),
                              "--fps-limit", "60", "--pattern-cursor", GetParam()});
    const auto r = run_client(
        {"--headless", "--exit-after-frames", "20", "--screenshot", dir_.file("shot.png")});
    ASSERT_EQ(r.code, 0) << r.log;
    const auto img = screenshot("shot.png");
    ASSERT_EQ(img.width, w);
    const auto n = pattern::read_counter(PixelFormat::bgra8, img.bgra, img.stride, w, h);
    ASSERT_NE(n, UINT64_MAX);
    const auto frame = [&](std::uint32_t x, std::uint32_t y) {
        std::array<std::byte, 4> px{};
        pattern::encode(pattern::pixel(n, x, y, w, h), PixelFormat::bgra8, px.data());
        return px;
    };
    const auto shown = [&](std::uint32_t x, std::uint32_t y) {
        return &img.bgra[std::size_t{y} * img.stride + std::size_t{x} * 4];
    };
    // The agent puts the cursor at mid-height; where along the row follows
    // the bar, of a frame that may be newer than the one shown: find it.
    const std::uint32_t cy = h / 2;
    std::optional<std::uint32_t> cx;
    int worst_at_best = 1000;
    for (std::uint32_t x0 = 0; x0 + 16 <= w && !cx; ++x0) {
        int worst = 0;
        for (std::uint32_t dy = 0; dy < 16; ++dy) {
            for (std::uint32_t dx = 0; dx < 16; ++dx) {
                const auto bg = frame(x0 + dx, cy + dy);
                const auto want = cursor_over(GetParam(), dx, dy, bg.data());
                const auto* got = shown(x0 + dx, cy + dy);
                for (int ch = 0; ch < 3; ++ch)
                    worst = std::max(worst, std::abs(std::to_integer<int>(got[ch]) -
                                                     want[static_cast<std::size_t>(ch)]));
            }
        }
        worst_at_best = std::min(worst_at_best, worst);
        if (worst <= 2) cx = x0;  // blending rounds by up to one step each way
    }
    ASSERT_TRUE(cx) << GetParam() << " cursor not found as drawn by its rules; closest box "
                    << "differs by " << worst_at_best;
    // Nothing else is touched.
    std::uint32_t outside = 0;
    for (std::uint32_t y = 0; y < h; ++y) {
        for (std::uint32_t x = 0; x < w; ++x) {
            if (x >= *cx && x < *cx + 16 && y >= cy && y < cy + 16) continue;
            const auto want = frame(x, y);
            if (!std::equal(want.begin(), want.begin() + 3, shown(x, y))) ++outside;
        }
    }
    EXPECT_EQ(outside, 0U) << "pixels changed outside the cursor";
}

INSTANTIATE_TEST_SUITE_P(ShapeTypes, RenderCursor,
                         ::testing::Values("color", "masked", "monochrome"),
                         [](const auto& param_info) { return param_info.param; });

TEST_F(RenderHeadless, ImportPathCopiesNoFrameBytesOnTheCpu) {
    auto agent = start_agent({"--width", "640", "--height", "360", "--fps-limit", "60"});
    const auto r =
        run_client({"--headless", "--no-cursor", "--verify-pattern", "--exit-after-frames", "40"});
    ASSERT_EQ(r.code, 0) << r.log;
    EXPECT_EQ(r.last()["copy_path"], "import");
    EXPECT_EQ(r.last()["cpu_bytes_copied"], 0);
    EXPECT_EQ(r.last()["mismatched"], 0);
    // Partial updates: the GPU copied far less than whole frames (the bar moves).
    const auto frames = r.last()["frames"].get<std::uint64_t>();
    EXPECT_LT(r.last()["gpu_bytes_copied"].get<std::uint64_t>(), frames * 640 * 360 * 4 / 2);
}

TEST_F(RenderHeadless, StagingFallbackCopiesOnlyDamagedRectangles) {
    auto agent = start_agent(
        {"--width", "640", "--height", "360", "--format", "rgb10a2", "--fps-limit", "60"});
    const auto r = run_client({"--headless", "--force-staging", "--no-cursor", "--verify-pattern",
                               "--exit-after-frames", "40", "--screenshot", dir_.file("shot.png")});
    ASSERT_EQ(r.code, 0) << r.log;
    EXPECT_EQ(r.last()["copy_path"], "staging");
    EXPECT_EQ(r.last()["mismatched"], 0);
    const auto cpu = r.last()["cpu_bytes_copied"].get<std::uint64_t>();
    const auto frames = r.last()["frames"].get<std::uint64_t>();
    EXPECT_GT(cpu, std::uint64_t{640} * 360 * 4);  // at least the first whole frame
    EXPECT_LT(cpu, frames * 640 * 360 * 4 / 2);    // then damaged rectangles only
    EXPECT_EQ(cpu, r.last()["gpu_bytes_copied"].get<std::uint64_t>());
    expect_pattern(screenshot("shot.png"), 0, 0, 640, 360);
}

// The agent sends every frame whole and progressively (a new size each
// frame); the client follows the rows as they land on both copy paths and
// shows every frame pixel-exact.
TEST_F(RenderHeadless, ProgressiveWholeFramesArePixelExactOnBothCopyPaths) {
    auto agent = start_agent({"--width", "640", "--height", "360", "--resize-to", "512x288",
                              "--resize-every", "1", "--fps-limit", "60"});
    for (const bool staging : {false, true}) {
        std::vector<std::string> args{"--headless", "--no-cursor", "--verify-pattern",
                                      "--exit-after-frames", "40"};
        if (staging) args.emplace_back("--force-staging");
        const auto r = run_client(args);
        ASSERT_EQ(r.code, 0) << r.log;
        EXPECT_EQ(r.last()["copy_path"], staging ? "staging" : "import");
        EXPECT_EQ(r.last()["mismatched"], 0);
        EXPECT_GE(r.last()["verified"].get<int>(), 40);
        // Whole frames every time: at least the smaller size's bytes a frame.
        const auto frames = r.last()["frames"].get<std::uint64_t>();
        EXPECT_GE(r.last()["gpu_bytes_copied"].get<std::uint64_t>(), frames * 512 * 288 * 4);
    }
}

TEST_F(RenderHeadless, RecoversPixelExactAfterAgentRestart) {
    auto client =
        start_client({"--headless", "--no-cursor", "--verify-pattern", "--exit-after-frames", "70",
                      "--screenshot", dir_.file("shot.png")});
    {
        // The first agent runs until the client has really shown its frames.
        auto first = start_agent({"--width", "320", "--height", "240", "--fps-limit", "60"});
        ASSERT_GE(wait_verified(10, 60s), 10U) << read_text(dir_.file("client.err"));
        ASSERT_TRUE(first.terminate().has_value());
    }
    auto second = start_agent(
        {"--width", "256", "--height", "192", "--format", "rgb10a2", "--fps-limit", "60"});
    auto r = finish_client(client, 60s);
    ASSERT_EQ(r.code, 0) << r.log;
    EXPECT_EQ(r.last()["mismatched"], 0);
    const auto img = screenshot("shot.png");
    EXPECT_EQ(img.width, 256U);  // the second agent's frames are shown
    expect_pattern(img, 0, 0, 256, 192);
}

// The user starts porthole before the VM: QEMU has not created the region
// file yet. The client says what it waits for, then shows the frames.
TEST_F(RenderHeadless, ClientStartedBeforeTheRegionExistsWaitsForIt) {
    ASSERT_FALSE(std::filesystem::exists(shm_));
    auto client = start_client({"--headless", "--no-cursor", "--verify-pattern",
                                "--exit-after-frames", "20", "--log-level", "info"});
    const auto said_waiting = [&] {
        return read_text(dir_.file("client.err")).find("waiting for " + shm_) != std::string::npos;
    };
    for (int i = 0; i < 300 && !said_waiting(); ++i)
        std::this_thread::sleep_for(50ms);
    EXPECT_TRUE(said_waiting()) << read_text(dir_.file("client.err"));
    std::this_thread::sleep_for(500ms);  // and it goes on waiting
    ASSERT_TRUE(client.running()) << read_text(dir_.file("client.err"));
    auto agent = start_agent({"--width", "320", "--height", "240", "--fps-limit", "60"});
    (void)agent;
    auto r = finish_client(client, 60s);
    ASSERT_EQ(r.code, 0) << r.log;
    EXPECT_EQ(r.last()["mismatched"], 0);
    EXPECT_GE(r.last()["verified"].get<int>(), 20);
}

// A region in a directory that does not exist will never appear (QEMU
// creates the file, not the directory): an error at once, not a wait.
TEST_F(RenderHeadless, RegionInAMissingDirectoryIsAnErrorNotAWait) {
    const std::string missing = dir_.file("no-such-dir") + "/region";
    porthole::test::Process client({PORTHOLE_CLIENT, "--shm", missing, "--headless"},
                                   dir_.file("client.out"), dir_.file("client.err"));
    const auto code = client.wait_exit(10s);
    ASSERT_TRUE(code.has_value()) << "still waiting: "
                                  << porthole::test::read_text(dir_.file("client.err"));
    EXPECT_EQ(*code, 1);
    EXPECT_NE(porthole::test::read_text(dir_.file("client.err"))
                  .find(dir_.file("no-such-dir") + " does not exist"),
              std::string::npos)
        << porthole::test::read_text(dir_.file("client.err"));
}

TEST_F(RenderHeadless, PacedRunShowsEveryFrameExactlyOnce) {
    auto agent = start_agent({"--width", "320", "--height", "240", "--fps-limit", "10"});
    const auto r =
        run_client({"--headless", "--no-cursor", "--verify-pattern", "--exit-after-frames", "40"});
    ASSERT_EQ(r.code, 0) << r.log;
    ASSERT_GE(r.stats.size(), 3U);
    // The first second includes the driver's start-up (shader compilation);
    // from then on every published frame is shown once, in order.
    Json base = r.stats[0];
    Json end = r.last();
    EXPECT_EQ(end["repeats"], 0);
    EXPECT_EQ(end["mismatched"], 0);
    EXPECT_EQ(end["verified"], end["frames"]);
#if defined(__SANITIZE_ADDRESS__)
    // Under ASan the client can fall a frame behind on a loaded machine:
    // then whatever it did not show must be reported as dropped.
    EXPECT_EQ(end["gaps"].get<int>() - base["gaps"].get<int>(),
              end["skipped"].get<int>() - base["skipped"].get<int>() + end["torn"].get<int>() -
                  base["torn"].get<int>());
#else
    EXPECT_EQ(end["gaps"], base["gaps"]);
    EXPECT_EQ(end["skipped"], base["skipped"]);
#endif
}

struct ScaleCase {
    const char* mode;
    const char* size;
    std::uint32_t tw, th, x0, y0, kx, ky;
};

TEST_F(RenderHeadless, ScalingModesPlaceAndSampleTheFrame) {
    auto agent = start_agent({"--width", "320", "--height", "180", "--fps-limit", "60"});
    const ScaleCase cases[] = {
        {"fit", "640x480", 640, 480, 0, 60, 2, 2},        // aspect kept: bars top and bottom
        {"integer", "800x600", 800, 600, 80, 120, 2, 2},  // largest whole factor, centred
        {"stretch", "960x360", 960, 360, 0, 0, 3, 2},     // fills the target
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.mode);
        const std::string shot = std::string(c.mode) + ".png";
        const auto r = run_client({"--headless", "--size", c.size, "--scale", c.mode, "--filter",
                                   "nearest", "--no-cursor", "--exit-after-frames", "5",
                                   "--screenshot", dir_.file(shot)});
        ASSERT_EQ(r.code, 0) << r.log;
        const auto img = screenshot(shot);
        ASSERT_EQ(img.width, c.tw);
        ASSERT_EQ(img.height, c.th);
        expect_pattern(img, c.x0, c.y0, 320, 180, c.kx, c.ky);
        EXPECT_EQ(lit_outside(img, c.x0, c.y0, 320 * c.kx, 180 * c.ky), 0U);
    }
}

// What the HDR path shows for a linear value: extended Reinhard on luminance
// (white point 4), then sRGB encoding (shaders/textured.frag).
std::array<double, 3> tone_mapped(const pattern::Rgba8& c) {
    std::array<double, 3> v = {c.r / 255.0, c.g / 255.0, c.b / 255.0};
    const double l = 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
    const double k = l <= 0 ? 0 : (l * (1 + l / 16) / (1 + l)) / l;
    for (auto& x : v) {
        x = std::clamp(x * k, 0.0, 1.0);
        x = 255 * (x <= 0.0031308 ? x * 12.92 : 1.055 * std::pow(x, 1 / 2.4) - 0.055);
    }
    return v;
}

TEST_F(RenderHeadless, ShowsRgba16fFramesToneMapped) {
    auto agent = start_agent(
        {"--width", "320", "--height", "240", "--format", "rgba16f", "--fps-limit", "60"});
    const auto r = run_client({"--headless", "--no-cursor", "--exit-after-frames", "10",
                               "--screenshot", dir_.file("shot.png")});
    ASSERT_EQ(r.code, 0) << r.log;
    const auto img = screenshot("shot.png");
    ASSERT_EQ(img.width, 320U);
    // The shown frame's number is unknown (its code cells are tone-mapped too):
    // find the frame whose tone-mapped pattern matches every pixel within 2.
    bool found = false;
    for (std::uint64_t n = 0; n < 2000 && !found; ++n) {
        found = true;
        for (std::uint32_t y = 0; y < 240 && found; ++y) {
            for (std::uint32_t x = 0; x < 320 && found; ++x) {
                const auto want = tone_mapped(pattern::pixel(n, x, y, 320, 240));
                const auto* got = &img.bgra[std::size_t{y} * img.stride + std::size_t{x} * 4];
                for (int ch = 0; ch < 3; ++ch) {
                    const double g = std::to_integer<int>(got[2 - ch]);
                    if (std::abs(g - want[static_cast<std::size_t>(ch)]) > 2.0) found = false;
                }
            }
        }
    }
    EXPECT_TRUE(found) << "the shown image is no tone-mapped pattern frame";
}

TEST_F(RenderHeadless, SurvivesAGarbageRegionAndRecovers) {
    {
        std::ofstream f(shm_, std::ios::binary);
        std::mt19937_64 rng(42);
        for (int i = 0; i < (32 << 20) / 8; ++i) {
            const auto v = rng();
            f.write(reinterpret_cast<const char*>(&v), 8);
        }
    }
    auto client =
        start_client({"--headless", "--size", "640x360", "--no-cursor", "--verify-pattern",
                      "--exit-after-frames", "20", "--screenshot", dir_.file("shot.png")});
    // It shows the error state (a --stats line says so) and keeps running.
    std::string state;
    for (int i = 0; i < 600 && state != "invalid region" && client.running(); ++i) {
        ClientRun partial;
        collect(partial);
        if (!partial.stats.empty()) state = partial.last()["state"].get<std::string>();
        std::this_thread::sleep_for(50ms);
    }
    ASSERT_TRUE(client.running()) << "the client gave up on a garbage region";
    EXPECT_EQ(state, "invalid region");
    auto agent = start_agent({"--width", "640", "--height", "360", "--fps-limit", "60"});
    const auto r = finish_client(client, 60s);
    ASSERT_EQ(r.code, 0) << r.log;
    EXPECT_EQ(r.last()["mismatched"], 0);
    EXPECT_GE(r.last()["verified"].get<int>(), 20);
}

TEST_F(RenderHeadless, ShowsTheWaitingStateWithoutAnAgent) {
    {
        std::ofstream f(shm_, std::ios::binary);
        f.seekp((32 << 20) - 1);
        f.put('\0');
    }
    const auto r = run_client({"--headless", "--size", "640x360", "--timeout", "1.5",
                               "--screenshot", dir_.file("shot.png")});
    EXPECT_EQ(r.code, 3);  // --timeout: no frame arrived
    ASSERT_FALSE(r.stats.empty());
    EXPECT_EQ(r.last()["state"], "waiting for the guest agent");
    const auto img = screenshot("shot.png");
    EXPECT_GT(lit_outside(img, 0, 0, 0, 0), 500U);  // the message is drawn
}

// Without a font (PORTHOLE_FONT naming none) the text falls back to the
// built-in bitmap font, said once in the log, and the message is still drawn.
TEST_F(RenderHeadless, WithoutAFontTheTextFallsBackToTheBitmapFont) {
    {
        std::ofstream f(shm_, std::ios::binary);
        f.seekp((32 << 20) - 1);
        f.put('\0');
    }
    extra_env_ = {"PORTHOLE_FONT=" + dir_.file("no-such-font.ttf")};
    const auto r = run_client({"--headless", "--size", "640x360", "--timeout", "1.5",
                               "--screenshot", dir_.file("shot.png")});
    EXPECT_EQ(r.code, 3) << r.log;
    const std::string said = "no font could be loaded";
    const auto at = r.log.find(said);
    ASSERT_NE(at, std::string::npos) << r.log;
    EXPECT_EQ(r.log.find(said, at + 1), std::string::npos) << "said once: " << r.log;
    EXPECT_NE(r.log.find("fonts-dejavu-core"), std::string::npos) << r.log;
    const auto img = screenshot("shot.png");
    EXPECT_EQ(text_rows(img, Covered{0, 0, 640, 360, 0}), 1U) << "the waiting message";
}

// ---- options ----

TEST_F(Render, ConfigFileOptionsAreOverriddenByTheCommandLine) {
    {
        std::ofstream conf(dir_.file("config/porthole/porthole.conf"));
        conf << "headless = true\nsize = \"400x300\"\nscale = \"stretch\"\nno-cursor = true\n";
    }
    auto agent = start_agent({"--width", "320", "--height", "240", "--fps-limit", "60"});
    auto r = run_client({"--exit-after-frames", "3", "--screenshot", dir_.file("a.png")});
    ASSERT_EQ(r.code, 0) << r.log;
    EXPECT_EQ(screenshot("a.png").width, 400U);  // from the file
    r = run_client(
        {"--size", "500x300", "--exit-after-frames", "3", "--screenshot", dir_.file("b.png")});
    ASSERT_EQ(r.code, 0) << r.log;
    EXPECT_EQ(screenshot("b.png").width, 500U);  // the command line wins
}

TEST_F(Render, HelpListsEveryOptionWithItsDefault) {
    const auto r = run_client({"--help"}, 5s);
    ASSERT_EQ(r.code, 0);
    const auto help = porthole::test::read_text(dir_.file("client.out"));
    for (const char* opt : {"--shm",
                            "--config",
                            "--fullscreen",
                            "--present-mode",
                            "--scale",
                            "--filter",
                            "--headless",
                            "--screenshot",
                            "--exit-after-frames",
                            "--stats",
                            "--timeout",
                            "--verify-pattern",
                            "--size",
                            "--overlay",
                            "--no-cursor",
                            "--force-staging",
                            "--input",
                            "--evdev-device",
                            "--hotkey",
                            "--mouse",
                            "--input-to",
                            "--qmp",
                            "--audio",
                            "--audio-latency",
                            "--audio-source",
                            "--scream-shm",
                            "--audio-follow-volume",
                            "--log-level",
                            "--borderless",
                            "--window-position",
                            "--title",
                            "--allow-screensaver",
                            "--hide-cursor",
                            "--mouse-sensitivity",
                            "--ignore-windows-keys",
                            "--capture-on-start",
                            "--capture-on-focus",
                            "--usb"}) {
        EXPECT_NE(help.find(opt), std::string::npos) << opt;
    }
    EXPECT_NE(help.find("/dev/shm/porthole"), std::string::npos);
    EXPECT_NE(help.find("fifo"), std::string::npos);
    EXPECT_NE(help.find("fit"), std::string::npos);
    EXPECT_NE(help.find("-f,-F,--fullscreen"), std::string::npos);
    EXPECT_NE(help.find("--mouse-sensitivity INT=0"), std::string::npos);
    EXPECT_NE(help.find("default: centered"), std::string::npos);
    EXPECT_NE(help.find("default: porthole (REGION)"), std::string::npos);
    EXPECT_NE(help.find("--usb TEXT=[] ..."), std::string::npos);
    EXPECT_NE(help.find("  U       attach the --usb devices to the VM"), std::string::npos);
}

}  // namespace
