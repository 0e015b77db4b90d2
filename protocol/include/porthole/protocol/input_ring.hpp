#pragma once
// The input channel: a lock-free single-producer (host) single-consumer
// (guest) ring of fixed-size evdev-style events. Neither side trusts the
// other's index: a consumer that finds an impossible head resynchronises.

#include <cstdint>
#include <span>

#include "porthole/protocol/region.hpp"
#include "porthole/util/result.hpp"

namespace porthole::protocol {

// evdev event types and the few codes the protocol itself interprets.
namespace ev {
inline constexpr std::uint16_t syn = 0x00, key = 0x01, rel = 0x02, abs = 0x03;
inline constexpr std::uint16_t syn_report = 0;
inline constexpr std::uint16_t abs_x = 0x00, abs_y = 0x01;
inline constexpr std::int32_t abs_max = 32767;
inline constexpr std::uint16_t max_key_code = 0x2ff;
inline constexpr std::uint16_t max_rel_code = 0x0f;
}  // namespace ev

// Whether an event read from the ring is one the guest may inject.
bool is_valid_input_event(const InputEvent& e);

// The agent lays out the ring at session start.
Status init_input_ring(std::span<std::byte> channel, std::uint32_t capacity);

class InputRingWriter {  // host side
  public:
    static Result<InputRingWriter> attach(std::span<std::byte> channel);
    // Appends events; all or none (a batch is one SYN_REPORT's worth). False
    // when the ring lacks room: counted in host_overflow, nothing written.
    bool push(std::span<const InputEvent> events);
    [[nodiscard]] std::uint64_t overflow() const { return overflow_; }
    // Free slots as the host sees them now.
    [[nodiscard]] std::uint64_t free_space() const;
    // Back to an empty ring (the agent restarted and reset its tail).
    void reset();

  private:
    InputRingWriter(std::span<std::byte> channel, std::uint32_t capacity,
                    std::uint64_t events_offset)
        : channel_(channel), capacity_(capacity), events_offset_(events_offset) {}
    std::span<std::byte> channel_;
    std::uint32_t capacity_;
    std::uint64_t events_offset_;
    std::uint64_t head_ = 0;
    std::uint64_t overflow_ = 0;
};

class InputRingReader {  // guest side
  public:
    static Result<InputRingReader> attach(std::span<std::byte> channel);
    // Takes up to out.size() events; invalid events are skipped and counted.
    std::size_t pop(std::span<InputEvent> out);
    [[nodiscard]] std::uint64_t rejected() const { return rejected_; }
    [[nodiscard]] std::uint64_t resyncs() const { return resyncs_; }
    // Events the host could not deliver because the ring was full.
    [[nodiscard]] std::uint64_t host_overflow() const;

  private:
    InputRingReader(std::span<std::byte> channel, std::uint32_t capacity,
                    std::uint64_t events_offset)
        : channel_(channel), capacity_(capacity), events_offset_(events_offset) {}
    std::span<std::byte> channel_;
    std::uint32_t capacity_;
    std::uint64_t events_offset_;
    std::uint64_t tail_ = 0;
    std::uint64_t rejected_ = 0;
    std::uint64_t resyncs_ = 0;
};

}  // namespace porthole::protocol
