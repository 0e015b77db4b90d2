#pragma once
// Logs a message a bad guest can cause every audio period (a garbage Scream
// header, a format flapping back and forth) once, then only how often it
// recurred, at most once per interval: a broken ring costs a few log lines a
// minute, not hundreds a second. Time is passed in (testable, no clock here).

#include <cstdint>

namespace porthole::client::audio {

class RepeatLimiter {
  public:
    explicit RepeatLimiter(std::uint64_t every_ns = 10'000'000'000ULL) : every_ns_(every_ns) {}

    // `n` occurrences seen at now_ns. True: log the message itself (its
    // first time, or the first time after a whole quiet interval); the rest
    // are counted for due().
    bool note(std::uint64_t now_ns, std::uint64_t n = 1) {
        if (n == 0) return false;
        if (!said_ || (pending_ == 0 && now_ns - said_ns_ >= every_ns_)) {
            said_ = true;
            said_ns_ = now_ns;
            pending_ += n - 1;
            return true;
        }
        pending_ += n;
        return false;
    }
    // Repeats to report now (log "... N more times"): 0 until an interval has
    // passed since the last line.
    std::uint64_t due(std::uint64_t now_ns) {
        if (pending_ == 0 || now_ns - said_ns_ < every_ns_) return 0;
        const std::uint64_t n = pending_;
        pending_ = 0;
        said_ns_ = now_ns;
        return n;
    }
    [[nodiscard]] std::uint64_t every_ns() const { return every_ns_; }

  private:
    std::uint64_t every_ns_;
    std::uint64_t said_ns_ = 0;
    std::uint64_t pending_ = 0;
    bool said_ = false;
};

}  // namespace porthole::client::audio
