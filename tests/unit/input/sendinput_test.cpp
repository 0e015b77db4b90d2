// Runs on Linux (the records) and under Wine (the INPUT structures too).
#include "input/sendinput_translate.hpp"

#include <gtest/gtest.h>

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

TEST(SendInputTranslator, KeysWithoutWindowsEquivalentAreCounted) {
    SendInputTranslator t;
    const InputEvent b[] = {key(KEY_UNKNOWN, 1), key(KEY_F13, 1), syn()};
    const auto r = t.translate(b);
    EXPECT_EQ(r.size(), 1U);  // F13 has a scancode
    EXPECT_EQ(t.unmapped(), 1U);
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

}  // namespace
}  // namespace porthole::agent::win
