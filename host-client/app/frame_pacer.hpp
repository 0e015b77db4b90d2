#pragma once
// When the session loop draws a newly accepted guest frame, and what became
// of the frames it accepted.
//
// With a vsynced (fifo) window the loop draws a new frame at most once a
// refresh, shortly before the next vblank (on a grid of the display's refresh
// period anchored at the first present), so that the newest frame complete by
// then is shown and no present waits in the swapchain's queue behind
// another: a frame replaced by a newer one before it could be drawn is
// counted as superseded, not queued. Without vsync (mailbox, immediate,
// offscreen) every frame is drawn as it arrives. Late frames (shown more
// than one refresh after they were complete) are counted with vsync, where
// there is a refresh to be late for.
//
// Pure logic on monotonic nanoseconds: the loop passes the clock in.

#include <cstdint>

namespace porthole::client {

class FramePacer {
  public:
    // vsync: pace to the refresh (refresh_ns: its period; 0 takes 60 Hz).
    FramePacer(bool vsync, std::uint64_t refresh_ns);

    // A new guest frame was accepted at `now`; the previous one, if it was
    // never drawn, counts as superseded.
    void frame_complete(std::uint64_t now);
    // Whether the loop should draw the accepted frame at `now`.
    [[nodiscard]] bool due(std::uint64_t now) const;
    // The accepted frame was presented at `present_ns`.
    void presented(std::uint64_t present_ns);

    [[nodiscard]] bool vsync() const { return vsync_; }
    [[nodiscard]] std::uint64_t refresh_ns() const { return refresh_ns_; }
    [[nodiscard]] std::uint64_t superseded() const { return superseded_; }
    [[nodiscard]] std::uint64_t late() const { return late_; }

    // How long before the estimated vblank a paced draw starts: the draw and
    // its present must reach the swapchain before the flip.
    static constexpr std::uint64_t kLeadDivisor = 4;  // a quarter of the period

  private:
    bool vsync_;
    std::uint64_t refresh_ns_;
    std::uint64_t complete_ns_ = 0;  // the accepted frame's completion (0: none waiting)
    // The vblank grid, anchored at the first present (no present timing from
    // the driver: an estimate of the phase, exact in the period).
    std::uint64_t anchor_ns_ = 0;
    std::uint64_t last_slot_ = 0;  // the grid slot the last present went to
    [[nodiscard]] std::uint64_t slot(std::uint64_t t) const;
    std::uint64_t superseded_ = 0, late_ = 0;
};

}  // namespace porthole::client
