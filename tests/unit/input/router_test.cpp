#include "input/router.hpp"

#include <gtest/gtest.h>
#include <linux/input-event-codes.h>

#include <algorithm>
#include <vector>

namespace porthole::client::input {
namespace {

using protocol::InputEvent;

struct Rig {
    std::vector<std::vector<InputEvent>> batches;
    std::vector<Owner> changes;
    InputRouter router;
    explicit Rig(const char* hotkey = "ctrl-ctrl", Owner initial = Owner::host,
                 RouterOptions options = {})
        : router(
              *parse_hotkey(hotkey),
              [this](std::span<const InputEvent> b) { batches.emplace_back(b.begin(), b.end()); },
              initial, options) {
        router.on_owner_change([this](Owner o) { changes.push_back(o); });
    }
    void key(std::uint16_t code, int value, DeviceId dev = 1) {
        router.feed(dev, {0, EV_KEY, code, value, 0});
        router.feed(dev, {0, EV_SYN, SYN_REPORT, 0, 0});
    }
    void tap(std::uint16_t code, DeviceId dev = 1) {
        key(code, 1, dev);
        key(code, 0, dev);
    }
    // What the guest holds after replaying every batch.
    std::vector<std::uint16_t> guest_down() const {
        std::vector<int> state(kKeyCount, 0);
        for (const auto& b : batches)
            for (const auto& e : b)
                if (e.type == EV_KEY) state[e.code] = e.value ? 1 : 0;
        std::vector<std::uint16_t> out;
        for (std::size_t c = 0; c < kKeyCount; ++c)
            if (state[c]) out.push_back(static_cast<std::uint16_t>(c));
        return out;
    }
    // Every release the guest got matches an earlier press.
    bool guest_stream_balanced() const {
        std::vector<int> state(kKeyCount, 0);
        for (const auto& b : batches)
            for (const auto& e : b) {
                if (e.type != EV_KEY) continue;
                if (e.value == 0 && !state[e.code]) return false;
                if (e.value == 2 && !state[e.code]) return false;
                if (e.value == 1 && state[e.code]) return false;
                state[e.code] = e.value ? 1 : 0;
            }
        return true;
    }
    // One mouse report: REL_X and REL_Y in one SYN_REPORT.
    void move(std::int32_t dx, std::int32_t dy, DeviceId dev = 2) {
        router.feed(dev, {0, EV_REL, REL_X, dx, 0});
        router.feed(dev, {0, EV_REL, REL_Y, dy, 0});
        router.feed(dev, {0, EV_SYN, SYN_REPORT, 0, 0});
    }
    // Sum of the guest's relative motion on `code`.
    std::int64_t guest_rel(std::uint16_t code) const {
        std::int64_t sum = 0;
        for (const auto& b : batches)
            for (const auto& e : b)
                if (e.type == EV_REL && e.code == code) sum += e.value;
        return sum;
    }
    void switch_to_guest() {
        key(KEY_LEFTCTRL, 1);
        key(KEY_RIGHTCTRL, 1);
        key(KEY_RIGHTCTRL, 0);
        key(KEY_LEFTCTRL, 0);
    }
};

TEST(InputRouter, HostOwnsAtStartAndNothingReachesTheGuest) {
    Rig r;
    r.tap(KEY_A);
    r.router.feed(1, {0, EV_REL, REL_X, 5, 0});
    r.router.feed(1, {0, EV_SYN, SYN_REPORT, 0, 0});
    EXPECT_EQ(r.router.owner(), Owner::host);
    EXPECT_TRUE(r.batches.empty());
}

TEST(InputRouter, BothCtrlKeysSwitchOwnerOnceReleased) {
    Rig r;
    r.key(KEY_LEFTCTRL, 1);
    r.key(KEY_RIGHTCTRL, 1);
    EXPECT_EQ(r.router.owner(), Owner::host) << "no switch while keys are held";
    EXPECT_EQ(r.router.pending(), Owner::guest);
    r.key(KEY_RIGHTCTRL, 0);
    EXPECT_EQ(r.router.owner(), Owner::host);
    r.key(KEY_LEFTCTRL, 0);
    EXPECT_EQ(r.router.owner(), Owner::guest);
    EXPECT_EQ(r.changes, std::vector<Owner>{Owner::guest});
    EXPECT_TRUE(r.batches.empty()) << "the guest never sees the hotkey that gave it input";
}

TEST(InputRouter, GuestGetsOneBatchPerSynReport) {
    Rig r;
    r.switch_to_guest();
    r.router.feed(1, {0, EV_REL, REL_X, 3, 0});
    r.router.feed(1, {0, EV_REL, REL_Y, -2, 0});
    r.router.feed(1, {0, EV_REL, REL_WHEEL_HI_RES, 60, 0});
    r.router.feed(1, {0, EV_SYN, SYN_REPORT, 0, 0});
    ASSERT_EQ(r.batches.size(), 1U);
    ASSERT_EQ(r.batches[0].size(), 4U);
    EXPECT_EQ(r.batches[0][2].code, REL_WHEEL_HI_RES) << "high-resolution wheel events are kept";
    EXPECT_EQ(r.batches[0][3].type, EV_SYN);
}

TEST(InputRouter, SwitchBackReleasesNothingStuckAndGuestSeesBalancedKeys) {
    Rig r;
    r.switch_to_guest();
    r.key(KEY_A, 1);
    r.key(KEY_A, 2);
    r.key(KEY_A, 0);
    // ctrl-ctrl while the guest owns: left ctrl reaches it, the trigger does not.
    r.key(KEY_LEFTCTRL, 1);
    r.key(KEY_RIGHTCTRL, 1);
    r.key(KEY_LEFTCTRL, 0);
    EXPECT_EQ(r.router.owner(), Owner::guest);
    r.key(KEY_RIGHTCTRL, 0);
    EXPECT_EQ(r.router.owner(), Owner::host);
    EXPECT_TRUE(r.guest_down().empty());
    EXPECT_TRUE(r.guest_stream_balanced());
}

TEST(InputRouter, SwitchWaitsWhileAnyKeyOrButtonIsHeldOnAnyDevice) {
    Rig r;
    r.key(BTN_LEFT, 1, 2);  // mouse button held on the mouse
    r.key(KEY_LEFTCTRL, 1);
    r.key(KEY_RIGHTCTRL, 1);
    r.key(KEY_RIGHTCTRL, 0);
    r.key(KEY_LEFTCTRL, 0);
    EXPECT_EQ(r.router.owner(), Owner::host);
    r.key(BTN_LEFT, 0, 2);
    EXPECT_EQ(r.router.owner(), Owner::guest);
    EXPECT_TRUE(r.batches.empty()) << "the button's release belonged to the host";
}

TEST(InputRouter, KeyPressedBeforeSwitchIsNeverReleasedOnTheGuest) {
    Rig r;
    r.key(KEY_B, 1);  // seen by the host
    r.router.request_switch(Owner::guest);
    EXPECT_EQ(r.router.owner(), Owner::host);
    r.key(KEY_B, 0);
    EXPECT_EQ(r.router.owner(), Owner::guest);
    r.key(KEY_B, 2);  // a stray repeat must not leak either
    EXPECT_TRUE(r.batches.empty());
}

TEST(InputRouter, ForcedReleaseGivesTheGuestKeyUpsForEverythingItHolds) {
    Rig r;
    r.switch_to_guest();
    r.key(KEY_W, 1);
    r.key(KEY_LEFTSHIFT, 1);
    r.router.feed(2, {0, EV_KEY, BTN_RIGHT, 1, 0});
    r.router.feed(2, {0, EV_SYN, SYN_REPORT, 0, 0});
    r.router.force_host();
    EXPECT_EQ(r.router.owner(), Owner::host);
    EXPECT_TRUE(r.guest_down().empty());
    EXPECT_TRUE(r.guest_stream_balanced());
    const auto before = r.batches.size();
    r.key(KEY_W, 0);  // the physical release arrives later: the guest is done with it
    EXPECT_EQ(r.batches.size(), before);
}

TEST(InputRouter, UnpluggedDeviceReleasesItsKeysOnTheGuest) {
    Rig r;
    r.switch_to_guest();
    r.key(KEY_D, 1, 3);
    r.router.device_gone(3);
    EXPECT_TRUE(r.guest_down().empty());
    EXPECT_TRUE(r.guest_stream_balanced());
    EXPECT_EQ(r.router.owner(), Owner::guest);
}

TEST(InputRouter, SameKeyOnTwoKeyboardsStaysDownUntilBothRelease) {
    Rig r;
    r.switch_to_guest();
    r.key(KEY_LEFTSHIFT, 1, 1);
    r.key(KEY_LEFTSHIFT, 1, 2);
    r.key(KEY_LEFTSHIFT, 0, 1);
    EXPECT_EQ(r.guest_down(), std::vector<std::uint16_t>{KEY_LEFTSHIFT});
    r.key(KEY_LEFTSHIFT, 0, 2);
    EXPECT_TRUE(r.guest_down().empty());
    EXPECT_TRUE(r.guest_stream_balanced());
}

TEST(InputRouter, ScrollLockHotkeyNeverReachesTheGuest) {
    Rig r("scrolllock");
    r.tap(KEY_SCROLLLOCK);
    EXPECT_EQ(r.router.owner(), Owner::guest);
    r.tap(KEY_A);
    r.tap(KEY_SCROLLLOCK);
    EXPECT_EQ(r.router.owner(), Owner::host);
    for (const auto& b : r.batches)
        for (const auto& e : b)
            EXPECT_NE(e.code, KEY_SCROLLLOCK);
    EXPECT_TRUE(r.guest_stream_balanced());
}

TEST(InputRouter, CtrlScrollLockAcceptsEitherCtrl) {
    Rig r("ctrl-scrolllock");
    r.key(KEY_RIGHTCTRL, 1);
    r.tap(KEY_SCROLLLOCK);
    r.key(KEY_RIGHTCTRL, 0);
    EXPECT_EQ(r.router.owner(), Owner::guest);
}

TEST(InputRouter, CustomCombinationByEvdevNames) {
    Rig r("KEY_LEFTALT+KEY_F12");
    r.key(KEY_LEFTALT, 1);
    r.tap(KEY_F12);
    r.key(KEY_LEFTALT, 0);
    EXPECT_EQ(r.router.owner(), Owner::guest);
}

TEST(InputRouter, GuestLockLedsFollowItsOwnLockKeys) {
    Rig r;
    r.switch_to_guest();
    r.tap(KEY_CAPSLOCK);
    EXPECT_EQ(r.router.guest_leds(), kLedCaps);
    r.tap(KEY_NUMLOCK);
    r.tap(KEY_CAPSLOCK);
    EXPECT_EQ(r.router.guest_leds(), kLedNum);
}

TEST(InputRouter, RandomStreamsNeverLeaveTheGuestHoldingKeys) {
    // Property: whatever the user does, once everything is released and
    // input is back on the host, the guest holds nothing and saw no orphan.
    std::uint32_t seed = 12345;
    auto rnd = [&seed](std::uint32_t n) {
        seed = seed * 1664525U + 1013904223U;
        return (seed >> 16) % n;
    };
    const std::uint16_t keys[] = {KEY_LEFTCTRL, KEY_RIGHTCTRL, KEY_A,
                                  KEY_B,        BTN_LEFT,      KEY_LEFTSHIFT};
    for (int round = 0; round < 200; ++round) {
        Rig r;
        std::vector<std::pair<DeviceId, std::uint16_t>> held;
        for (int i = 0; i < 60; ++i) {
            const DeviceId dev = 1 + rnd(2);
            const std::uint16_t k = keys[rnd(6)];
            const bool is_held =
                std::find(held.begin(), held.end(), std::pair{dev, k}) != held.end();
            if (is_held && rnd(4) == 0) {
                r.key(k, 2, dev);  // auto-repeat
            } else if (is_held) {
                r.key(k, 0, dev);
                std::erase(held, std::pair{dev, k});
            } else {
                r.key(k, 1, dev);
                held.emplace_back(dev, k);
            }
            if (rnd(20) == 0) r.router.request_switch(other(r.router.owner()));
            if (rnd(50) == 0) {
                r.router.device_gone(dev);
                std::erase_if(held, [dev](const auto& p) { return p.first == dev; });
            }
        }
        for (auto [dev, k] : held)
            r.key(k, 0, dev);
        r.router.request_switch(Owner::host);
        ASSERT_EQ(r.router.owner(), Owner::host);
        ASSERT_TRUE(r.guest_down().empty()) << "round " << round;
        ASSERT_TRUE(r.guest_stream_balanced()) << "round " << round;
    }
}

// --mouse-sensitivity in evdev mode: the mice's REL_X/REL_Y scaled as in
// window mode, (10 + N) / 10 with the remainder carried, so many one-count
// moves are not lost at half speed.
TEST(InputRouterOptions, SensitivityMinusFiveHalvesEvdevMotionExactlyOverManySmallMoves) {
    Rig r("ctrl-ctrl", Owner::guest, {.mouse_sensitivity = -5});
    for (int i = 0; i < 1000; ++i)
        r.move(1, -1);
    EXPECT_EQ(r.guest_rel(REL_X), 500);
    EXPECT_EQ(r.guest_rel(REL_Y), -500);
    // No REL event of zero: a move below a whole count waits in the carry.
    for (const auto& b : r.batches) {
        for (const auto& e : b) {
            if (e.type == EV_REL) {
                EXPECT_NE(e.value, 0);
            }
        }
    }
}

TEST(InputRouterOptions, SensitivityPlusFiveGivesOneAndAHalfTimesTheMotion) {
    Rig r("ctrl-ctrl", Owner::guest, {.mouse_sensitivity = 5});
    for (int i = 0; i < 1000; ++i)
        r.move(1, -3);
    EXPECT_EQ(r.guest_rel(REL_X), 1500);
    EXPECT_EQ(r.guest_rel(REL_Y), -4500);
}

TEST(InputRouterOptions, SensitivityScalesOnlyPointerMotionNotTheWheel) {
    Rig r("ctrl-ctrl", Owner::guest, {.mouse_sensitivity = -5});
    r.router.feed(2, {0, EV_REL, REL_WHEEL, 1, 0});
    r.router.feed(2, {0, EV_SYN, SYN_REPORT, 0, 0});
    EXPECT_EQ(r.guest_rel(REL_WHEEL), 1);
}

TEST(InputRouterOptions, UnscaledMotionPassesAsIsByDefault) {
    Rig r("ctrl-ctrl", Owner::guest);
    r.move(7, -3);
    EXPECT_EQ(r.guest_rel(REL_X), 7);
    EXPECT_EQ(r.guest_rel(REL_Y), -3);
}

TEST(InputRouterOptions, IgnoreWindowsKeysDropsMetaPressAndReleaseButPassesOtherKeys) {
    Rig r("ctrl-ctrl", Owner::guest, {.ignore_windows_keys = true});
    r.key(KEY_LEFTMETA, 1);
    r.key(KEY_RIGHTMETA, 1);
    r.key(KEY_A, 1);
    r.key(KEY_A, 0);
    r.key(KEY_RIGHTMETA, 2);  // autorepeat
    r.key(KEY_RIGHTMETA, 0);
    r.key(KEY_LEFTMETA, 0);
    std::vector<std::pair<std::uint16_t, int>> keys;
    for (const auto& b : r.batches)
        for (const auto& e : b)
            if (e.type == EV_KEY) keys.emplace_back(e.code, e.value);
    EXPECT_EQ(keys, (std::vector<std::pair<std::uint16_t, int>>{{KEY_A, 1}, {KEY_A, 0}}));
    EXPECT_TRUE(r.guest_down().empty());
    EXPECT_TRUE(r.guest_stream_balanced());
}

TEST(InputRouterOptions, MetaHeldStillDefersTheSwitchAndNothingIsLeftStuck) {
    Rig r("ctrl-ctrl", Owner::guest, {.ignore_windows_keys = true});
    r.key(KEY_LEFTMETA, 1);
    r.router.request_switch(Owner::host);
    EXPECT_EQ(r.router.owner(), Owner::guest) << "a held Meta still counts as held";
    r.key(KEY_LEFTMETA, 0);
    EXPECT_EQ(r.router.owner(), Owner::host);
    EXPECT_TRUE(r.guest_down().empty());
    EXPECT_TRUE(r.guest_stream_balanced());
}

TEST(InputRouterOptions, MetaKeysReachTheGuestWithoutTheOption) {
    Rig r("ctrl-ctrl", Owner::guest);
    r.tap(KEY_LEFTMETA);
    r.tap(KEY_RIGHTMETA);
    std::vector<std::pair<std::uint16_t, int>> keys;
    for (const auto& b : r.batches)
        for (const auto& e : b)
            if (e.type == EV_KEY) keys.emplace_back(e.code, e.value);
    EXPECT_EQ(keys,
              (std::vector<std::pair<std::uint16_t, int>>{
                  {KEY_LEFTMETA, 1}, {KEY_LEFTMETA, 0}, {KEY_RIGHTMETA, 1}, {KEY_RIGHTMETA, 0}}));
}

// Key bindings and window mode's owner, once for both front ends: the window
// (window_input.hpp) is a source of this core, with capture as its owner.
struct BindingRig : Rig {
    std::vector<WindowAction> actions;
    explicit BindingRig(RouterOptions o = {.host_passes_to_guest = true, .bindings = true})
        : Rig("scrolllock", Owner::host, o) {
        router.on_action([this](WindowAction a) { actions.push_back(a); });
    }
    bool saw(std::uint16_t code, int value) const {
        for (const auto& b : batches)
            for (const auto& e : b)
                if (e.type == EV_KEY && e.code == code && e.value == value) return true;
        return false;
    }
};

TEST(InputRouterBindings, CaptureKeyAloneSwitchesOnReleaseAndNeverReachesTheGuest) {
    BindingRig r;
    r.key(KEY_SCROLLLOCK, 1);
    r.key(KEY_SCROLLLOCK, 2);
    EXPECT_EQ(r.router.owner(), Owner::host) << "held: not yet";
    r.key(KEY_SCROLLLOCK, 0);
    EXPECT_EQ(r.router.owner(), Owner::guest);
    r.tap(KEY_SCROLLLOCK);
    EXPECT_EQ(r.changes, (std::vector{Owner::guest, Owner::host}));
    EXPECT_TRUE(r.batches.empty());
}

TEST(InputRouterBindings, KeyPressedWithTheCaptureKeyIsABindingNotAToggle) {
    BindingRig r;
    r.key(KEY_SCROLLLOCK, 1);
    r.tap(KEY_F);
    r.tap(KEY_O);
    r.tap(KEY_P);
    r.key(KEY_SCROLLLOCK, 0);
    EXPECT_EQ(r.actions, (std::vector{WindowAction::toggle_fullscreen, WindowAction::toggle_overlay,
                                      WindowAction::screenshot}));
    EXPECT_TRUE(r.changes.empty()) << "a combination is not a toggle";
    EXPECT_TRUE(r.batches.empty()) << "binding keys stay on the host";
}

TEST(InputRouterBindings, NoKeyPressedWithTheCaptureKeyReachesTheGuestBoundOrNot) {
    BindingRig r;
    r.key(KEY_SCROLLLOCK, 1);
    r.key(KEY_Q, 1);
    r.key(KEY_X, 1);
    r.key(KEY_X, 2);
    r.key(KEY_SCROLLLOCK, 0);
    r.key(KEY_Q, 0);  // released after the capture key: still the host's
    r.key(KEY_X, 0);
    EXPECT_EQ(r.actions, std::vector{WindowAction::quit}) << "unbound x does nothing";
    EXPECT_TRUE(r.batches.empty()) << "ScrollLock+Q once typed q into the guest";
    EXPECT_TRUE(r.changes.empty());
    r.tap(KEY_X);
    EXPECT_TRUE(r.saw(KEY_X, 1)) << "afterwards the key is the guest's again";
}

TEST(InputRouterBindings, KeyHeldBeforeTheCaptureKeyIsTheGuestsAndDefersTheSwitch) {
    BindingRig r;
    r.key(KEY_LEFTSHIFT, 1);
    r.tap(KEY_SCROLLLOCK);
    EXPECT_EQ(r.router.owner(), Owner::host) << "Shift is held: the switch waits";
    r.key(KEY_LEFTSHIFT, 0);
    EXPECT_TRUE(r.saw(KEY_LEFTSHIFT, 0)) << "its release reaches the guest";
    EXPECT_EQ(r.router.owner(), Owner::guest);
    EXPECT_TRUE(r.router.guest_held().none());
    EXPECT_TRUE(r.guest_stream_balanced());
}

TEST(InputRouterBindings, CtrlAltDelSendsTheWholeChordAndReleasesIt) {
    BindingRig r;
    r.key(KEY_SCROLLLOCK, 1);
    r.tap(KEY_DELETE);
    r.key(KEY_SCROLLLOCK, 0);
    ASSERT_EQ(r.batches.size(), 2U);
    ASSERT_EQ(r.batches[0].size(), 4U);
    EXPECT_EQ(r.batches[0][0].code, KEY_LEFTCTRL);
    EXPECT_EQ(r.batches[0][2].code, KEY_DELETE);
    EXPECT_EQ(r.batches[1][0].code, KEY_DELETE);
    EXPECT_EQ(r.batches[1][0].value, 0);
    EXPECT_TRUE(r.guest_down().empty());
    EXPECT_TRUE(r.guest_stream_balanced());
}

TEST(InputRouterBindings, ReleaseInputGivesInputToTheHostAndReleasesHeldKeys) {
    BindingRig r;
    r.tap(KEY_SCROLLLOCK);
    ASSERT_EQ(r.router.owner(), Owner::guest);
    r.key(KEY_W, 1);
    r.key(KEY_SCROLLLOCK, 1);
    r.tap(KEY_R);
    EXPECT_EQ(r.router.owner(), Owner::host);
    EXPECT_TRUE(r.saw(KEY_W, 0));
    r.key(KEY_SCROLLLOCK, 0);
    r.key(KEY_W, 0);
    EXPECT_EQ(r.router.owner(), Owner::host) << "the capture key's toggle was cancelled";
    EXPECT_TRUE(r.guest_stream_balanced()) << "W's late release is not sent twice";
}

TEST(InputRouterBindings, BindingsOnlyModeSendsNothingAndTheKeyAloneDoesNotSwitch) {
    BindingRig r({.hotkey_switches = false, .bindings = true});
    r.tap(KEY_A);
    r.tap(KEY_SCROLLLOCK);
    EXPECT_TRUE(r.changes.empty());
    r.key(KEY_SCROLLLOCK, 1);
    r.tap(KEY_O);
    EXPECT_EQ(r.actions, std::vector{WindowAction::toggle_overlay});
    EXPECT_TRUE(r.batches.empty());
}

TEST(InputRouterBindings, MouseButtonsWithTheCaptureKeyHeldStillReachTheGuest) {
    BindingRig r;
    r.key(KEY_SCROLLLOCK, 1);
    r.tap(BTN_LEFT);
    r.key(KEY_SCROLLLOCK, 0);
    EXPECT_TRUE(r.saw(BTN_LEFT, 1));
    EXPECT_TRUE(r.saw(BTN_LEFT, 0));
    EXPECT_TRUE(r.actions.empty());
    EXPECT_EQ(r.router.owner(), Owner::guest) << "not a combination: the key alone toggled";
}

// A window beside evdev: the host owns, yet Ctrl+Alt+Del is sent, as asked.
TEST(InputRouterBindings, CtrlAltDelIsSentInBindingsOnlyModeToo) {
    BindingRig r({.hotkey_switches = false, .bindings = true});
    r.key(KEY_SCROLLLOCK, 1);
    r.tap(KEY_DELETE);
    r.key(KEY_SCROLLLOCK, 0);
    ASSERT_EQ(r.batches.size(), 2U);
    EXPECT_TRUE(r.saw(KEY_DELETE, 1));
    EXPECT_TRUE(r.guest_down().empty());
    EXPECT_EQ(r.router.owner(), Owner::host);
}

TEST(InputRouterBindings, WithoutBindingsKeysPressedWithTheHotkeyReachTheGuest) {
    Rig r("ctrl-scrolllock", Owner::guest);  // evdev: as before
    r.key(KEY_LEFTCTRL, 1);
    r.key(KEY_SCROLLLOCK, 1);
    r.tap(KEY_Q);
    EXPECT_EQ(r.guest_down(), std::vector<std::uint16_t>{KEY_LEFTCTRL});
}

TEST(InputRouterBindings, GoneDeviceFreesTheKeysItsBindingsSwallowed) {
    BindingRig r;
    r.key(KEY_SCROLLLOCK, 1);
    r.key(KEY_X, 1);
    r.router.device_gone(1);  // e.g. the window lost focus: no releases follow
    r.tap(KEY_X);
    EXPECT_TRUE(r.saw(KEY_X, 1)) << "x was left swallowed";
}

TEST(InputRouterBindings, PassThroughSwitchesStillWaitAndReleaseEverything) {
    BindingRig r;
    r.key(KEY_A, 1);
    r.router.request_switch(Owner::guest);
    EXPECT_EQ(r.router.owner(), Owner::host);
    EXPECT_TRUE(r.saw(KEY_A, 1)) << "uncaptured, the window still types";
    r.key(KEY_A, 0);
    EXPECT_EQ(r.router.owner(), Owner::guest);
    r.key(KEY_B, 1);
    r.router.force_host();
    EXPECT_TRUE(r.saw(KEY_B, 0));
    EXPECT_TRUE(r.guest_stream_balanced());
}

TEST(Hotkey, UnknownKeyNameIsAnErrorThatNamesIt) {
    auto h = parse_hotkey("KEY_LEFTALT+KEY_NOPE");
    ASSERT_FALSE(h);
    EXPECT_NE(h.error().message.find("KEY_NOPE"), std::string::npos);
}

}  // namespace
}  // namespace porthole::client::input
