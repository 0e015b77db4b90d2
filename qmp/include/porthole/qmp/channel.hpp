#pragma once
// What a QMP user needs from a connection: run a command, wait for an event.
// Two implementations: the blocking Session (a connection of its own), and the
// client's input connection (host-client/qmp) when it already holds QEMU's
// socket (QEMU serves one client per QMP socket).

#include <chrono>
#include <functional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "porthole/util/result.hpp"

namespace porthole::qmp {

class Channel {
  public:
    virtual ~Channel() = default;
    // Runs one command; its "return" value, or QEMU's error as
    // "QMP <command> failed: <desc>" with Error::code kQemuRefused, or the
    // connection's error (code 0).
    virtual Result<nlohmann::json> execute(std::string_view command,
                                           const nlohmann::json& arguments = nullptr) = 0;
    // The next event named `name` for which `match` is true (events received
    // since the channel was opened count first, each given once), within `timeout`.
    virtual Result<nlohmann::json> wait_event(
        std::string_view name, const std::function<bool(const nlohmann::json&)>& match,
        std::chrono::milliseconds timeout) = 0;

    // A QEMU error from execute() (as against a lost or broken connection).
    static constexpr int kQemuRefused = 1;
};

}  // namespace porthole::qmp
