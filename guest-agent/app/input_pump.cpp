#include "app/input_pump.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <chrono>
#include <vector>

#include "porthole/util/adaptive_wait.hpp"

namespace porthole::agent {

InputPump::InputPump(protocol::InputRingReader& ring, InputInjector& injector,
                     protocol::PadFeedbackWriter* feedback)
    : ring_(ring),
      injector_(injector),
      feedback_(feedback),
      thread_([this](std::stop_token s) { run(s); }) {}

InputPump::~InputPump() {
    thread_.request_stop();
    if (thread_.joinable()) thread_.join();
}

void InputPump::run(const std::stop_token& stop) {
    std::array<protocol::InputEvent, 256> buf{};
    AdaptiveWait wait(kBurstyWait);  // input comes in bursts
    std::uint64_t overflow_seen = ring_.host_overflow();
    std::uint64_t rejected_seen = 0;
    auto next_report = std::chrono::steady_clock::now();
    std::vector<protocol::PadFeedbackRecord> feedback;
    std::uint64_t feedback_failures = 0;
    while (!stop.stop_requested()) {
        // A game's EVIOCSFF waits for its upload to be answered: served every round.
        feedback.clear();
        if (auto s = injector_.take_feedback(feedback); !s && feedback_failures++ == 0)
            spdlog::warn("gamepad force feedback: {}", s.error().message);
        if (feedback_ != nullptr)
            for (const auto& r : feedback)
                feedback_->push(r);
        const std::size_t n = ring_.pop(buf);
        if (!feedback.empty()) wait.activity();
        if (n == 0) {
            wait.idle();
        } else {
            wait.activity();
            if (auto ok = injector_.inject(std::span(buf.data(), n)); !ok) {
                spdlog::warn("input injection failed: {}", ok.error().message);
            }
            batches_++;
        }
        const auto now = std::chrono::steady_clock::now();
        if (now >= next_report) {
            next_report = now + std::chrono::seconds(5);
            if (const auto o = ring_.host_overflow(); o != overflow_seen) {
                spdlog::warn("the host dropped {} input events: the input ring was full",
                             o - overflow_seen);
                overflow_seen = o;
            }
            if (ring_.rejected() != rejected_seen) {
                spdlog::warn("{} invalid input events from the host were ignored",
                             ring_.rejected() - rejected_seen);
                rejected_seen = ring_.rejected();
            }
        }
    }
}

}  // namespace porthole::agent
