#pragma once
// Where input batches go: the region's input ring (to porthole-agent) or
// QEMU's QMP socket (qmp/sink.hpp). A batch is one SYN_REPORT's worth.

#include <cstdint>
#include <mutex>
#include <optional>
#include <span>

#include "porthole/protocol/input_ring.hpp"

namespace porthole::client::input {

class InputSink {
  public:
    virtual ~InputSink() = default;
    // Delivers one batch ending in SYN_REPORT; may be called from any one thread.
    virtual void deliver(std::span<const protocol::InputEvent> batch) = 0;
};

// Writes batches into the region's input ring. The ring writer changes with
// every agent session: the app hands the new one over (or none while no
// agent is connected; batches are then dropped and counted).
class RegionInputSink final : public InputSink {
  public:
    void deliver(std::span<const protocol::InputEvent> batch) override;
    // Takes the writer of a new agent session (nullopt: no agent).
    void attach(std::optional<protocol::InputRingWriter> writer);
    // Events not written: ring full (the agent shows it too) or no agent.
    [[nodiscard]] std::uint64_t overflow() const;
    [[nodiscard]] std::uint64_t delivered() const;

  private:
    mutable std::mutex mutex_;
    std::optional<protocol::InputRingWriter> writer_;
    std::uint64_t no_agent_ = 0;
    std::uint64_t delivered_ = 0;
    std::uint64_t previous_overflow_ = 0;  // from earlier sessions
};

}  // namespace porthole::client::input
