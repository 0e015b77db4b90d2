#include "porthole/protocol/keymap.hpp"

#include <algorithm>
#include <array>

namespace porthole::protocol {
namespace {

// Sources: set 1 from Microsoft's Keyboard Scan Code Specification (its
// HID-to-set-1 table for the Japanese and Korean keys), where it has none
// QEMU's keycodemapdb (the keypad's +- and parentheses); qcodes from QEMU
// 7.2's QKeyCode (qapi/ui.json); VKs from winuser.h.
// evdev, set-1, VK, qcode. evdev codes 1..83 equal their set-1 codes (the
// Linux numbering began as the AT scancodes); the rest come from the
// extended (E0) table. QEMU's "print" (not "sysrq") is the PrintScreen key:
// its PS/2 model sends E0 2A E0 37 for it.
constexpr std::array kMap = std::to_array<KeyMapping>({
    {1, 0x01, 0x1B, "esc"},
    {2, 0x02, 0x31, "1"},
    {3, 0x03, 0x32, "2"},
    {4, 0x04, 0x33, "3"},
    {5, 0x05, 0x34, "4"},
    {6, 0x06, 0x35, "5"},
    {7, 0x07, 0x36, "6"},
    {8, 0x08, 0x37, "7"},
    {9, 0x09, 0x38, "8"},
    {10, 0x0A, 0x39, "9"},
    {11, 0x0B, 0x30, "0"},
    {12, 0x0C, 0xBD, "minus"},
    {13, 0x0D, 0xBB, "equal"},
    {14, 0x0E, 0x08, "backspace"},
    {15, 0x0F, 0x09, "tab"},
    {16, 0x10, 'Q', "q"},
    {17, 0x11, 'W', "w"},
    {18, 0x12, 'E', "e"},
    {19, 0x13, 'R', "r"},
    {20, 0x14, 'T', "t"},
    {21, 0x15, 'Y', "y"},
    {22, 0x16, 'U', "u"},
    {23, 0x17, 'I', "i"},
    {24, 0x18, 'O', "o"},
    {25, 0x19, 'P', "p"},
    {26, 0x1A, 0xDB, "bracket_left"},
    {27, 0x1B, 0xDD, "bracket_right"},
    {28, 0x1C, 0x0D, "ret"},
    {29, 0x1D, 0xA2, "ctrl"},
    {30, 0x1E, 'A', "a"},
    {31, 0x1F, 'S', "s"},
    {32, 0x20, 'D', "d"},
    {33, 0x21, 'F', "f"},
    {34, 0x22, 'G', "g"},
    {35, 0x23, 'H', "h"},
    {36, 0x24, 'J', "j"},
    {37, 0x25, 'K', "k"},
    {38, 0x26, 'L', "l"},
    {39, 0x27, 0xBA, "semicolon"},
    {40, 0x28, 0xDE, "apostrophe"},
    {41, 0x29, 0xC0, "grave_accent"},
    {42, 0x2A, 0xA0, "shift"},
    {43, 0x2B, 0xDC, "backslash"},
    {44, 0x2C, 'Z', "z"},
    {45, 0x2D, 'X', "x"},
    {46, 0x2E, 'C', "c"},
    {47, 0x2F, 'V', "v"},
    {48, 0x30, 'B', "b"},
    {49, 0x31, 'N', "n"},
    {50, 0x32, 'M', "m"},
    {51, 0x33, 0xBC, "comma"},
    {52, 0x34, 0xBE, "dot"},
    {53, 0x35, 0xBF, "slash"},
    {54, 0x36, 0xA1, "shift_r"},
    {55, 0x37, 0x6A, "kp_multiply"},
    {56, 0x38, 0xA4, "alt"},
    {57, 0x39, 0x20, "spc"},
    {58, 0x3A, 0x14, "caps_lock"},
    {59, 0x3B, 0x70, "f1"},
    {60, 0x3C, 0x71, "f2"},
    {61, 0x3D, 0x72, "f3"},
    {62, 0x3E, 0x73, "f4"},
    {63, 0x3F, 0x74, "f5"},
    {64, 0x40, 0x75, "f6"},
    {65, 0x41, 0x76, "f7"},
    {66, 0x42, 0x77, "f8"},
    {67, 0x43, 0x78, "f9"},
    {68, 0x44, 0x79, "f10"},
    {69, 0x45, 0x90, "num_lock"},
    {70, 0x46, 0x91, "scroll_lock"},
    {71, 0x47, 0x67, "kp_7"},
    {72, 0x48, 0x68, "kp_8"},
    {73, 0x49, 0x69, "kp_9"},
    {74, 0x4A, 0x6D, "kp_subtract"},
    {75, 0x4B, 0x64, "kp_4"},
    {76, 0x4C, 0x65, "kp_5"},
    {77, 0x4D, 0x66, "kp_6"},
    {78, 0x4E, 0x6B, "kp_add"},
    {79, 0x4F, 0x61, "kp_1"},
    {80, 0x50, 0x62, "kp_2"},
    {81, 0x51, 0x63, "kp_3"},
    {82, 0x52, 0x60, "kp_0"},
    {83, 0x53, 0x6E, "kp_decimal"},
    {85, 0x76, 0x00, ""},      // KEY_ZENKAKUHANKAKU: HID LANG5, which shares 0x76 with F24
    {86, 0x56, 0xE2, "less"},  // KEY_102ND
    {87, 0x57, 0x7A, "f11"},
    {88, 0x58, 0x7B, "f12"},
    {89, 0x73, 0xC1, "ro"},
    {90, 0x78, 0x00, ""},          // KEY_KATAKANA: HID LANG3
    {91, 0x77, 0x00, "hiragana"},  // KEY_HIRAGANA: HID LANG4
    {92, 0x79, 0x1C, "henkan"},
    {93, 0x70, 0x15, "katakanahiragana"},
    {94, 0x7B, 0x1D, "muhenkan"},
    {95, 0x5C, 0x00, ""},  // KEY_KPJPCOMMA: HID International 6
    {96, 0xE01C, 0x0D, "kp_enter"},
    {97, 0xE01D, 0xA3, "ctrl_r"},
    {98, 0xE035, 0x6F, "kp_divide"},
    {99, 0xE037, 0x2C, "print"},  // KEY_SYSRQ: the PrintScreen key
    {100, 0xE038, 0xA5, "alt_r"},
    {102, 0xE047, 0x24, "home"},
    {103, 0xE048, 0x26, "up"},
    {104, 0xE049, 0x21, "pgup"},
    {105, 0xE04B, 0x25, "left"},
    {106, 0xE04D, 0x27, "right"},
    {107, 0xE04F, 0x23, "end"},
    {108, 0xE050, 0x28, "down"},
    {109, 0xE051, 0x22, "pgdn"},
    {110, 0xE052, 0x2D, "insert"},
    {111, 0xE053, 0x2E, "delete"},
    {113, 0xE020, 0xAD, "audiomute"},
    {114, 0xE02E, 0xAE, "volumedown"},
    {115, 0xE030, 0xAF, "volumeup"},
    {116, 0xE05E, 0x00, "power"},
    {117, 0x59, 0x92, "kp_equals"},
    {118, 0xE04E, 0x00, ""},  // KEY_KPPLUSMINUS
    {119, kSet1Pause, 0x13, "pause"},
    {121, 0x7E, 0x6C, "kp_comma"},
    // The Korean keys have their own one-byte codes (no E0 prefix, make only).
    {122, 0xF2, 0x15, "lang1"},  // KEY_HANGEUL: Hangul/English
    {123, 0xF1, 0x19, "lang2"},  // KEY_HANJA
    {124, 0x7D, 0x00, "yen"},
    {125, 0xE05B, 0x5B, "meta_l"},
    {126, 0xE05C, 0x5C, "meta_r"},
    {127, 0xE05D, 0x5D, "compose"},
    {128, 0xE068, 0xA9, "stop"},
    {140, 0xE021, 0xB7, "calculator"},
    {142, 0xE05F, 0x5F, "sleep"},
    {143, 0xE063, 0x00, "wake"},
    {155, 0xE06C, 0xB4, "mail"},
    {156, 0xE066, 0xAB, "ac_bookmarks"},
    {157, 0xE06B, 0xB6, "computer"},
    {158, 0xE06A, 0xA6, "ac_back"},
    {159, 0xE069, 0xA7, "ac_forward"},
    {163, 0xE019, 0xB0, "audionext"},
    {164, 0xE022, 0xB3, "audioplay"},
    {165, 0xE010, 0xB1, "audioprev"},
    {166, 0xE024, 0xB2, "audiostop"},
    {172, 0xE032, 0xAC, "ac_home"},
    {173, 0xE067, 0xA8, "ac_refresh"},
    {179, 0xE076, 0x00, ""},  // KEY_KPLEFTPAREN
    {180, 0xE07B, 0x00, ""},  // KEY_KPRIGHTPAREN
    {183, 0x64, 0x7C, ""},    // F13..F24: QEMU 7.2 has no names for them
    {184, 0x65, 0x7D, ""},
    {185, 0x66, 0x7E, ""},
    {186, 0x67, 0x7F, ""},
    {187, 0x68, 0x80, ""},
    {188, 0x69, 0x81, ""},
    {189, 0x6A, 0x82, ""},
    {190, 0x6B, 0x83, ""},
    {191, 0x6C, 0x84, ""},
    {192, 0x6D, 0x85, ""},
    {193, 0x6E, 0x86, ""},
    {194, 0x76, 0x87, ""},
    {217, 0xE065, 0xAA, ""},  // KEY_SEARCH
    {226, 0xE06D, 0xB5, "mediaselect"},
});

constexpr bool sorted_unique() {
    for (std::size_t i = 1; i < kMap.size(); ++i) {
        if (kMap[i - 1].evdev >= kMap[i].evdev) return false;
    }
    return true;
}
static_assert(sorted_unique(), "the keymap must be sorted by evdev code for binary search");

}  // namespace

std::span<const KeyMapping> key_mappings() {
    return kMap;
}

std::optional<KeyMapping> map_evdev_key(std::uint16_t evdev_code) {
    const auto it =
        std::lower_bound(kMap.begin(), kMap.end(), evdev_code,
                         [](const KeyMapping& m, std::uint16_t c) { return m.evdev < c; });
    if (it == kMap.end() || it->evdev != evdev_code) return std::nullopt;
    return *it;
}

}  // namespace porthole::protocol
