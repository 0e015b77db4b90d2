#pragma once
// Input batches to QEMU over QMP: an InputSink that owns a QmpClient.

#include <memory>

#include "input/sink.hpp"
#include "qmp/client.hpp"

namespace porthole::client::qmp {

class QmpInputSink final : public input::InputSink {
  public:
    explicit QmpInputSink(QmpConfig config) : client_(std::move(config)) { client_.start(); }
    void deliver(std::span<const protocol::InputEvent> batch) override { client_.send(batch); }
    [[nodiscard]] QmpClient& client() { return client_; }

  private:
    QmpClient client_;
};

}  // namespace porthole::client::qmp
