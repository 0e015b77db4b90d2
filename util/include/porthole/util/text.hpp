#pragma once
// Small text helpers for the files people write (config files, X resources).

#include <string_view>

namespace porthole {

// `s` without the spaces, tabs (and a CRLF file's '\r') around it.
inline std::string_view trim_blanks(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

}  // namespace porthole
