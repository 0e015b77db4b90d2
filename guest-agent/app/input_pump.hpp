#pragma once
// Moves the host's input from the region's ring to the OS injector on a
// thread of its own, so that a capture call that blocks never delays a key.
// Overflow the host reported and events the guest rejected are logged as
// counts (rate-limited): nothing is dropped silently.

#include <atomic>
#include <cstdint>
#include <thread>

#include "input/injector.hpp"
#include "porthole/protocol/input_ring.hpp"
#include "porthole/protocol/pad_feedback.hpp"

namespace porthole::agent {

class InputPump {
  public:
    // Both must outlive the pump; the pump is the ring reader's only user.
    // `feedback` (may be null) takes the injector's pad force feedback for the host.
    InputPump(protocol::InputRingReader& ring, InputInjector& injector,
              protocol::PadFeedbackWriter* feedback = nullptr);
    InputPump(const InputPump&) = delete;
    InputPump& operator=(const InputPump&) = delete;
    ~InputPump();  // stops and joins the thread

    [[nodiscard]] std::uint64_t batches() const { return batches_.load(); }

  private:
    void run(const std::stop_token& stop);

    protocol::InputRingReader& ring_;
    InputInjector& injector_;
    protocol::PadFeedbackWriter* feedback_;
    std::atomic<std::uint64_t> batches_{0};
    std::jthread thread_;
};

}  // namespace porthole::agent
