#include "input/sink.hpp"

namespace porthole::client::input {

void RegionInputSink::deliver(std::span<const protocol::InputEvent> batch) {
    std::lock_guard lock(mutex_);
    if (!writer_) {
        no_agent_ += batch.size();
        return;
    }
    if (writer_->push(batch)) delivered_ += batch.size();
}

void RegionInputSink::attach(std::optional<protocol::InputRingWriter> writer) {
    std::lock_guard lock(mutex_);
    if (writer_) previous_overflow_ += writer_->overflow();
    writer_ = std::move(writer);
}

std::uint64_t RegionInputSink::overflow() const {
    std::lock_guard lock(mutex_);
    return no_agent_ + previous_overflow_ + (writer_ ? writer_->overflow() : 0);
}

std::uint64_t RegionInputSink::delivered() const {
    std::lock_guard lock(mutex_);
    return delivered_;
}

}  // namespace porthole::client::input
