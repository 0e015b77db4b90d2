#pragma once
// Text from the guest, made safe to print: a guest must not be able to clear
// the host's terminal, move its cursor or forge log lines.

#include <cstddef>
#include <string>
#include <string_view>

namespace porthole {

// `s` with every byte outside printable ASCII (controls, DEL, bytes of 0x80
// and up) and the backslash shown as \xNN, so the output is unambiguous and
// pure printable ASCII; at most `max_len` input bytes are kept, a cut marked
// with "...".
inline std::string printable(std::string_view s, std::size_t max_len = 64) {
    constexpr char kHex[] = "0123456789abcdef";
    const bool cut = s.size() > max_len;
    if (cut) s = s.substr(0, max_len);
    std::string out;
    out.reserve(s.size() + 3);
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            out.push_back(ch);
        } else {
            out += "\\x";
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 0xf]);
        }
    }
    if (cut) out += "...";
    return out;
}

}  // namespace porthole
