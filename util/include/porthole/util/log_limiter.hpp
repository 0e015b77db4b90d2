#pragma once
// Rate limiting for log lines whose cause the guest controls: each key (a
// call site, never guest data) may log `burst` lines per window; the rest
// are counted and reported once the window is over ("... and N more in the
// last minute"), so a hostile guest cannot flood the host's log or disk.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace porthole {

class LogLimiter {
  public:
    struct Config {
        std::uint32_t burst = 5;                   // lines per key and window
        std::uint64_t window_ns = 60'000'000'000;  // one minute
    };
    struct Decision {
        bool emit = false;
        // Lines of this key suppressed in the window that just ended: the
        // caller says so with the line it emits.
        std::uint64_t suppressed_before = 0;
    };
    struct Summary {
        std::string key;
        std::uint64_t suppressed = 0;
    };

    LogLimiter() = default;
    explicit LogLimiter(Config c) : config_(c) {}

    // Whether a line of `key` may be logged at `now_ns` (monotonic).
    Decision check(std::string_view key, std::uint64_t now_ns) {
        auto it = keys_.find(key);
        if (it == keys_.end()) it = keys_.emplace(std::string(key), State{now_ns, 0, 0}).first;
        State& s = it->second;
        Decision d;
        if (now_ns - s.window_start >= config_.window_ns) {
            d.suppressed_before = s.suppressed;
            s = State{now_ns, 0, 0};
        }
        if (s.emitted < config_.burst) {
            s.emitted++;
            d.emit = true;
        } else {
            s.suppressed++;
        }
        return d;
    }

    // Keys whose window ended with suppressed lines and no line since: their
    // counts, once (call it now and then, e.g. every second).
    std::vector<Summary> expired(std::uint64_t now_ns) {
        std::vector<Summary> out;
        for (auto& [key, s] : keys_) {
            if (s.suppressed != 0 && now_ns - s.window_start >= config_.window_ns) {
                out.push_back({key, s.suppressed});
                s = State{now_ns, 0, 0};
            }
        }
        return out;
    }

    // Suppressed so far in the current window of `key`.
    [[nodiscard]] std::uint64_t suppressed(std::string_view key) const {
        const auto it = keys_.find(key);
        return it == keys_.end() ? 0 : it->second.suppressed;
    }

  private:
    struct State {
        std::uint64_t window_start;
        std::uint32_t emitted;
        std::uint64_t suppressed;
    };
    Config config_{};
    std::map<std::string, State, std::less<>> keys_;
};

}  // namespace porthole
