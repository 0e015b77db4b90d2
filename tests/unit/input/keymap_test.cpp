#include "porthole/protocol/keymap.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace porthole::protocol {
namespace {

struct Known {
    std::uint16_t evdev;
    std::uint16_t set1;
    std::uint8_t vk;
    const char* qcode;
};

// From the PC keyboard tables (set 1, Windows VK) and QEMU's QKeyCode list.
constexpr Known kKnown[] = {
    {1, 0x01, 0x1B, "esc"},
    {30, 0x1E, 'A', "a"},
    {44, 0x2C, 'Z', "z"},
    {28, 0x1C, 0x0D, "ret"},
    {96, 0xE01C, 0x0D, "kp_enter"},
    {29, 0x1D, 0xA2, "ctrl"},
    {97, 0xE01D, 0xA3, "ctrl_r"},
    {56, 0x38, 0xA4, "alt"},
    {100, 0xE038, 0xA5, "alt_r"},
    {125, 0xE05B, 0x5B, "meta_l"},
    {126, 0xE05C, 0x5C, "meta_r"},
    {127, 0xE05D, 0x5D, "compose"},
    {99, 0xE037, 0x2C, "print"},
    {119, kSet1Pause, 0x13, "pause"},
    {70, 0x46, 0x91, "scroll_lock"},
    {69, 0x45, 0x90, "num_lock"},
    {98, 0xE035, 0x6F, "kp_divide"},
    {103, 0xE048, 0x26, "up"},
    {108, 0xE050, 0x28, "down"},
    {105, 0xE04B, 0x25, "left"},
    {106, 0xE04D, 0x27, "right"},
    {110, 0xE052, 0x2D, "insert"},
    {111, 0xE053, 0x2E, "delete"},
    {102, 0xE047, 0x24, "home"},
    {107, 0xE04F, 0x23, "end"},
    {104, 0xE049, 0x21, "pgup"},
    {109, 0xE051, 0x22, "pgdn"},
    {59, 0x3B, 0x70, "f1"},
    {68, 0x44, 0x79, "f10"},
    {87, 0x57, 0x7A, "f11"},
    {88, 0x58, 0x7B, "f12"},
    {86, 0x56, 0xE2, "less"},
    {41, 0x29, 0xC0, "grave_accent"},
    {57, 0x39, 0x20, "spc"},
    {82, 0x52, 0x60, "kp_0"},
    {83, 0x53, 0x6E, "kp_decimal"},
    {113, 0xE020, 0xAD, "audiomute"},
    {115, 0xE030, 0xAF, "volumeup"},
    {164, 0xE022, 0xB3, "audioplay"},
    // The Korean keys: one-byte codes without E0 (Microsoft's HID-to-set-1
    // table: LANG1 F2, LANG2 F1); sent with E0 they reach Windows as nothing.
    {122, 0xF2, 0x15, "lang1"},
    {123, 0xF1, 0x19, "lang2"},
    // Japanese keys (HID International 6, LANG3, LANG4, LANG5).
    {95, 0x5C, 0x00, ""},
    {90, 0x78, 0x00, ""},
    {91, 0x77, 0x00, "hiragana"},
    {85, 0x76, 0x00, ""},
    {92, 0x79, 0x1C, "henkan"},
    {94, 0x7B, 0x1D, "muhenkan"},
    {93, 0x70, 0x15, "katakanahiragana"},
    // Keypad +- and parentheses (QEMU's keycodemapdb; QEMU has no qcode for them).
    {118, 0xE04E, 0x00, ""},
    {179, 0xE076, 0x00, ""},
    {180, 0xE07B, 0x00, ""},
};

TEST(Keymap, KnownKeysMapToScancodeVirtualKeyAndQemuName) {
    for (const auto& k : kKnown) {
        SCOPED_TRACE(k.evdev);
        const auto m = map_evdev_key(k.evdev);
        ASSERT_TRUE(m.has_value());
        EXPECT_EQ(m->set1, k.set1);
        EXPECT_EQ(m->vk, k.vk);
        EXPECT_EQ(m->qcode, k.qcode);
    }
}

TEST(Keymap, KoreanKeysAreNotExtended) {
    EXPECT_FALSE(set1_is_extended(map_evdev_key(122)->set1));
    EXPECT_FALSE(set1_is_extended(map_evdev_key(123)->set1));
    EXPECT_EQ(set1_low_byte(map_evdev_key(122)->set1), 0xF2);
}

TEST(Keymap, ExtendedKeysCarryTheE0Prefix) {
    EXPECT_TRUE(set1_is_extended(map_evdev_key(97)->set1));   // right ctrl
    EXPECT_TRUE(set1_is_extended(map_evdev_key(99)->set1));   // print screen
    EXPECT_FALSE(set1_is_extended(map_evdev_key(29)->set1));  // left ctrl
    EXPECT_FALSE(set1_is_extended(kSet1Pause));               // E1, not E0
    EXPECT_EQ(set1_low_byte(map_evdev_key(99)->set1), 0x37);
}

TEST(Keymap, EveryLowCodeEqualsItsSet1Code) {
    // The Linux numbering began as AT set-1 scancodes: 1..83 are identical.
    for (std::uint16_t c = 1; c <= 83; ++c) {
        const auto m = map_evdev_key(c);
        ASSERT_TRUE(m.has_value()) << c;
        EXPECT_EQ(m->set1, c);
    }
}

TEST(Keymap, MouseButtonsAndUnknownCodesHaveNoMapping) {
    EXPECT_FALSE(map_evdev_key(0x110).has_value());  // BTN_LEFT
    EXPECT_FALSE(map_evdev_key(0).has_value());
    EXPECT_FALSE(map_evdev_key(0x2ff).has_value());
}

TEST(Keymap, ScancodesAndQemuNamesAreUnique) {
    std::set<std::uint16_t> scancodes;
    std::set<std::string> names;
    for (const auto& m : key_mappings()) {
        // Zenkaku/Hankaku (HID LANG5) and F24 share 0x76 in Microsoft's table.
        if (m.evdev == 85) continue;
        EXPECT_TRUE(scancodes.insert(m.set1).second) << "set-1 code used twice: " << m.set1;
        if (!m.qcode.empty()) {
            EXPECT_TRUE(names.insert(std::string(m.qcode)).second) << m.qcode;
        }
    }
}

}  // namespace
}  // namespace porthole::protocol
