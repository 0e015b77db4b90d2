#pragma once
// The deterministic test source (protocol/test_pattern.hpp), paced at a rate.

#include <chrono>
#include <memory>
#include <vector>

#include "capture/source.hpp"

namespace porthole::agent {

// The pattern source's cursor: a 16x16 triangle at hotspot 0,0 in the given
// shape type, each type's effects in known rows (tests check the host's
// drawing of every type against it).
CursorShapeUpdate pattern_cursor_shape(protocol::CursorType type);

class PatternSource final : public CaptureSource {
  public:
    explicit PatternSource(const CaptureOptions& options);
    [[nodiscard]] std::string_view name() const override { return "pattern"; }
    CaptureStatus next_frame(std::chrono::milliseconds timeout, CapturedFrame& out) override;
    std::optional<CursorUpdate> cursor() override;
    // Changes the size or format from the next frame on (tests: mode change).
    void resize(std::uint32_t width, std::uint32_t height, protocol::PixelFormat format);
    [[nodiscard]] std::uint64_t frame_index() const { return n_; }

  private:
    CaptureOptions options_;
    std::vector<std::byte> image_;
    std::uint32_t stride_ = 0;
    std::uint64_t n_ = 0;  // index of the next frame to draw
    bool fresh_ = true;    // next frame is a full redraw
    std::chrono::steady_clock::time_point next_due_;
    bool cursor_sent_ = false;
};

}  // namespace porthole::agent
