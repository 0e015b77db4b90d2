// The window options under a private Xvfb: the window itself (SdlWindow,
// queried through SDL and through the X server with xprop and xwininfo), and
// the `porthole` program with the options on its command line, so that the
// options are known to reach the window.
#include <gtest/gtest.h>

#include <SDL.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "display/sdl_window.hpp"
#include "process.hpp"
#include "support/command_output.hpp"

// Last: Xlib's macros (Status, None, Bool) would break the headers above.
#include <SDL_syswm.h>
#include <X11/Xlib.h>
#include <X11/extensions/Xfixes.h>

namespace {

using namespace std::chrono_literals;
using porthole::client::SdlWindow;
using porthole::client::WindowConfig;
using porthole::test::command_output;

class WindowOptions : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        xvfb_ = std::make_unique<porthole::test::Xvfb>();
        ::setenv("DISPLAY", xvfb_->display().c_str(), 1);
        ::setenv("SDL_VIDEODRIVER", "x11", 1);
        // SDL sets _MOTIF_WM_HINTS only when the atom exists, as it does on
        // every desktop (the window manager made it) but not on a bare Xvfb.
        // SDL's connection held open for the suite: Xvfb forgets its atoms
        // when its last client leaves.
        sdl_up_ = SDL_InitSubSystem(SDL_INIT_VIDEO) == 0;
        motif_atom_ = std::system(("DISPLAY=" + xvfb_->display() +
                                   " xprop -root -f _MOTIF_WM_HINTS 32c -set _MOTIF_WM_HINTS 0")
                                      .c_str()) == 0;
    }
    static void TearDownTestSuite() {
        if (sdl_up_) SDL_QuitSubSystem(SDL_INIT_VIDEO);
        xvfb_.reset();
    }
    void SetUp() override {
        ASSERT_FALSE(xvfb_->display().empty()) << "Xvfb did not start (package xvfb)";
        ASSERT_TRUE(sdl_up_) << SDL_GetError();
        ASSERT_TRUE(motif_atom_) << "xprop could not make the _MOTIF_WM_HINTS atom (x11-utils)";
    }

    // The X server's own view of a window: `tool -id ID args` on the private display.
    static std::string x_query(const std::string& tool, unsigned long id, const std::string& args) {
        return command_output("DISPLAY=" + xvfb_->display() + " LC_ALL=C.UTF-8 " + tool + " -id " +
                              std::to_string(id) + " " + args + " 2>&1");
    }
    static unsigned long x11_id(SDL_Window* w) {
        SDL_SysWMinfo info;
        SDL_VERSION(&info.version);
        if (SDL_GetWindowWMInfo(w, &info) != SDL_TRUE || info.subsystem != SDL_SYSWM_X11) return 0;
        return info.info.x11.window;
    }
    static std::unique_ptr<SdlWindow> open(const WindowConfig& c) {
        auto w = SdlWindow::create(c);
        EXPECT_TRUE(w.has_value()) << (w ? "" : w.error().message);
        if (!w) return nullptr;
        (*w)->poll_events();  // lets SDL see the window mapped
        return std::move(*w);
    }

    static inline std::unique_ptr<porthole::test::Xvfb> xvfb_;
    static inline bool sdl_up_ = false;
    static inline bool motif_atom_ = false;
};

// _MOTIF_WM_HINTS, as SDL sets it: flags 0x2 (decorations given), then the
// decorations: 0x0 none (borderless), 0x1 all.
constexpr const char* kNoDecorations = "= 0x2, 0x0, 0x0, 0x0, 0x0";
constexpr const char* kDecorations = "= 0x2, 0x0, 0x1, 0x0, 0x0";

TEST_F(WindowOptions, BorderlessAtThePositionWithTheTitle) {
    WindowConfig c;
    c.title = "vm \xe2\x9c\x93 one";  // UTF-8 survives to the X server
    c.width = 320;
    c.height = 240;
    c.borderless = true;
    c.position = std::pair{40, 30};
    const auto w = open(c);
    ASSERT_TRUE(w);
    SDL_Window* sw = w->sdl_window();
    EXPECT_NE(SDL_GetWindowFlags(sw) & SDL_WINDOW_BORDERLESS, 0U);
    int x = -1, y = -1;
    SDL_GetWindowPosition(sw, &x, &y);
    EXPECT_EQ(x, 40);
    EXPECT_EQ(y, 30);
    EXPECT_STREQ(SDL_GetWindowTitle(sw), c.title.c_str());

    const unsigned long id = x11_id(sw);
    ASSERT_NE(id, 0UL) << SDL_GetError();
    const auto hints = x_query("xprop", id, "_MOTIF_WM_HINTS");
    EXPECT_NE(hints.find(kNoDecorations), std::string::npos) << hints;
    const auto name = x_query("xprop", id, "_NET_WM_NAME");
    EXPECT_NE(name.find("= \"vm \xe2\x9c\x93 one\""), std::string::npos) << name;
    const auto info = x_query("xwininfo", id, "");
    EXPECT_NE(info.find("Absolute upper-left X:  40\n"), std::string::npos) << info;
    EXPECT_NE(info.find("Absolute upper-left Y:  30\n"), std::string::npos) << info;
    EXPECT_NE(info.find("Width: 320\n"), std::string::npos) << info;
}

TEST_F(WindowOptions, ByDefaultTheWindowHasItsFrameAndIsCentered) {
    WindowConfig c;
    c.width = 320;
    c.height = 240;
    const auto w = open(c);
    ASSERT_TRUE(w);
    EXPECT_EQ(SDL_GetWindowFlags(w->sdl_window()) & SDL_WINDOW_BORDERLESS, 0U);
    const unsigned long id = x11_id(w->sdl_window());
    ASSERT_NE(id, 0UL) << SDL_GetError();
    const auto hints = x_query("xprop", id, "_MOTIF_WM_HINTS");
    EXPECT_NE(hints.find(kDecorations), std::string::npos) << hints;
    // Xvfb's screen is 1920x1080: centered is (1920 - 320) / 2, (1080 - 240) / 2.
    const auto info = x_query("xwininfo", id, "");
    EXPECT_NE(info.find("Absolute upper-left X:  800\n"), std::string::npos) << info;
    EXPECT_NE(info.find("Absolute upper-left Y:  420\n"), std::string::npos) << info;
}

// The screensaver is held off unless --allow-screensaver, whatever the
// window before it said (the option is applied at every window, not left to
// SDL's start-up, which ran once for the whole suite here).
TEST_F(WindowOptions, TheScreensaverIsHeldOffUnlessAllowed) {
    for (const bool allow : {true, false, true}) {
        WindowConfig c;
        c.width = 64;
        c.height = 64;
        c.allow_screensaver = allow;
        const auto w = open(c);
        ASSERT_TRUE(w);
        EXPECT_EQ(SDL_IsScreenSaverEnabled(), allow ? SDL_TRUE : SDL_FALSE) << allow;
    }
}

// The program: the options on the command line reach the window, and the
// default title names the region.
class ProgramWindowOptions : public WindowOptions {
  protected:
    void TearDown() override { std::filesystem::remove(shm_); }

    porthole::test::Process start(const std::string& name, std::vector<std::string> args) {
        args.insert(args.begin(), {PORTHOLE_CLIENT, "--shm", shm_, "--size", "320x240"});
        return porthole::test::Process(
            args, dir_.file(name + ".out"), dir_.file(name + ".err"),
            {"DISPLAY=" + xvfb_->display(), "XDG_CONFIG_HOME=" + dir_.file("no-config"),
             "PORTHOLE_SYSTEM_CONFIG="});
    }
    // The X window named exactly `title` (0 when none appears within 60 s).
    unsigned long find_window(const std::string& title, const std::string& name) {
        const std::string cmd = "DISPLAY=" + xvfb_->display() +
                                " xdotool search --onlyvisible --name '^" + title +
                                "$' 2>/dev/null";
        for (int i = 0; i < 600; ++i) {
            const auto out = command_output(cmd);
            if (!out.empty()) return std::stoul(out);
            std::this_thread::sleep_for(100ms);
        }
        ADD_FAILURE() << "no window named '" << title
                      << "': " << porthole::test::read_text(dir_.file(name + ".err"));
        return 0;
    }

    // Whether the pointer the X server shows now has a visible pixel (XFixes).
    static bool pointer_image_visible() {
        Display* d = XOpenDisplay(xvfb_->display().c_str());
        if (d == nullptr) {
            ADD_FAILURE() << "cannot open " << xvfb_->display();
            return false;
        }
        bool any = false;
        if (XFixesCursorImage* img = XFixesGetCursorImage(d)) {
            for (std::size_t i = 0; i < std::size_t{img->width} * img->height; ++i)
                any = any || (img->pixels[i] >> 24) != 0;
            XFree(img);
        } else {
            ADD_FAILURE() << "XFixesGetCursorImage failed";
        }
        XCloseDisplay(d);
        return any;
    }
    // The pointer moved over window `id`; its image visibility once settled.
    bool pointer_over(unsigned long id) {
        const std::string cmd = "DISPLAY=" + xvfb_->display() + " xdotool mousemove --window " +
                                std::to_string(id) + " 100 100 >/dev/null 2>&1";
        EXPECT_EQ(std::system(cmd.c_str()), 0);
        std::this_thread::sleep_for(500ms);
        return pointer_image_visible();
    }

    // Who has the input by the last --stats line of client `name`: "guest"
    // (captured), "host", or "" before the first line.
    std::string input_owner(const std::string& name) {
        const std::string out = porthole::test::read_text(dir_.file(name + ".out"));
        const auto at = out.rfind("\"owner\":\"");
        if (at == std::string::npos) return {};
        const auto from = at + 9;
        return out.substr(from, out.find('"', from) - from);
    }
    // Waits (20 s at most) for --stats to say `want`; the owner last seen.
    std::string wait_owner(const std::string& name, const std::string& want) {
        std::string seen;
        for (int i = 0; i < 200 && (seen = input_owner(name)) != want; ++i)
            std::this_thread::sleep_for(100ms);
        return seen;
    }
    // Gives window `id` the keyboard focus.
    void focus(unsigned long id) {
        const std::string cmd = "DISPLAY=" + xvfb_->display() + " xdotool windowfocus --sync " +
                                std::to_string(id) + " >/dev/null 2>&1";
        EXPECT_EQ(std::system(cmd.c_str()), 0) << "xdotool could not focus window " << id;
    }

    porthole::test::TempDir dir_;
    const std::string shm_ = "/dev/shm/porthole-winopts-" + std::to_string(::getpid());
};

TEST_F(ProgramWindowOptions, BorderlessPositionTitleAndHiddenPointerReachTheWindow) {
    porthole::test::Process agent({PORTHOLE_AGENT, "--shm", shm_, "--log-level", "warn", "--width",
                                   "320", "--height", "240", "--fps-limit", "30"},
                                  dir_.file("agent.out"), dir_.file("agent.err"));
    for (int i = 0; i < 300 && !std::filesystem::exists(shm_); ++i)
        std::this_thread::sleep_for(10ms);

    auto client = start("options", {"-d", "--window-position", "40,30", "--title", "my vm"});
    const unsigned long id = find_window("my vm", "options");
    ASSERT_NE(id, 0UL);
    EXPECT_NE(x_query("xprop", id, "_MOTIF_WM_HINTS").find(kNoDecorations), std::string::npos);
    const auto info = x_query("xwininfo", id, "");
    EXPECT_NE(info.find("Absolute upper-left X:  40\n"), std::string::npos) << info;
    EXPECT_NE(info.find("Absolute upper-left Y:  30\n"), std::string::npos) << info;
    EXPECT_TRUE(pointer_over(id)) << "the host pointer shows without --hide-cursor";
    EXPECT_TRUE(client.terminate().has_value());

    // -M: the pattern agent's cursor is drawn, so the host pointer over the window is blank.
    auto hidden = start("hidden", {"-M", "--title", "hidden"});
    const unsigned long hidden_id = find_window("hidden", "hidden");
    ASSERT_NE(hidden_id, 0UL);
    EXPECT_FALSE(pointer_over(hidden_id)) << porthole::test::read_text(dir_.file("hidden.err"));
    EXPECT_TRUE(hidden.terminate().has_value());

    auto plain = start("plain", {});
    const unsigned long plain_id = find_window("porthole [(]" + shm_ + "[)]", "plain");
    ASSERT_NE(plain_id, 0UL);
    EXPECT_NE(x_query("xprop", plain_id, "_MOTIF_WM_HINTS").find(kDecorations), std::string::npos);
    const auto plain_info = x_query("xwininfo", plain_id, "");
    EXPECT_NE(plain_info.find("Absolute upper-left X:  800\n"), std::string::npos) << plain_info;
    EXPECT_TRUE(plain.terminate().has_value());
}

// --capture-on-start captures as the window opens; --capture-on-focus at
// every focus gain, and the focus going elsewhere releases; with neither,
// the focus alone captures nothing. Who has the input is read from --stats.
TEST_F(ProgramWindowOptions, CaptureOnStartAndOnFocus) {
    porthole::test::Process agent({PORTHOLE_AGENT, "--shm", shm_, "--log-level", "warn", "--width",
                                   "320", "--height", "240", "--fps-limit", "30"},
                                  dir_.file("agent.out"), dir_.file("agent.err"));
    for (int i = 0; i < 300 && !std::filesystem::exists(shm_); ++i)
        std::this_thread::sleep_for(10ms);

    auto plain = start("plain", {"--stats", "--title", "plain"});
    const unsigned long plain_id = find_window("plain", "plain");
    ASSERT_NE(plain_id, 0UL);
    focus(plain_id);
    ASSERT_EQ(wait_owner("plain", "host"), "host");
    std::this_thread::sleep_for(1500ms);  // a --stats line or two after the focus
    EXPECT_EQ(input_owner("plain"), "host") << "captured without being asked to";
    EXPECT_TRUE(plain.terminate().has_value());

    auto on_start = start("on-start", {"--stats", "--capture-on-start", "--title", "on start"});
    ASSERT_NE(find_window("on start", "on-start"), 0UL);
    EXPECT_EQ(wait_owner("on-start", "guest"), "guest")
        << porthole::test::read_text(dir_.file("on-start.err"));
    EXPECT_TRUE(on_start.terminate().has_value());

    // Another window to take the focus from porthole's.
    WindowConfig c;
    c.title = "other";
    c.width = 64;
    c.height = 64;
    c.position = std::pair{0, 0};
    const auto other = open(c);
    ASSERT_TRUE(other);
    const unsigned long other_id = x11_id(other->sdl_window());
    auto on_focus = start("on-focus", {"--stats", "--capture-on-focus", "--title", "on focus"});
    const unsigned long id = find_window("on focus", "on-focus");
    ASSERT_NE(id, 0UL);
    ASSERT_NE(wait_owner("on-focus", "host"), "");  // running, whoever has the focus now
    for (int round = 0; round < 2; ++round) {
        focus(other_id);
        EXPECT_EQ(wait_owner("on-focus", "host"), "host") << "round " << round;
        focus(id);
        EXPECT_EQ(wait_owner("on-focus", "guest"), "guest") << "round " << round;
    }
    const auto err = porthole::test::read_text(dir_.file("on-focus.err"));
    EXPECT_NE(err.find("captured on focus (--capture-on-focus)"), std::string::npos) << err;
    EXPECT_TRUE(on_focus.terminate().has_value());
}

}  // namespace
