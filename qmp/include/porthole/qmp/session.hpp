#pragma once
// A blocking QMP session for commands that a person or a tool runs once
// (live pinning, USB attach and detach): connect, greeting, capabilities, then
// one command at a time. Every step has a deadline, so a QEMU that hangs or a
// socket that is not QEMU's gives an error, never a hung tool. Events that
// arrive meanwhile are kept (the last kMaxEvents) for wait_event.
// The client's input delivery keeps its own asynchronous connection
// (host-client/qmp), built on the same message rules (message.hpp).

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "porthole/qmp/channel.hpp"
#include "porthole/qmp/message.hpp"
#include "porthole/util/result.hpp"

namespace porthole::qmp {

class Session final : public Channel {
  public:
    static constexpr std::size_t kMaxEvents = 256;

    // Connects to QEMU's QMP socket and negotiates capabilities; each step
    // (connect, greeting, qmp_capabilities) must finish within `timeout`.
    static Result<Session> connect(const std::string& socket_path,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(5));

    Session(Session&&) noexcept;
    Session& operator=(Session&&) noexcept;
    ~Session() override;

    // Runs one command; its "return" value, or QEMU's error as
    // "QMP <command> failed: <desc>" (Error::code: 1 for a QEMU error, else 0).
    Result<nlohmann::json> execute(std::string_view command,
                                   const nlohmann::json& arguments = nullptr) override;

    // The next event named `name` for which `match` is true (events already
    // received count first), within `timeout`.
    Result<nlohmann::json> wait_event(std::string_view name,
                                      const std::function<bool(const nlohmann::json&)>& match,
                                      std::chrono::milliseconds timeout) override;

    [[nodiscard]] QemuVersion version() const;

  private:
    struct Impl;
    explicit Session(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace porthole::qmp
