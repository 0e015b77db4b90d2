#pragma once
// What a shell command prints on stdout (tests drive xdotool, pw-cli,
// pw-dump); empty when it cannot run or exits non-zero.
#include <cstdio>
#include <string>

namespace porthole::test {

inline std::string command_output(const std::string& cmd) {
    std::string out;
    FILE* p = ::popen((cmd + " 2>/dev/null").c_str(), "r");
    if (p == nullptr) return out;
    char buf[4096];
    for (std::size_t n = 0; (n = std::fread(buf, 1, sizeof buf, p)) > 0;)
        out.append(buf, n);
    return ::pclose(p) == 0 ? out : std::string{};
}

}  // namespace porthole::test
