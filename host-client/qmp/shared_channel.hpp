#pragma once
// The input connection as a porthole::qmp::Channel, for tools inside the
// client (the --usb devices) when input already goes over QMP: QEMU serves one
// client per QMP socket, so a second connection would get no greeting.
// Blocking calls with a deadline, made from a worker thread, never from the
// client's QMP I/O thread (they wait for it).

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>

#include "porthole/qmp/channel.hpp"
#include "qmp/client.hpp"

namespace porthole::client::qmp {

class SharedChannel final : public porthole::qmp::Channel {
  public:
    static constexpr std::size_t kMaxEvents = 256;

    // Events are kept from now on (the last kMaxEvents). `client` outlives this.
    explicit SharedChannel(QmpClient& client,
                           std::chrono::milliseconds timeout = std::chrono::seconds(5));
    ~SharedChannel() override;
    SharedChannel(const SharedChannel&) = delete;
    SharedChannel& operator=(const SharedChannel&) = delete;

    Result<nlohmann::json> execute(std::string_view command,
                                   const nlohmann::json& arguments = nullptr) override;
    Result<nlohmann::json> wait_event(std::string_view name,
                                      const std::function<bool(const nlohmann::json&)>& match,
                                      std::chrono::milliseconds timeout) override;

  private:
    // Shared with the callbacks on the I/O thread, which may run after a timeout here.
    struct State {
        std::mutex mutex;
        std::condition_variable cv;
        std::deque<nlohmann::json> events;
    };
    QmpClient& client_;
    std::chrono::milliseconds timeout_;
    std::shared_ptr<State> state_ = std::make_shared<State>();
};

}  // namespace porthole::client::qmp
