#pragma once
// Log lines whose cause the guest controls (session changes, validation
// errors, bad frames or cursor shapes): rate limited per call site, with the
// suppressed count said later. Guest text in them goes through printable().

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstdint>
#include <string_view>
#include <utility>

#include "porthole/util/log_limiter.hpp"
#include "porthole/util/printable.hpp"

namespace porthole::client {

class GuestLog {
  public:
    // Ten lines a minute per call site: every honest event (an agent restart, a
    // VM pause) still shows, a hostile guest gets a count.
    GuestLog() : limiter_(LogLimiter::Config{10, 60'000'000'000}) {}
    explicit GuestLog(LogLimiter::Config c) : limiter_(c) {}

    template <class... Args>
    void log(spdlog::level::level_enum level, std::string_view key, std::uint64_t now_ns,
             fmt::format_string<Args...> format, Args&&... args) {
        if (!spdlog::should_log(level)) return;
        const auto d = limiter_.check(key, now_ns);
        if (!d.emit) return;
        auto line = fmt::format(format, std::forward<Args>(args)...);
        if (d.suppressed_before != 0)
            line += fmt::format(" (... and {} more in the last minute)", d.suppressed_before);
        spdlog::log(level, "{}", line);
    }

    // Says how many lines each quiet key suppressed in its last window.
    void flush(std::uint64_t now_ns) {
        for (const auto& s : limiter_.expired(now_ns))
            spdlog::warn("{}: ... and {} more in the last minute", s.key, s.suppressed);
    }

  private:
    LogLimiter limiter_;
};

}  // namespace porthole::client
