#pragma once
// A problem the agent keeps meeting (a frame that does not fit, a lost
// duplication) is logged when it starts or changes, and then at most once a
// minute with how often it happened, so a stuck desktop never floods the log.

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace porthole::agent {

class RepeatedProblem {
  public:
    using Clock = std::chrono::steady_clock;
    explicit RepeatedProblem(Clock::duration every = std::chrono::minutes(1)) : every_(every) {}

    // Returns true if this call logged.
    bool report(const std::string& what, Clock::time_point now = Clock::now()) {
        ++count_;
        if (what != current_) {
            current_ = what;
            count_ = 1;
            last_log_ = now;
            spdlog::warn("{}", what);
            return true;
        }
        if (now - last_log_ >= every_) {
            spdlog::warn("{} (x{} since the last report)", what, count_);
            count_ = 0;
            last_log_ = now;
            return true;
        }
        return false;
    }
    // The problem is over (a frame went out again).
    void clear() {
        if (!current_.empty()) spdlog::info("recovered: frames are published again");
        current_.clear();
        count_ = 0;
    }
    [[nodiscard]] const std::string& current() const { return current_; }

  private:
    Clock::duration every_;
    std::string current_;
    std::uint64_t count_ = 0;
    Clock::time_point last_log_{};
};

}  // namespace porthole::agent
