#include "porthole/protocol/input_ring.hpp"

#include <bit>
#include <string>

#include "porthole/protocol/layout.hpp"
#include "porthole/protocol/shared_memory.hpp"

namespace porthole::protocol {
namespace {

Error channel_error(std::string msg) {
    return Error::make(std::move(msg), static_cast<int>(RegionError::bad_channel_header));
}

constexpr std::uint64_t kEventsOffset = kPageSize;

// Shared by both sides: the ring geometry the agent wrote, checked.
Result<std::pair<std::uint32_t, std::uint64_t>> ring_geometry(std::span<const std::byte> channel) {
    if (channel.size() < kEventsOffset) return channel_error("input channel too small");
    const auto h = copy_out(*reinterpret_cast<const InputRingHeader*>(channel.data()));
    const std::uint64_t capacity = h.capacity;
    const std::uint64_t event_size = h.event_size;
    const std::uint64_t events_offset = h.events_offset;
    if (capacity == 0 || !std::has_single_bit(capacity) || capacity > (1U << 20) ||
        event_size != sizeof(InputEvent) || events_offset < kPadFeedbackEnd ||
        events_offset % 8 != 0 || events_offset > channel.size() ||
        (channel.size() - events_offset) / sizeof(InputEvent) < capacity) {
        return channel_error("input ring header does not fit its channel");
    }
    return std::pair{static_cast<std::uint32_t>(capacity), events_offset};
}

}  // namespace

bool is_valid_input_event(const InputEvent& e) {
    if (e.device > pad::kMaxGamepads) return false;
    if (e.device != 0) {
        switch (e.type) {
            case ev::syn:
                return e.code == ev::syn_report || e.code == pad::syn_gone;
            case ev::key:
                return pad::is_button(e.code) && (e.value == 0 || e.value == 1);
            case ev::abs: {
                const auto r = pad::axis_range(e.code);
                return r && e.value >= r->min && e.value <= r->max;
            }
            default:
                return false;
        }
    }
    switch (e.type) {
        case ev::syn:
            return e.code == ev::syn_report;
        case ev::key:
            return e.code <= ev::max_key_code && e.value >= 0 && e.value <= 2;
        case ev::rel:
            return e.code <= ev::max_rel_code;
        case ev::abs:
            return (e.code == ev::abs_x || e.code == ev::abs_y) && e.value >= 0 &&
                   e.value <= ev::abs_max;
        default:
            return false;
    }
}

Status init_input_ring(std::span<std::byte> channel, std::uint32_t capacity) {
    if (!std::has_single_bit(capacity) ||
        channel.size() < kEventsOffset + std::uint64_t{capacity} * sizeof(InputEvent)) {
        return channel_error("input channel too small for its capacity");
    }
    InputRingHeader h{};
    h.capacity = capacity;
    h.event_size = sizeof(InputEvent);
    h.events_offset = kEventsOffset;
    copy_in(*reinterpret_cast<InputRingHeader*>(channel.data()), h);
    return {};
}

// ---- host: producer

Result<InputRingWriter> InputRingWriter::attach(std::span<std::byte> channel) {
    auto g = ring_geometry(channel);
    if (!g) return g.error();
    InputRingWriter w(channel, g->first, g->second);
    w.reset();
    return w;
}

void InputRingWriter::reset() {
    auto& h = *reinterpret_cast<InputRingHeader*>(channel_.data());
    head_ = 0;
    store_release(h.head, 0);
}

std::uint64_t InputRingWriter::free_space() const {
    const auto& h = *reinterpret_cast<const InputRingHeader*>(channel_.data());
    const std::uint64_t tail = load_acquire(h.tail);
    // A tail the host never produced (agent restarted, or garbage): treat as empty.
    if (tail > head_ || head_ - tail > capacity_) return capacity_;
    return capacity_ - (head_ - tail);
}

bool InputRingWriter::push(std::span<const InputEvent> events) {
    auto& h = *reinterpret_cast<InputRingHeader*>(channel_.data());
    if (events.size() > free_space()) {
        overflow_ += events.size();
        store_relaxed(h.host_overflow, overflow_);
        return false;
    }
    auto* ring = reinterpret_cast<InputEvent*>(channel_.data() + events_offset_);
    for (const InputEvent& e : events) {
        copy_in(ring[head_ & (capacity_ - 1)], e);
        ++head_;
    }
    store_release(h.head, head_);
    return true;
}

// ---- guest: consumer

Result<InputRingReader> InputRingReader::attach(std::span<std::byte> channel) {
    auto g = ring_geometry(channel);
    if (!g) return g.error();
    InputRingReader r(channel, g->first, g->second);
    const auto& h = *reinterpret_cast<const InputRingHeader*>(channel.data());
    r.tail_ = load_acquire(h.head);  // start at "now": events from before we ran are stale
    store_release(reinterpret_cast<InputRingHeader*>(channel.data())->tail, r.tail_);
    return r;
}

std::uint64_t InputRingReader::host_overflow() const {
    return load_relaxed(reinterpret_cast<const InputRingHeader*>(channel_.data())->host_overflow);
}

std::size_t InputRingReader::pop(std::span<InputEvent> out) {
    auto& h = *reinterpret_cast<InputRingHeader*>(channel_.data());
    const std::uint64_t head = load_acquire(h.head);
    if (head < tail_ || head - tail_ > capacity_) {
        // The host restarted (head back to 0) or wrote nonsense: start over.
        tail_ = head;
        resyncs_++;
        store_release(h.tail, tail_);
        return 0;
    }
    const auto* ring = reinterpret_cast<const InputEvent*>(channel_.data() + events_offset_);
    std::size_t n = 0;
    while (tail_ < head && n < out.size()) {
        const InputEvent e = copy_out(ring[tail_ & (capacity_ - 1)]);
        ++tail_;
        if (is_valid_input_event(e)) {
            out[n++] = e;
        } else {
            rejected_++;
        }
    }
    store_relaxed(h.guest_rejected, rejected_);
    store_release(h.tail, tail_);
    return n;
}

}  // namespace porthole::protocol
