#include "app/self_test.hpp"

#include <nlohmann/json.hpp>

namespace porthole::agent {

namespace {
const char* outcome_name(SelfTestCheck::Outcome o) {
    switch (o) {
        case SelfTestCheck::Outcome::pass:
            return "pass";
        case SelfTestCheck::Outcome::fail:
            return "FAIL";
        case SelfTestCheck::Outcome::skip:
            return "skip";
    }
    return "?";
}
}  // namespace

bool SelfTestReport::all_passed() const {
    for (const auto& c : checks)
        if (c.outcome == SelfTestCheck::Outcome::fail) return false;
    return true;
}

std::string to_text(const SelfTestReport& r) {
    std::string out = "porthole-agent self-test (" + r.agent_version + ")\n";
    for (const auto& c : r.checks) {
        out += std::string("[") + outcome_name(c.outcome) + "] " + c.name + ": " + c.summary + "\n";
        for (const auto& d : c.details)
            out += "       " + d + "\n";
    }
    out += r.all_passed()
               ? "All checks passed.\n"
               : "Some checks failed: attach this output (or --json) to your bug report.\n";
    return out;
}

std::string to_json(const SelfTestReport& r) {
    nlohmann::json j;
    j["agent"] = r.agent_version;
    j["passed"] = r.all_passed();
    j["checks"] = nlohmann::json::array();
    for (const auto& c : r.checks) {
        std::string o = outcome_name(c.outcome);
        if (o == "FAIL") o = "fail";
        j["checks"].push_back(
            {{"name", c.name}, {"outcome", o}, {"summary", c.summary}, {"details", c.details}});
    }
    // Replace invalid UTF-8 (device names) instead of throwing.
    return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace porthole::agent
