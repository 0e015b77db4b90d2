#pragma once
// Force feedback of the guest's pads, guest -> host (region.hpp's
// PadFeedbackHeader): a ring of fixed records the agent writes without ever
// waiting, and the host reads, validating every record. A host that fell
// behind by more than the ring counts the records it lost.

#include <cstdint>
#include <span>

#include "porthole/protocol/region.hpp"
#include "porthole/util/result.hpp"

namespace porthole::protocol {

// Whether a record read from the ring is one the host may act on: a known
// op, a pad slot 1..pad::kMaxGamepads, an effect id below kPadEffectsMax, a
// play count 1..kMaxPadPlayCount, a gain 0..0xffff.
bool is_valid_pad_feedback(const PadFeedbackRecord& r);

// The agent lays out the ring at session start (after init_input_ring).
Status init_pad_feedback(std::span<std::byte> input_channel);

class PadFeedbackWriter {  // guest side
  public:
    static Result<PadFeedbackWriter> attach(std::span<std::byte> input_channel);
    // Appends one record; the oldest is overwritten when the host is behind.
    void push(const PadFeedbackRecord& r);
    [[nodiscard]] std::uint64_t written() const { return head_; }

  private:
    explicit PadFeedbackWriter(std::span<std::byte> channel) : channel_(channel) {}
    std::span<std::byte> channel_;
    std::uint64_t head_ = 0;
};

class PadFeedbackReader {  // host side
  public:
    // Fails when the agent's header does not match the protocol's fixed ring.
    static Result<PadFeedbackReader> attach(std::span<const std::byte> input_channel);
    // Takes up to out.size() valid records, oldest first. Records the agent
    // overwrote before they were read count as lost, invalid ones as rejected.
    std::size_t pop(std::span<PadFeedbackRecord> out);
    [[nodiscard]] std::uint64_t lost() const { return lost_; }
    [[nodiscard]] std::uint64_t rejected() const { return rejected_; }

  private:
    PadFeedbackReader(std::span<const std::byte> channel, std::uint64_t tail)
        : channel_(channel), tail_(tail) {}
    std::span<const std::byte> channel_;
    std::uint64_t tail_;
    std::uint64_t lost_ = 0;
    std::uint64_t rejected_ = 0;
};

}  // namespace porthole::protocol
