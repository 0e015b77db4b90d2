#include "app/frame_pacer.hpp"

#include <algorithm>

namespace porthole::client {

namespace {
constexpr std::uint64_t k60HzNs = 1'000'000'000 / 60;
}

FramePacer::FramePacer(bool vsync, std::uint64_t refresh_ns)
    : vsync_(vsync), refresh_ns_(refresh_ns != 0 ? refresh_ns : k60HzNs) {}

void FramePacer::frame_complete(std::uint64_t now) {
    if (complete_ns_ != 0) ++superseded_;
    complete_ns_ = now;
}

std::uint64_t FramePacer::slot(std::uint64_t t) const {
    // The vblank a present at t reaches: the first on the grid at least a
    // lead after it (vblanks at anchor + k * refresh, k >= 1).
    const std::uint64_t ready = t + refresh_ns_ / kLeadDivisor;
    if (ready <= anchor_ns_) return 0;
    return (ready - anchor_ns_ + refresh_ns_ - 1) / refresh_ns_;
}

bool FramePacer::due(std::uint64_t now) const {
    if (!vsync_ || anchor_ns_ == 0) return true;
    // One new frame a vblank: a draw now that would reach the same vblank as
    // the last present would queue behind it (a refresh of latency) or
    // replace it; the newest frame is drawn once the next vblank is free.
    return slot(now) > last_slot_;
}

void FramePacer::presented(std::uint64_t present_ns) {
    if (vsync_ && complete_ns_ != 0 && present_ns > complete_ns_ + refresh_ns_) ++late_;
    complete_ns_ = 0;
    if (anchor_ns_ == 0) anchor_ns_ = present_ns;
    last_slot_ = std::max(last_slot_ + 1, slot(present_ns));
}

}  // namespace porthole::client
