#include "input/window_input.hpp"

#include <gtest/gtest.h>
#include <linux/input-event-codes.h>

#include <set>
#include <vector>

#include "porthole/protocol/input_ring.hpp"
#include "porthole/protocol/keymap.hpp"

namespace porthole::client::input {
namespace {

using protocol::InputEvent;

struct Rig {
    std::vector<std::vector<InputEvent>> batches;
    WindowInput in{WindowInputConfig{}, [this](std::span<const InputEvent> b) {
                       batches.emplace_back(b.begin(), b.end());
                   }};

    std::vector<WindowAction> key(SDL_Scancode s, bool down, bool repeat = false) {
        SDL_Event e{};
        e.type = down ? SDL_KEYDOWN : SDL_KEYUP;
        e.key.state = down ? SDL_PRESSED : SDL_RELEASED;
        e.key.repeat = repeat ? 1 : 0;
        e.key.keysym.scancode = s;
        return in.handle(e);
    }
    std::vector<WindowAction> tap(SDL_Scancode s) {
        auto a = key(s, true);
        auto b = key(s, false);
        a.insert(a.end(), b.begin(), b.end());
        return a;
    }
    std::vector<WindowAction> window(SDL_WindowEventID id) {
        SDL_Event e{};
        e.type = SDL_WINDOWEVENT;
        e.window.event = static_cast<Uint8>(id);
        return in.handle(e);
    }
    void motion(int x, int y, int xrel, int yrel) {
        SDL_Event e{};
        e.type = SDL_MOUSEMOTION;
        e.motion.x = x;
        e.motion.y = y;
        e.motion.xrel = xrel;
        e.motion.yrel = yrel;
        in.handle(e);
    }
    void button(std::uint8_t b, bool down) {
        SDL_Event e{};
        e.type = down ? SDL_MOUSEBUTTONDOWN : SDL_MOUSEBUTTONUP;
        e.button.button = b;
        in.handle(e);
    }
    bool saw(std::uint16_t type, std::uint16_t code, std::int32_t value) const {
        for (const auto& b : batches)
            for (const auto& e : b)
                if (e.type == type && e.code == code && e.value == value) return true;
        return false;
    }
};

// The rules (bindings, switches, releases) are the core's and tested once in
// router_test.cpp; here what the window adds: SDL events to the core's
// events, capture as the owner, the mouse modes. window_xvfb_test.cpp pins
// each rule for the window with a real SDL window.
TEST(WindowInput, KeysReachTheGuestAsEvdevCodesOneBatchPerEvent) {
    Rig r;
    r.key(SDL_SCANCODE_A, true);
    r.key(SDL_SCANCODE_A, true, true);
    r.key(SDL_SCANCODE_A, false);
    ASSERT_EQ(r.batches.size(), 3U);
    EXPECT_EQ(r.batches[0][0].code, KEY_A);
    EXPECT_EQ(r.batches[1][0].value, 2);
    EXPECT_EQ(r.batches[2][0].value, 0);
    EXPECT_EQ(r.batches[2][1].type, EV_SYN);
}

TEST(WindowInput, CaptureKeyTogglesCaptureAndNeverReachesTheGuest) {
    Rig r;
    EXPECT_EQ(r.tap(SDL_SCANCODE_SCROLLLOCK), std::vector{WindowAction::capture_on});
    EXPECT_TRUE(r.in.captured());
    EXPECT_EQ(r.tap(SDL_SCANCODE_SCROLLLOCK), std::vector{WindowAction::capture_off});
    EXPECT_FALSE(r.in.captured());
    EXPECT_TRUE(r.batches.empty());
}

TEST(WindowInput, MouseModeBindingCyclesAutoAbsoluteRelative) {
    Rig r;
    r.tap(SDL_SCANCODE_SCROLLLOCK);  // captured, guest cursor visible: absolute in auto
    EXPECT_FALSE(r.in.relative());
    r.key(SDL_SCANCODE_SCROLLLOCK, true);
    EXPECT_EQ(r.tap(SDL_SCANCODE_M), std::vector{WindowAction::cycle_mouse_mode});
    EXPECT_EQ(r.in.mouse_mode(), MouseMode::absolute);
    r.tap(SDL_SCANCODE_M);
    EXPECT_EQ(r.in.mouse_mode(), MouseMode::relative);
    EXPECT_TRUE(r.in.relative());
    r.tap(SDL_SCANCODE_M);
    EXPECT_EQ(r.in.mouse_mode(), MouseMode::automatic);
    r.key(SDL_SCANCODE_SCROLLLOCK, false);
    EXPECT_TRUE(r.in.captured()) << "still captured: the combination did not toggle";
    EXPECT_TRUE(r.batches.empty());
}

// evdev or no input with a window: the bindings act, nothing else leaves.
TEST(WindowInput, BindingsOnlyModeKeepsKeysAndMouseOnTheHost) {
    std::vector<std::vector<InputEvent>> batches;
    WindowInputConfig c;
    c.to_guest = false;
    WindowInput in{
        c, [&](std::span<const InputEvent> b) { batches.emplace_back(b.begin(), b.end()); }};
    const auto key = [&](SDL_Scancode s, bool down) {
        SDL_Event e{};
        e.type = down ? SDL_KEYDOWN : SDL_KEYUP;
        e.key.state = down ? SDL_PRESSED : SDL_RELEASED;
        e.key.keysym.scancode = s;
        return in.handle(e);
    };
    key(SDL_SCANCODE_A, true);
    key(SDL_SCANCODE_A, false);
    EXPECT_TRUE(key(SDL_SCANCODE_SCROLLLOCK, true).empty());
    EXPECT_TRUE(key(SDL_SCANCODE_SCROLLLOCK, false).empty()) << "no capture to toggle";
    EXPECT_FALSE(in.captured());
    SDL_Event m{};
    m.type = SDL_MOUSEBUTTONDOWN;
    m.button.button = SDL_BUTTON_LEFT;
    in.handle(m);
    EXPECT_TRUE(batches.empty());
    key(SDL_SCANCODE_SCROLLLOCK, true);
    EXPECT_EQ(key(SDL_SCANCODE_O, true), std::vector{WindowAction::toggle_overlay});
}

TEST(WindowInput, FocusLossReleasesEveryKeyAndButtonAndEndsCapture) {
    Rig r;
    r.tap(SDL_SCANCODE_SCROLLLOCK);
    r.key(SDL_SCANCODE_LALT, true);
    r.button(SDL_BUTTON_RIGHT, true);
    EXPECT_EQ(r.window(SDL_WINDOWEVENT_FOCUS_LOST), std::vector{WindowAction::capture_off});
    EXPECT_TRUE(r.saw(EV_KEY, KEY_LEFTALT, 0));
    EXPECT_TRUE(r.saw(EV_KEY, BTN_RIGHT, 0));
    EXPECT_TRUE(r.in.guest_held().none());
    const auto n = r.batches.size();
    r.key(SDL_SCANCODE_LALT, false);  // arrives after focus returns elsewhere: nothing to send
    r.window(SDL_WINDOWEVENT_FOCUS_GAINED);
    r.key(SDL_SCANCODE_LALT, false);
    EXPECT_EQ(r.batches.size(), n);
}

TEST(WindowInput, AbsoluteMouseMapsTheGuestViewOntoTheProtocolRange) {
    Rig r;
    r.in.set_view({100, 0, 801, 601});  // letterboxed: 100 px bars left and right
    r.motion(100, 0, 0, 0);
    r.motion(900, 600, 0, 0);
    r.motion(50, 300, 0, 0);  // on the bar: clamped to the edge
    ASSERT_EQ(r.batches.size(), 3U);
    EXPECT_EQ(r.batches[0][0].value, 0);
    EXPECT_EQ(r.batches[1][0].value, 32767);
    EXPECT_EQ(r.batches[1][1].value, 32767);
    EXPECT_EQ(r.batches[2][0].value, 0);
    EXPECT_EQ(r.batches[2][0].type, EV_ABS);
}

TEST(WindowInput, HiddenGuestCursorMakesCapturedMouseRelative) {
    Rig r;
    r.tap(SDL_SCANCODE_SCROLLLOCK);
    EXPECT_FALSE(r.in.relative()) << "visible guest cursor: absolute";
    r.in.set_guest_cursor_visible(false);
    EXPECT_TRUE(r.in.relative());
    r.motion(5, 5, 3, -2);
    EXPECT_TRUE(r.saw(EV_REL, REL_X, 3));
    EXPECT_TRUE(r.saw(EV_REL, REL_Y, -2));
    r.in.set_mouse_mode(MouseMode::absolute);  // the user's override wins
    EXPECT_FALSE(r.in.relative());
}

TEST(WindowInput, WheelKeepsHighResolution) {
    Rig r;
    SDL_Event e{};
    e.type = SDL_MOUSEWHEEL;
    e.wheel.y = 0;
    e.wheel.preciseY = 0.25F;
    e.wheel.direction = SDL_MOUSEWHEEL_NORMAL;
    r.in.handle(e);
    EXPECT_TRUE(r.saw(EV_REL, REL_WHEEL_HI_RES, 30));
    EXPECT_FALSE(r.saw(EV_REL, REL_WHEEL, 0));
}

TEST(WindowInput, ScancodeTableCoversTheKeyboard) {
    EXPECT_EQ(sdl_to_evdev(SDL_SCANCODE_Q), KEY_Q);
    EXPECT_EQ(sdl_to_evdev(SDL_SCANCODE_0), KEY_0);
    EXPECT_EQ(sdl_to_evdev(SDL_SCANCODE_KP_0), KEY_KP0);
    EXPECT_EQ(sdl_to_evdev(SDL_SCANCODE_F12), KEY_F12);
    EXPECT_EQ(sdl_to_evdev(SDL_SCANCODE_F13), KEY_F13);
    EXPECT_EQ(sdl_to_evdev(SDL_SCANCODE_RGUI), KEY_RIGHTMETA);
    EXPECT_EQ(sdl_to_evdev(SDL_SCANCODE_PRINTSCREEN), KEY_SYSRQ);
    int mapped = 0;
    for (int s = SDL_SCANCODE_A; s <= SDL_SCANCODE_RGUI; ++s)
        mapped += sdl_to_evdev(static_cast<SDL_Scancode>(s)) != 0;
    EXPECT_GE(mapped, 120);
}

// Window mode reaches every key the evdev path sends: each key of the shared
// keymap comes from some SDL scancode. The one exception is KEY_WAKEUP, for
// which SDL 2 has no scancode (under X11 it comes by its native code:
// window_xvfb_test.cpp).
TEST(WindowInput, EveryKeyOfTheKeymapHasAnSdlScancode) {
    std::set<std::uint16_t> reachable;
    for (int s = 0; s < SDL_NUM_SCANCODES; ++s)
        reachable.insert(sdl_to_evdev(static_cast<SDL_Scancode>(s)));
    for (const auto& m : protocol::key_mappings()) {
        if (m.evdev == KEY_WAKEUP) continue;
        EXPECT_TRUE(reachable.count(m.evdev)) << "no SDL scancode gives evdev key " << m.evdev;
    }
    // Spot checks against the USB HID usage tables (SDL scancodes are HID usages).
    EXPECT_EQ(sdl_to_evdev(SDL_SCANCODE_INTERNATIONAL4), KEY_HENKAN);     // 0x8A
    EXPECT_EQ(sdl_to_evdev(SDL_SCANCODE_INTERNATIONAL5), KEY_MUHENKAN);   // 0x8B
    EXPECT_EQ(sdl_to_evdev(SDL_SCANCODE_LANG5), KEY_ZENKAKUHANKAKU);      // 0x94
    EXPECT_EQ(sdl_to_evdev(SDL_SCANCODE_KP_PLUSMINUS), KEY_KPPLUSMINUS);  // 0xD7
}

}  // namespace
// --mouse-sensitivity: (10 + N) / 10 in whole counts, the rest carried.
TEST(MotionScaler, ScalesByTenthsAndCarriesTheRemainder) {
    MotionScaler half(-5);  // 0.5
    EXPECT_EQ(half.scale(1), 0) << "half a count is carried, not sent";
    EXPECT_EQ(half.scale(1), 1) << "the carried half makes a whole one";
    EXPECT_EQ(half.scale(7), 3);  // 3.5: 3 sent, 0.5 carried
    EXPECT_EQ(half.scale(1), 1);  // 0.5 + 0.5
    MotionScaler fast(3);         // 1.3
    EXPECT_EQ(fast.scale(10), 13);
    std::int32_t sum = 0;
    for (int i = 0; i < 10; ++i)
        sum += fast.scale(1);
    EXPECT_EQ(sum, 13) << "ten slow steps of 1.3 add up to 13, none lost";
    MotionScaler slowest(-9);  // 0.1
    sum = 0;
    for (int i = 0; i < 25; ++i)
        sum += slowest.scale(1);
    EXPECT_EQ(sum, 2) << "25 single counts at a tenth: 2, with 0.5 still carried";
    EXPECT_EQ(MotionScaler(9).scale(-10), -19);
    EXPECT_EQ(MotionScaler(0).scale(-7), -7);
}

TEST(MotionScaler, MotionBackTheOtherWayUsesUpTheCarryFirst) {
    MotionScaler half(-5);
    EXPECT_EQ(half.scale(1), 0);   // +0.5 carried
    EXPECT_EQ(half.scale(-1), 0);  // back to 0: no count either way
    EXPECT_EQ(half.scale(-1), 0);  // -0.5 carried
    EXPECT_EQ(half.scale(-1), -1);
    EXPECT_EQ(half.scale(-3), -1);  // -1.5: -1 sent, -0.5 carried
    EXPECT_EQ(half.scale(-1), -1);
}

TEST(MotionScaler, OutOfRangeSensitivityIsClamped) {
    EXPECT_EQ(MotionScaler(50).scale(10), 19);
    EXPECT_EQ(MotionScaler(-50).scale(10), 1);
}

// Relative motion through WindowInput at sensitivity -5: what reaches the
// guest is exactly half, slow single-count motion included.
TEST(WindowInput, MouseSensitivityScalesCapturedRelativeMotionWithoutLosingSlowMotion) {
    std::vector<std::vector<InputEvent>> batches;
    WindowInputConfig c;
    c.mouse = MouseMode::relative;
    c.mouse_sensitivity = -5;
    WindowInput in{
        c, [&](std::span<const InputEvent> b) { batches.emplace_back(b.begin(), b.end()); }};
    in.set_captured(true);
    ASSERT_TRUE(in.relative());
    const auto motion = [&](int xrel, int yrel) {
        SDL_Event e{};
        e.type = SDL_MOUSEMOTION;
        e.motion.xrel = xrel;
        e.motion.yrel = yrel;
        in.handle(e);
    };
    std::int32_t x = 0, y = 0;
    const auto sum = [&] {
        x = y = 0;
        for (const auto& b : batches) {
            for (const auto& e : b) {
                if (e.type == EV_REL && e.code == REL_X) x += e.value;
                if (e.type == EV_REL && e.code == REL_Y) y += e.value;
                EXPECT_FALSE(e.type == EV_REL && e.value == 0) << "no empty motion is sent";
            }
        }
    };
    for (int i = 0; i < 6; ++i)
        motion(1, -1);
    sum();
    EXPECT_EQ(x, 3);
    EXPECT_EQ(y, -3);
    EXPECT_EQ(batches.size(), 3U) << "every other single count makes a whole one";
    motion(10, 4);
    sum();
    EXPECT_EQ(x, 8);
    EXPECT_EQ(y, -1);
}

TEST(WindowInput, MouseSensitivityLeavesAbsoluteMotionAlone) {
    std::vector<std::vector<InputEvent>> batches;
    WindowInputConfig c;
    c.mouse = MouseMode::absolute;
    c.mouse_sensitivity = -9;
    WindowInput in{
        c, [&](std::span<const InputEvent> b) { batches.emplace_back(b.begin(), b.end()); }};
    in.set_view({0, 0, 101, 101});
    SDL_Event e{};
    e.type = SDL_MOUSEMOTION;
    e.motion.x = 50;
    e.motion.y = 100;
    in.handle(e);
    ASSERT_EQ(batches.size(), 1U);
    EXPECT_EQ(batches[0][0].value, 16384);  // 32767 / 2 rounded: unscaled
    EXPECT_EQ(batches[0][1].value, protocol::ev::abs_max);
}

}  // namespace porthole::client::input
