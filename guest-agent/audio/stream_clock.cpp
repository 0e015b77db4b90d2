#include "audio/stream_clock.hpp"

namespace porthole::agent::audio {

void StreamClock::on_frames(std::uint64_t frames, std::uint64_t now_ns) {
    // Real data after a quiet gap re-anchors the clock at its arrival: the
    // capture device's timing is the truth whenever it speaks.
    if (!anchored_ || (now_ns > last_data_ns_ && now_ns - last_data_ns_ > gap_ns_)) {
        anchored_ = true;
        anchor_ns_ = now_ns;
        since_anchor_ = 0;
    }
    since_anchor_ += frames;
    last_data_ns_ = now_ns;
}

std::uint64_t StreamClock::silence_due(std::uint64_t now_ns) const {
    if (!anchored_ || now_ns < last_data_ns_ || now_ns - last_data_ns_ < gap_ns_) return 0;
    const std::uint64_t elapsed = now_ns - anchor_ns_;
    // Microseconds keep the product inside 64 bits for years of uptime.
    const std::uint64_t due = elapsed / 1000U * rate_ / 1'000'000U;
    return due > since_anchor_ ? due - since_anchor_ : 0;
}

}  // namespace porthole::agent::audio
