#include "porthole/protocol/pad_feedback.hpp"

#include <algorithm>
#include <array>

#include "porthole/protocol/input_ring.hpp"
#include "porthole/protocol/layout.hpp"
#include "porthole/protocol/shared_memory.hpp"

namespace porthole::protocol {
namespace {

Error channel_error(std::string msg) {
    return Error::make(std::move(msg), static_cast<int>(RegionError::bad_channel_header));
}

PadFeedbackHeader& header(std::span<std::byte> c) {
    return *reinterpret_cast<PadFeedbackHeader*>(c.data() + kPadFeedbackOffset);
}
const PadFeedbackHeader& header(std::span<const std::byte> c) {
    return *reinterpret_cast<const PadFeedbackHeader*>(c.data() + kPadFeedbackOffset);
}
const PadFeedbackRecord* records(std::span<const std::byte> c) {
    return reinterpret_cast<const PadFeedbackRecord*>(c.data() + kPadFeedbackRecordsOffset);
}

}  // namespace

bool is_valid_pad_feedback(const PadFeedbackRecord& r) {
    if (r.device < 1 || r.device > pad::kMaxGamepads) return false;
    switch (static_cast<PadFeedbackOp>(r.op)) {
        case PadFeedbackOp::upload:
        case PadFeedbackOp::stop:
        case PadFeedbackOp::erase:
            return r.effect < kPadEffectsMax;
        case PadFeedbackOp::play:
            return r.effect < kPadEffectsMax && r.value >= 1 && r.value <= kMaxPadPlayCount;
        case PadFeedbackOp::gain:
            return r.value <= 0xffff;
    }
    return false;
}

Status init_pad_feedback(std::span<std::byte> input_channel) {
    if (input_channel.size() < kPadFeedbackEnd)
        return channel_error("input channel too small for the pad feedback ring");
    PadFeedbackHeader h{};
    h.capacity = kPadFeedbackCapacity;
    h.record_size = sizeof(PadFeedbackRecord);
    copy_in(header(input_channel), h);
    return {};
}

Result<PadFeedbackWriter> PadFeedbackWriter::attach(std::span<std::byte> input_channel) {
    if (input_channel.size() < kPadFeedbackEnd)
        return channel_error("input channel too small for the pad feedback ring");
    PadFeedbackWriter w(input_channel);
    store_release(header(input_channel).head, 0);
    return w;
}

void PadFeedbackWriter::push(const PadFeedbackRecord& r) {
    auto* ring = reinterpret_cast<PadFeedbackRecord*>(channel_.data() + kPadFeedbackRecordsOffset);
    copy_in(ring[head_ % kPadFeedbackCapacity], r);
    ++head_;
    store_release(header(channel_).head, head_);
}

Result<PadFeedbackReader> PadFeedbackReader::attach(std::span<const std::byte> input_channel) {
    if (input_channel.size() < kPadFeedbackEnd)
        return channel_error("input channel too small for the pad feedback ring");
    const auto h = copy_out(header(input_channel));
    if (h.capacity != kPadFeedbackCapacity || h.record_size != sizeof(PadFeedbackRecord))
        return channel_error("pad feedback ring header does not match the protocol");
    // Only what the agent writes from now on: a client attaching mid-session
    // must not replay effects that played long ago.
    return PadFeedbackReader(input_channel, load_acquire(h.head));
}

std::size_t PadFeedbackReader::pop(std::span<PadFeedbackRecord> out) {
    const std::uint64_t head = load_acquire(header(channel_).head);
    if (head < tail_) {  // the agent reset its ring (or wrote garbage): start over
        tail_ = head;
        return 0;
    }
    if (head - tail_ > kPadFeedbackCapacity) {
        lost_ += head - tail_ - kPadFeedbackCapacity;
        tail_ = head - kPadFeedbackCapacity;
    }
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(head - tail_, out.size()));
    std::array<PadFeedbackRecord, kPadFeedbackCapacity> raw{};
    for (std::size_t i = 0; i < n; ++i)
        raw[i] = copy_out(records(channel_)[(tail_ + i) % kPadFeedbackCapacity]);
    // A record the agent overwrote while it was copied may be torn: whatever
    // the head has passed by now is counted as lost, never used.
    const std::uint64_t after = load_acquire(header(channel_).head);
    const std::uint64_t oldest_intact =
        after > kPadFeedbackCapacity ? after - kPadFeedbackCapacity : 0;
    const std::size_t torn =
        oldest_intact > tail_
            ? static_cast<std::size_t>(std::min<std::uint64_t>(oldest_intact - tail_, n))
            : 0;
    lost_ += torn;
    std::size_t got = 0;
    for (std::size_t i = torn; i < n; ++i) {
        if (is_valid_pad_feedback(raw[i])) {
            out[got++] = raw[i];
        } else {
            ++rejected_;
        }
    }
    tail_ += n;
    return got;
}

}  // namespace porthole::protocol
