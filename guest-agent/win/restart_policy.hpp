#pragma once
// When the service starts the agent again after it exits. The delay doubles
// from 1 s to 30 s while the agent keeps failing quickly, and goes back to
// 1 s once a run lasted long enough to count as healthy: a crash after hours
// of capture costs one second of black screen, not the 30 s of a back-off
// that never forgot. A configuration error is not retried at all.

#include <chrono>
#include <cstdint>
#include <string>

namespace porthole::agent::service {

// The agent's exit code for options it cannot run with (sysexits' EX_CONFIG):
// restarting would fail the same way.
inline constexpr std::uint32_t kExitConfigError = 78;

struct RestartDecision {
    bool restart = true;
    std::chrono::milliseconds delay{0};
    std::string message;  // for the service's log
};

class RestartPolicy {
  public:
    using ms = std::chrono::milliseconds;
    explicit RestartPolicy(ms initial = ms(1000), ms maximum = ms(30000),
                           ms healthy_run = std::chrono::minutes(1))
        : initial_(initial), max_(maximum), healthy_(healthy_run), next_(initial) {}

    // The agent exited with `code` after running for `ran_for`.
    RestartDecision on_exit(std::uint32_t code, ms ran_for);
    // The agent could not be started at all (no console session, token error).
    ms on_launch_failure();
    [[nodiscard]] ms next_delay() const { return next_; }

  private:
    ms take();
    ms initial_, max_, healthy_, next_;
};

}  // namespace porthole::agent::service
