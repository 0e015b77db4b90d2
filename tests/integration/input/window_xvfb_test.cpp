// Window mode under a private Xvfb: a real SDL window, real X input events
// synthesised with xdotool (XTEST), fed through WindowInput.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/input-event-codes.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <SDL.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "input/window_input.hpp"

// Last: Xlib's macros (Status, None, Bool) would break the headers above.
#include <SDL_syswm.h>
#include <X11/Xlib.h>
#include <X11/extensions/Xfixes.h>

namespace porthole::client::input {
namespace {

using namespace std::chrono_literals;
using protocol::InputEvent;

// Xvfb on a display number it picks itself (-displayfd: two tests starting
// together cannot take the same one), killed by pid at the end. display() is
// empty when the server did not report a display within 30 s.
class Xvfb {
  public:
    Xvfb() {
        int fds[2];
        if (::pipe(fds) != 0) return;
        pid_ = ::fork();
        if (pid_ == 0) {
            ::setsid();
            ::close(fds[0]);
            const std::string fd = std::to_string(fds[1]);
            const int null = ::open("/dev/null", O_WRONLY);
            ::dup2(null, 1);
            ::dup2(null, 2);
            ::execlp("Xvfb", "Xvfb", "-displayfd", fd.c_str(), "-screen", "0", "1024x768x24",
                     "-nolisten", "tcp", "-noreset", static_cast<char*>(nullptr));
            ::_exit(127);
        }
        ::close(fds[1]);
        // The number and a newline arrive once the server accepts clients; EOF if it exited.
        std::string number;
        const auto end = std::chrono::steady_clock::now() + 30s;
        while (number.find('\n') == std::string::npos) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                end - std::chrono::steady_clock::now());
            if (left.count() <= 0) break;
            pollfd p{fds[0], POLLIN, 0};
            const int rc = ::poll(&p, 1, static_cast<int>(left.count()));
            if (rc < 0 && errno != EINTR) break;
            if (rc <= 0) continue;  // interrupted, or the time is up (checked above)
            char buf[32];
            const ssize_t n = ::read(fds[0], buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            number.append(buf, static_cast<std::size_t>(n));
        }
        ::close(fds[0]);
        // append, not ":" + number: GCC 12 warns falsely (-Wrestrict) on the latter.
        if (const auto nl = number.find('\n'); nl != std::string::npos && nl > 0)
            display_.append(":").append(number, 0, nl);
    }
    ~Xvfb() {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    [[nodiscard]] const std::string& display() const { return display_; }

  private:
    pid_t pid_ = -1;
    std::string display_;
};

class WindowModeUnderX : public testing::Test {
  protected:
    static void SetUpTestSuite() {
        xvfb_ = new Xvfb;  // NOLINT: lives for the suite, deleted in TearDownTestSuite
        ::setenv("DISPLAY", xvfb_->display().c_str(), 1);
        ::setenv("SDL_VIDEODRIVER", "x11", 1);
    }
    static void TearDownTestSuite() {
        delete xvfb_;  // NOLINT
        xvfb_ = nullptr;
    }

    void SetUp() override {
        ASSERT_FALSE(xvfb_->display().empty()) << "Xvfb did not report a display within 30 s";
        ASSERT_EQ(SDL_Init(SDL_INIT_VIDEO), 0) << SDL_GetError();
        window_ = SDL_CreateWindow(title_.c_str(), 0, 0, 640, 480, SDL_WINDOW_SHOWN);
        other_ = SDL_CreateWindow(other_title_.c_str(), 700, 0, 200, 200, SDL_WINDOW_SHOWN);
        ASSERT_TRUE(window_ && other_) << SDL_GetError();
        in_ = std::make_unique<WindowInput>(
            WindowInputConfig{},
            [this](std::span<const InputEvent> b) {
                events_.insert(events_.end(), b.begin(), b.end());
            },
            window_);
        in_->set_view({0, 0, 640, 480});
        xdo("windowfocus --sync $(xdotool search --name '^" + title_ + "$' | head -1)");
        ASSERT_TRUE(pump_until([&] { return SDL_GetKeyboardFocus() == window_; }))
            << "the test window never got the keyboard focus";
    }
    void TearDown() override {
        in_.reset();
        if (other_) SDL_DestroyWindow(other_);
        if (window_) SDL_DestroyWindow(window_);
        SDL_Quit();
    }

    static void xdo(const std::string& args) {
        const std::string cmd =
            "DISPLAY=" + xvfb_->display() + " sh -c \"xdotool " + args + "\" >/dev/null 2>&1";
        ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    }
    // Feeds SDL's events to WindowInput until `done` holds or `limit` passes.
    bool pump_until(const std::function<bool()>& done,
                    std::chrono::milliseconds limit = std::chrono::seconds(10)) {
        const auto end = std::chrono::steady_clock::now() + limit;
        while (std::chrono::steady_clock::now() < end) {
            SDL_Event e;
            while (SDL_PollEvent(&e)) {
                if (e.type == SDL_WINDOWEVENT && e.window.windowID != SDL_GetWindowID(window_))
                    continue;
                for (auto a : in_->handle(e))
                    actions_.push_back(a);
            }
            if (done()) return true;
            std::this_thread::sleep_for(5ms);
        }
        return done();
    }
    bool saw(std::uint16_t type, std::uint16_t code, std::int32_t value) const {
        for (const auto& e : events_)
            if (e.type == type && e.code == code && e.value == value) return true;
        return false;
    }
    bool did(WindowAction a) const {
        return std::find(actions_.begin(), actions_.end(), a) != actions_.end();
    }

    static inline Xvfb* xvfb_ = nullptr;
    // Unique names, so that xdotool's searches find only this process's windows.
    const std::string title_ = "porthole-input-test-" + std::to_string(::getpid());
    const std::string other_title_ = "porthole-other-" + std::to_string(::getpid());
    SDL_Window* window_ = nullptr;
    SDL_Window* other_ = nullptr;
    std::unique_ptr<WindowInput> in_;
    std::vector<InputEvent> events_;
    std::vector<WindowAction> actions_;
};

TEST_F(WindowModeUnderX, TypedKeysReachTheGuestAsEvdevCodes) {
    xdo("key --delay 20 a Shift_R+b");
    ASSERT_TRUE(
        pump_until([&] { return saw(EV_KEY, KEY_B, 0) && saw(EV_KEY, KEY_RIGHTSHIFT, 0); }));
    EXPECT_TRUE(saw(EV_KEY, KEY_A, 1));
    EXPECT_TRUE(saw(EV_KEY, KEY_RIGHTSHIFT, 1));
}

// Keys beyond the main block (Japanese, Korean, media, browser and launch
// keys), from the X server's evdev keycodes through SDL: each arrives as its
// evdev code (window mode once dropped all of them).
TEST_F(WindowModeUnderX, JapaneseKoreanAndMediaKeysReachTheGuest) {
    xdo("key --delay 20 Henkan_Mode Muhenkan Hiragana_Katakana Hangul Hangul_Hanja XF86Mail "
        "XF86Calculator XF86AudioNext XF86AudioPlay XF86Back XF86Reload");
    const std::uint16_t want[] = {
        KEY_HENKAN, KEY_MUHENKAN, KEY_KATAKANAHIRAGANA, KEY_HANGEUL, KEY_HANJA,  KEY_MAIL,
        KEY_CALC,   KEY_NEXTSONG, KEY_PLAYPAUSE,        KEY_BACK,    KEY_REFRESH};
    ASSERT_TRUE(pump_until([&] { return saw(EV_KEY, KEY_REFRESH, 0); }));
    for (const auto code : want) {
        EXPECT_TRUE(saw(EV_KEY, code, 1)) << "no press of evdev key " << code;
        EXPECT_TRUE(saw(EV_KEY, code, 0)) << "no release of evdev key " << code;
    }
}

TEST_F(WindowModeUnderX, ScrollLockTogglesCaptureWithAKeyboardGrab) {
    xdo("key Scroll_Lock");
    ASSERT_TRUE(pump_until([&] { return did(WindowAction::capture_on); }));
    EXPECT_TRUE(in_->captured());
    EXPECT_EQ(SDL_GetWindowKeyboardGrab(window_), SDL_TRUE);
    in_->set_guest_cursor_visible(false);  // a game hid its cursor: relative mouse
    EXPECT_EQ(SDL_GetRelativeMouseMode(), SDL_TRUE);
    xdo("key Scroll_Lock");
    ASSERT_TRUE(pump_until([&] { return did(WindowAction::capture_off); }));
    EXPECT_EQ(SDL_GetWindowKeyboardGrab(window_), SDL_FALSE);
    EXPECT_EQ(SDL_GetRelativeMouseMode(), SDL_FALSE);
    for (const auto& e : events_)
        EXPECT_NE(e.code, KEY_SCROLLLOCK) << "the capture key never reaches the guest";
}

TEST_F(WindowModeUnderX, KeybindingsFireOnCaptureKeyPlusKey) {
    xdo("keydown Scroll_Lock key --delay 20 f o p keyup Scroll_Lock");
    ASSERT_TRUE(pump_until([&] { return did(WindowAction::screenshot); }));
    EXPECT_TRUE(did(WindowAction::toggle_fullscreen));
    EXPECT_TRUE(did(WindowAction::toggle_overlay));
    EXPECT_FALSE(did(WindowAction::capture_on));
    for (const auto& e : events_)
        EXPECT_NE(e.type, EV_KEY) << "binding keys stay on the host: " << e.code;
}

TEST_F(WindowModeUnderX, KeysTypedWithScrollLockHeldStayOnTheHost) {
    xdo("keydown Scroll_Lock key --delay 20 q x m keyup Scroll_Lock key a");
    ASSERT_TRUE(pump_until([&] { return saw(EV_KEY, KEY_A, 0); }));
    EXPECT_TRUE(did(WindowAction::quit));
    EXPECT_TRUE(did(WindowAction::cycle_mouse_mode));
    EXPECT_FALSE(did(WindowAction::capture_on));
    for (const auto& e : events_)
        if (e.type == EV_KEY) {
            EXPECT_EQ(e.code, KEY_A) << "only the plain a reaches the guest";
        }
}

TEST_F(WindowModeUnderX, FocusLossReleasesHeldKeysAndButtons) {
    xdo("mousemove --sync 320 240 keydown Control_L mousedown 1");
    ASSERT_TRUE(
        pump_until([&] { return saw(EV_KEY, BTN_LEFT, 1) && saw(EV_KEY, KEY_LEFTCTRL, 1); }));
    EXPECT_TRUE(saw(EV_ABS, ABS_X, 16384) || saw(EV_ABS, ABS_X, 16409))
        << "pointer at the window's centre";
    xdo("windowfocus --sync $(xdotool search --name '^" + other_title_ + "$' | head -1)");
    ASSERT_TRUE(pump_until([&] { return saw(EV_KEY, KEY_LEFTCTRL, 0); }));
    EXPECT_TRUE(saw(EV_KEY, BTN_LEFT, 0));
    EXPECT_TRUE(in_->guest_held().none());
    xdo("mouseup 1 keyup Control_L");
}

// Keys by X keycode (evdev code + 8), whether SDL has a scancode for them or
// not: each arrives once as its evdev code. SDL 2 drops the keys it has no
// scancode for (KEY_WAKEUP among them); those come from the native event.
TEST_F(WindowModeUnderX, KeysByNativeCodeReachTheGuestOnceEachKnownToSdlOrNot) {
    const std::uint16_t want[] = {KEY_HENKAN, KEY_MUHENKAN, KEY_KATAKANAHIRAGANA,
                                  KEY_CALC,   KEY_MAIL,     KEY_SLEEP,
                                  KEY_WAKEUP, KEY_NEXTSONG, KEY_A};
    std::string keys = "key --delay 20";
    for (const auto code : want)
        keys.append(" ").append(std::to_string(code + 8));  // not " " + ...: GCC 12 -Wrestrict
    xdo(keys);
    ASSERT_TRUE(pump_until([&] { return saw(EV_KEY, KEY_A, 0); }));
    for (const auto code : want) {
        int presses = 0, releases = 0;
        for (const auto& e : events_) {
            presses += e.type == EV_KEY && e.code == code && e.value == 1;
            releases += e.type == EV_KEY && e.code == code && e.value == 0;
        }
        EXPECT_EQ(presses, 1) << "evdev key " << code;
        EXPECT_EQ(releases, 1) << "evdev key " << code;
    }
    EXPECT_TRUE(in_->guest_held().none());
}

// The core's rules (input/router.hpp) for the window, one test a rule, with
// real X key events: the window is a source of that core, not a copy of it.

// Switch only with no key held: capture waits for a held key, whose release
// reaches the guest; the keyboard grab starts only then.
TEST_F(WindowModeUnderX, CaptureWaitsForAHeldKeyWhoseReleaseReachesTheGuest) {
    xdo("keydown a key Scroll_Lock");
    ASSERT_TRUE(pump_until([&] { return saw(EV_KEY, KEY_A, 1) && !in_->capture_key_held(); }));
    pump_until([] { return false; }, 200ms);  // anything SDL still has
    EXPECT_FALSE(in_->captured()) << "a is held: no switch yet";
    EXPECT_EQ(SDL_GetWindowKeyboardGrab(window_), SDL_FALSE);
    xdo("keyup a");
    ASSERT_TRUE(pump_until([&] { return did(WindowAction::capture_on); }));
    EXPECT_TRUE(saw(EV_KEY, KEY_A, 0));
    EXPECT_EQ(SDL_GetWindowKeyboardGrab(window_), SDL_TRUE);
    EXPECT_TRUE(in_->guest_held().none());
}

// Focus loss releases what the guest holds and ends capture, even while a
// switch waits (SDL sends key-ups for held keys as the focus goes, so the
// waiting capture may start and end at once: what counts is where it ends).
TEST_F(WindowModeUnderX, FocusLossWhileACaptureWaitsEndsUncapturedWithNothingHeld) {
    xdo("keydown Control_L key Scroll_Lock");
    ASSERT_TRUE(
        pump_until([&] { return saw(EV_KEY, KEY_LEFTCTRL, 1) && !in_->capture_key_held(); }));
    EXPECT_FALSE(in_->captured());
    xdo("windowfocus --sync $(xdotool search --name '^" + other_title_ + "$' | head -1)");
    ASSERT_TRUE(pump_until([&] { return saw(EV_KEY, KEY_LEFTCTRL, 0); }));
    xdo("keyup Control_L");
    pump_until([] { return false; }, 200ms);
    EXPECT_FALSE(in_->captured());
    EXPECT_EQ(SDL_GetWindowKeyboardGrab(window_), SDL_FALSE);
    EXPECT_EQ(SDL_GetRelativeMouseMode(), SDL_FALSE);
    EXPECT_TRUE(in_->guest_held().none());
}

// A binding key never reaches the guest: not its press, not its release
// after the capture key's; the help panel shows while the capture key is down.
TEST_F(WindowModeUnderX, BindingKeyReleasedAfterTheCaptureKeyStaysOnTheHost) {
    xdo("keydown Scroll_Lock keydown o");
    ASSERT_TRUE(pump_until([&] { return did(WindowAction::toggle_overlay); }));
    EXPECT_TRUE(in_->capture_key_held()) << "the help panel's hold";
    xdo("keyup Scroll_Lock keyup o key b");
    ASSERT_TRUE(pump_until([&] { return saw(EV_KEY, KEY_B, 0); }));
    EXPECT_FALSE(in_->capture_key_held());
    EXPECT_FALSE(did(WindowAction::capture_on)) << "a combination is not a toggle";
    for (const auto& e : events_)
        if (e.type == EV_KEY) {
            EXPECT_EQ(e.code, KEY_B) << "only the plain b reaches the guest";
        }
}

// Release input (capture key + R) releases a key the guest holds, once, and ends the grab.
TEST_F(WindowModeUnderX, ReleaseInputBindingReleasesAHeldKeyAndEndsTheGrab) {
    xdo("key Scroll_Lock");
    ASSERT_TRUE(pump_until([&] { return did(WindowAction::capture_on); }));
    xdo("keydown w keydown Scroll_Lock key r keyup Scroll_Lock");
    ASSERT_TRUE(
        pump_until([&] { return did(WindowAction::release_input) && !in_->capture_key_held(); }));
    EXPECT_TRUE(saw(EV_KEY, KEY_W, 0));
    EXPECT_FALSE(in_->captured());
    EXPECT_EQ(SDL_GetWindowKeyboardGrab(window_), SDL_FALSE);
    xdo("keyup w key c");
    ASSERT_TRUE(pump_until([&] { return saw(EV_KEY, KEY_C, 0); }));
    int w_releases = 0;
    for (const auto& e : events_)
        w_releases += e.type == EV_KEY && e.code == KEY_W && e.value == 0;
    EXPECT_EQ(w_releases, 1) << "the late release is not sent again";
}

// Ctrl+Alt+Del (capture key + Delete) reaches the guest as the whole chord, released.
TEST_F(WindowModeUnderX, CtrlAltDelBindingReachesTheGuestAsAReleasedChord) {
    xdo("keydown Scroll_Lock key Delete keyup Scroll_Lock");
    ASSERT_TRUE(pump_until([&] { return saw(EV_KEY, KEY_LEFTCTRL, 0); }));
    for (const int c : {KEY_LEFTCTRL, KEY_LEFTALT, KEY_DELETE}) {
        const auto code = static_cast<std::uint16_t>(c);
        EXPECT_TRUE(saw(EV_KEY, code, 1)) << c;
        EXPECT_TRUE(saw(EV_KEY, code, 0)) << c;
    }
    EXPECT_TRUE(in_->guest_held().none());
}

// Whether the X server shows a pointer image with any visible pixel now
// (XFixes: the cursor as drawn, whoever set it).
bool pointer_image_visible(SDL_Window* w) {
    SDL_SysWMinfo info;
    SDL_VERSION(&info.version);
    if (SDL_GetWindowWMInfo(w, &info) != SDL_TRUE || info.subsystem != SDL_SYSWM_X11) {
        ADD_FAILURE() << "no X11 window: " << SDL_GetError();
        return false;
    }
    Display* d = info.info.x11.display;
    XSync(d, False);
    XFixesCursorImage* img = XFixesGetCursorImage(d);
    if (img == nullptr) {
        ADD_FAILURE() << "XFixesGetCursorImage failed";
        return false;
    }
    bool any = false;
    for (std::size_t i = 0; i < std::size_t{img->width} * img->height; ++i)
        any = any || (img->pixels[i] >> 24) != 0;
    XFree(img);
    return any;
}

// --hide-cursor: while the client draws the guest's cursor, the host pointer
// over the window is blank (one cursor seen, not two); it comes back when
// the guest hides its cursor, and stays without the option.
TEST_F(WindowModeUnderX, HideCursorBlanksTheHostPointerOverTheWindowWhileTheGuestCursorShows) {
    xdo("mousemove --sync 100 100");
    EXPECT_EQ(SDL_ShowCursor(SDL_QUERY), SDL_ENABLE);
    EXPECT_TRUE(pointer_image_visible(window_)) << "without --hide-cursor the pointer shows";
    in_.reset();
    WindowInputConfig c;
    c.hide_host_cursor = true;
    in_ = std::make_unique<WindowInput>(
        c, [](std::span<const InputEvent>) {}, window_);
    EXPECT_EQ(SDL_ShowCursor(SDL_QUERY), SDL_DISABLE);
    EXPECT_FALSE(pointer_image_visible(window_)) << "hidden from the start";
    in_->set_guest_cursor_visible(false);  // the guest hides its own: the host's is the only one
    EXPECT_TRUE(pointer_image_visible(window_));
    in_->set_guest_cursor_visible(true);
    EXPECT_FALSE(pointer_image_visible(window_));
    EXPECT_FALSE(in_->captured()) << "all of it without capture";
}

}  // namespace
}  // namespace porthole::client::input
