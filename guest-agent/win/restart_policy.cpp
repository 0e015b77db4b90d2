#include "win/restart_policy.hpp"

#include <algorithm>

namespace porthole::agent::service {

RestartPolicy::ms RestartPolicy::take() {
    const ms d = next_;
    next_ = std::min(next_ * 2, max_);
    return d;
}

RestartDecision RestartPolicy::on_exit(std::uint32_t code, ms ran_for) {
    RestartDecision d;
    if (code == kExitConfigError) {
        d.restart = false;
        d.message =
            "the agent stopped on a configuration error (exit code 78): not restarting it. Fix "
            "the options (porthole-agent.log says which), then 'porthole-agent install' again or "
            "restart the service";
        return d;
    }
    if (ran_for >= healthy_) next_ = initial_;  // a healthy run forgets earlier failures
    d.delay = take();
    d.message = "agent exited with code " + std::to_string(code) + " after " +
                std::to_string(ran_for.count() / 1000) + " s; restarting in " +
                std::to_string(d.delay.count()) + " ms";
    return d;
}

RestartPolicy::ms RestartPolicy::on_launch_failure() {
    return take();
}

}  // namespace porthole::agent::service
