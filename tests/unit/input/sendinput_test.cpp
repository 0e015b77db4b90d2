// Runs on Linux (the records) and under Wine (the INPUT structures too).
#include "input/sendinput_translate.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "input/sas.hpp"

#ifdef _WIN32
#include "input/sendinput.hpp"
#endif

namespace porthole::agent::win {
namespace {

using protocol::InputEvent;
using Kind = SendInputRecord::Kind;

// evdev codes (no linux headers on Windows).
constexpr std::uint16_t KEY_A = 30, KEY_RIGHTCTRL = 97, KEY_SYSRQ = 99, KEY_PAUSE = 119,
                        KEY_LEFTMETA = 125, KEY_KPENTER = 96, BTN_LEFT = 0x110, BTN_SIDE = 0x113,
                        KEY_F13 = 183, KEY_UNKNOWN = 0x2f0;
constexpr InputEvent key(std::uint16_t c, int v) {
    return {0, 1, c, v, 0};
}
constexpr InputEvent rel(std::uint16_t c, int v) {
    return {0, 2, c, v, 0};
}
constexpr InputEvent abs_(std::uint16_t c, int v) {
    return {0, 3, c, v, 0};
}
constexpr InputEvent syn() {
    return {0, 0, 0, 0, 0};
}

SendInputRecord kbd(std::uint16_t vk, std::uint16_t scan, std::uint32_t flags) {
    SendInputRecord r;
    r.vk = vk;
    r.scan = scan;
    r.flags = flags;
    return r;
}
SendInputRecord mouse(std::int32_t dx, std::int32_t dy, std::int32_t data, std::uint32_t flags) {
    SendInputRecord r;
    r.kind = Kind::mouse;
    r.dx = dx;
    r.dy = dy;
    r.mouse_data = data;
    r.flags = flags;
    return r;
}

struct Case {
    const char* what;
    std::vector<InputEvent> batch;
    std::vector<SendInputRecord> expected;
};

std::vector<Case> table() {
    return {
        {"letter down, up",
         {key(KEY_A, 1), key(KEY_A, 0), syn()},
         {kbd(0, 0x1E, kKeyScancode), kbd(0, 0x1E, kKeyScancode | kKeyUp)}},
        {"extended right ctrl",
         {key(KEY_RIGHTCTRL, 1), syn()},
         {kbd(0, 0x1D, kKeyScancode | kKeyExtended)}},
        {"keypad enter is E0 1C",
         {key(KEY_KPENTER, 0), syn()},
         {kbd(0, 0x1C, kKeyScancode | kKeyExtended | kKeyUp)}},
        {"print screen is E0 37",
         {key(KEY_SYSRQ, 1), syn()},
         {kbd(0, 0x37, kKeyScancode | kKeyExtended)}},
        {"pause goes as VK_PAUSE",
         {key(KEY_PAUSE, 1), key(KEY_PAUSE, 0), syn()},
         {kbd(kVkPause, 0, 0), kbd(kVkPause, 0, kKeyUp)}},
        {"windows key", {key(KEY_LEFTMETA, 1), syn()}, {kbd(0, 0x5B, kKeyScancode | kKeyExtended)}},
        {"auto-repeat is another key down", {key(KEY_A, 2), syn()}, {kbd(0, 0x1E, kKeyScancode)}},
        {"relative motion summed, then the click",
         {rel(0, 3), key(BTN_LEFT, 1), rel(0, 2), rel(1, -1), syn()},
         {mouse(5, -1, 0, kMouseMove), mouse(0, 0, 0, kLeftDown)}},
        {"absolute onto the virtual desktop",
         {abs_(0, 32767), abs_(1, 0), syn()},
         {mouse(65535, 0, 0, kMouseMove | kAbsolute | kVirtualDesk)}},
        {"side button is X button 1",
         {key(BTN_SIDE, 0), syn()},
         {mouse(0, 0, static_cast<int>(kXButton1), kXUp)}},
        {"wheel detents in 120ths", {rel(8, -2), syn()}, {mouse(0, 0, -240, kWheel)}},
        {"high-resolution wheel wins over detents",
         {rel(8, 1), rel(11, 120), rel(6, 1), rel(12, 30), syn()},
         {mouse(0, 0, 120, kWheel), mouse(0, 0, 30, kHWheel)}},
    };
}

TEST(SendInputTranslator, TableOfEventsGivesTheExpectedRecords) {
    for (const auto& c : table()) {
        SCOPED_TRACE(c.what);
        SendInputTranslator t;
        EXPECT_EQ(t.translate(c.batch), c.expected);
    }
}

TEST(SendInputTranslator, BatchesPoppedTogetherStayInOrder) {
    SendInputTranslator t;
    const InputEvent b[] = {key(BTN_LEFT, 1), syn(), rel(0, 4), syn(), key(BTN_LEFT, 0), syn()};
    const std::vector<SendInputRecord> want{mouse(0, 0, 0, kLeftDown), mouse(4, 0, 0, kMouseMove),
                                            mouse(0, 0, 0, kLeftUp)};
    EXPECT_EQ(t.translate(b), want) << "a drag must not become a click then a move";
}

TEST(SendInputTranslator, AbsoluteAxisAloneKeepsTheOtherCoordinate) {
    SendInputTranslator t;
    const InputEvent both[] = {abs_(0, 16384), abs_(1, 8192), syn()};
    (void)t.translate(both);
    const InputEvent only_x[] = {abs_(0, 0), syn()};
    const auto r = t.translate(only_x);
    ASSERT_EQ(r.size(), 1U);
    EXPECT_EQ(r[0].dx, 0);
    EXPECT_EQ(r[0].dy, 16384);  // 8192/32767 of 65535, rounded
}

TEST(SendInputTranslator, GamepadEventsAreCountedNeverTurnedIntoMouseOrKeys) {
    SendInputTranslator t;
    auto on_pad = [](InputEvent e) {
        e.device = 1;
        return e;
    };
    // A pad's stick on ABS_X and its BTN_SOUTH: no pointer move, no key.
    const InputEvent b[] = {on_pad(abs_(0, -32768)), on_pad(key(0x130, 1)), on_pad(syn())};
    EXPECT_TRUE(t.translate(b).empty());
    EXPECT_EQ(t.unmapped(), 2U);
}

TEST(SendInputTranslator, KeysWithoutWindowsEquivalentAreCounted) {
    SendInputTranslator t;
    const InputEvent b[] = {key(KEY_UNKNOWN, 1), key(KEY_F13, 1), syn()};
    const auto r = t.translate(b);
    EXPECT_EQ(r.size(), 1U);  // F13 has a scancode
    EXPECT_EQ(t.unmapped(), 1U);
}

TEST(SendInputTranslator, AbsolutePositionsMapOntoTheCapturedMonitor) {
    // Two 1920x1080 monitors side by side; the host shows the right one.
    SendInputTranslator t;
    t.set_absolute_target(ScreenArea{1920, 0, 1920, 1080}, ScreenArea{0, 0, 3840, 1080});
    const InputEvent left_top[] = {abs_(0, 0), abs_(1, 0), syn()};
    const auto a = t.translate(left_top).at(0);
    // Windows: pixel = value * 3840 / 65536.
    EXPECT_EQ(a.dx * 3840 / 65536, 1920);
    EXPECT_EQ(a.dy, 0);
    const InputEvent right_bottom[] = {abs_(0, 32767), abs_(1, 32767), syn()};
    const auto b = t.translate(right_bottom).at(0);
    EXPECT_EQ(b.dx * 3840 / 65536, 3839);
    EXPECT_EQ(b.dy * 1080 / 65536, 1079);
    const InputEvent middle[] = {abs_(0, 16384), syn()};
    EXPECT_EQ(t.translate(middle).at(0).dx * 3840 / 65536, 1920 + 960);
}

TEST(SendInputTranslator, MonitorLeftOfThePrimaryHasNegativeCoordinates) {
    SendInputTranslator t;
    t.set_absolute_target(ScreenArea{-1280, 0, 1280, 1024}, ScreenArea{-1280, 0, 3200, 1080});
    const InputEvent e[] = {abs_(0, 32767), abs_(1, 0), syn()};
    const auto r = t.translate(e).at(0);
    EXPECT_EQ(-1280 + r.dx * 3200 / 65536, -1);
}

#ifdef _WIN32
TEST(SendInputNative, InputStructuresMatchTheRecords) {
    for (const auto& c : table()) {
        SCOPED_TRACE(c.what);
        SendInputTranslator t;
        const auto records = t.translate(c.batch);
        ASSERT_EQ(records.size(), c.expected.size());
        for (std::size_t i = 0; i < records.size(); ++i) {
            const INPUT in = to_native(records[i]);
            const auto& e = c.expected[i];
            if (e.kind == Kind::keyboard) {
                ASSERT_EQ(in.type, static_cast<DWORD>(INPUT_KEYBOARD));
                EXPECT_EQ(in.ki.wVk, e.vk);
                EXPECT_EQ(in.ki.wScan, e.scan);
                EXPECT_EQ(in.ki.dwFlags, e.flags);
            } else {
                ASSERT_EQ(in.type, static_cast<DWORD>(INPUT_MOUSE));
                EXPECT_EQ(in.mi.dx, e.dx);
                EXPECT_EQ(in.mi.dy, e.dy);
                EXPECT_EQ(static_cast<std::int32_t>(in.mi.mouseData), e.mouse_data);
                EXPECT_EQ(in.mi.dwFlags, e.flags);
            }
        }
    }
}

TEST(SendInputNative, ExtendedPrintScreenAndRightCtrlAsWindowsDefinesThem) {
    SendInputTranslator t;
    const InputEvent b[] = {key(KEY_SYSRQ, 1), syn()};
    const INPUT in = to_native(t.translate(b).at(0));
    EXPECT_EQ(in.ki.dwFlags, static_cast<DWORD>(KEYEVENTF_SCANCODE | KEYEVENTF_EXTENDEDKEY));
    EXPECT_EQ(in.ki.wScan, 0x37);
    // Windows itself maps VK_SNAPSHOT's scancode to 0x37 as well.
    EXPECT_EQ(MapVirtualKeyW(VK_RCONTROL, MAPVK_VK_TO_VSC) & 0xFF, 0x1DU);
}
#endif

constexpr std::uint16_t KEY_LEFTCTRL = 29, KEY_LEFTALT = 56, KEY_RIGHTALT = 100, KEY_DELETE = 111,
                        KEY_KPDOT = 83;

TEST(SasDetector, CtrlAltDelIsRecognisedOncePerPress) {
    SasDetector d;
    EXPECT_FALSE(d.on_event(key(KEY_LEFTCTRL, 1)));
    EXPECT_FALSE(d.on_event(key(KEY_LEFTALT, 1)));
    EXPECT_TRUE(d.on_event(key(KEY_DELETE, 1)));
    EXPECT_FALSE(d.on_event(key(KEY_DELETE, 2))) << "auto-repeat";
    EXPECT_FALSE(d.on_event(key(KEY_DELETE, 0)));
    EXPECT_TRUE(d.on_event(key(KEY_KPDOT, 1))) << "keypad Delete, as Windows accepts it";
}

TEST(SasDetector, NeedsBothCtrlAndAltHeld) {
    SasDetector d;
    EXPECT_FALSE(d.on_event(key(KEY_DELETE, 1)));
    d.on_event(key(KEY_RIGHTCTRL, 1));
    EXPECT_FALSE(d.on_event(key(KEY_DELETE, 1))) << "Ctrl+Del";
    d.on_event(key(KEY_RIGHTALT, 1));
    d.on_event(key(KEY_RIGHTCTRL, 0));
    EXPECT_FALSE(d.on_event(key(KEY_DELETE, 1))) << "Alt+Del after Ctrl was released";
    d.on_event(key(KEY_LEFTCTRL, 1));
    EXPECT_TRUE(d.on_event(key(KEY_DELETE, 1))) << "left Ctrl + right Alt";
}

#ifdef _WIN32
// Plays desktop switches: the login screen's Winlogon desktop and back.
class FakeDesktops final : public DesktopApi {
  public:
    std::wstring input = L"Default";
    bool deny = false;
    std::vector<std::wstring> set_calls;
    int open = 0;
    HDESK open_input() override {
        if (deny) return nullptr;
        ++open;
        names_.push_back(input);
        return reinterpret_cast<HDESK>(names_.size());
    }
    std::wstring name(HDESK d) override { return names_.at(reinterpret_cast<std::size_t>(d) - 1); }
    bool set_thread(HDESK d) override {
        set_calls.push_back(name(d));
        return true;
    }
    void close(HDESK) override { --open; }

  private:
    std::vector<std::wstring> names_;
};

TEST(DesktopFollower, MovesTheThreadOnlyWhenTheInputDesktopChanges) {
    FakeDesktops api;
    {
        DesktopFollower f(api);
        EXPECT_TRUE(f.follow());
        EXPECT_TRUE(f.follow());
        EXPECT_EQ(api.set_calls, (std::vector<std::wstring>{L"Default"}));
        api.input = L"Winlogon";  // the login or UAC screen
        EXPECT_TRUE(f.follow());
        EXPECT_EQ(f.current(), L"Winlogon");
        api.input = L"Default";
        EXPECT_TRUE(f.follow());
        EXPECT_EQ(api.set_calls, (std::vector<std::wstring>{L"Default", L"Winlogon", L"Default"}));
        EXPECT_EQ(f.switches(), 2U);
        EXPECT_EQ(api.open, 1) << "only the desktop in use stays open";
        api.deny = true;  // no access for a moment: stay
        EXPECT_TRUE(f.follow());
        EXPECT_EQ(f.current(), L"Default");
    }
    EXPECT_EQ(api.open, 0) << "closed with the follower";
}

TEST(DesktopFollower, FollowsWinesRealInputDesktop) {
    DesktopFollower f;
    ASSERT_TRUE(f.follow());
    EXPECT_EQ(f.current(), L"Default");
    wchar_t name[64] = {};
    DWORD n = 0;
    ASSERT_TRUE(GetUserObjectInformationW(GetThreadDesktop(GetCurrentThreadId()), UOI_NAME, name,
                                          sizeof(name), &n));
    EXPECT_EQ(std::wstring(name), L"Default");
}

TEST(SendInputSas, CtrlAltDelFromTheHostCallsSendSasOnce) {
    FakeDesktops api;
    int calls = 0;
    SendInputInjector inj(api, [&calls] {
        ++calls;
        return porthole::Status{};
    });
    const InputEvent b[] = {key(KEY_LEFTCTRL, 1), key(KEY_LEFTALT, 1), key(KEY_DELETE, 1),   syn(),
                            key(KEY_DELETE, 0),   key(KEY_LEFTALT, 0), key(KEY_LEFTCTRL, 0), syn()};
    (void)inj.inject(b);
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(inj.sas_sent(), 1U);
    const InputEvent plain[] = {key(KEY_DELETE, 1), key(KEY_DELETE, 0), syn()};
    (void)inj.inject(plain);
    EXPECT_EQ(calls, 1) << "Delete alone is a key, not the SAS";
}

TEST(SendInputSas, SendSasIsLookedUpInSasDll) {
    // What send_sas() loads at run time. Wine's sas.dll exports SendSAS as an
    // unimplemented stub (calling it raises), so the call itself is tested
    // through the injector's fake above and only on real Windows for real.
    HMODULE m = LoadLibraryW(L"sas.dll");
    ASSERT_NE(m, nullptr);
    EXPECT_NE(GetProcAddress(m, "SendSAS"), nullptr);
    FreeLibrary(m);
}
#endif

}  // namespace
}  // namespace porthole::agent::win
