#pragma once
// porthole-agent --self-test: what only a real Windows guest can tell us
// (the IVSHMEM device, the outputs and their adapters, one DXGI frame and
// cursor shape, 100 ms of WASAPI loopback with its format and level,
// SendInput, SendSAS's policy, the service), in plain words or as JSON for a
// bug report.

#include <string>
#include <vector>

namespace porthole::agent {

struct SelfTestCheck {
    enum class Outcome { pass, fail, skip };
    std::string name;  // stable key: ivshmem, outputs, dxgi_frame, ...
    Outcome outcome = Outcome::skip;
    std::string summary;               // one line
    std::vector<std::string> details;  // further lines (each output, ...)
};

struct SelfTestReport {
    std::string agent_version;
    std::vector<SelfTestCheck> checks;
    [[nodiscard]] bool all_passed() const;
};

std::string to_text(const SelfTestReport& r);
std::string to_json(const SelfTestReport& r);

#ifdef _WIN32
// Runs every check on this machine (IVSHMEM device `device_index`).
SelfTestReport run_self_test(unsigned device_index);
#endif

}  // namespace porthole::agent
