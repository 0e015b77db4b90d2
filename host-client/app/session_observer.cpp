#include "app/session_observer.hpp"

#include <spdlog/spdlog.h>

#include <span>

#include "porthole/protocol/test_pattern.hpp"

namespace porthole::client {

void PatternVerifier::on_frame_shown(const ShownFrame& frame, StatsTotals& totals) {
    namespace pattern = protocol::pattern;
    if (frame.readback == nullptr) return;
    const auto& img = *frame.readback;
    const auto& r = img.frame_rect;
    if (r.w == 0) return;  // nothing shown (state message only)
    if (r.w != img.frame_width || r.h != img.frame_height || r.x < 0 || r.y < 0 ||
        std::uint64_t{static_cast<std::uint32_t>(r.x)} + r.w > img.width ||
        std::uint64_t{static_cast<std::uint32_t>(r.y)} + r.h > img.height) {
        totals.mismatched++;
        spdlog::error(
            "--verify-pattern needs the whole frame on screen at 1:1; the {}x{} frame is drawn at "
            "{},{} {}x{}",
            img.frame_width, img.frame_height, r.x, r.y, r.w, r.h);
        return;
    }
    const std::size_t off =
        static_cast<std::size_t>(r.y) * img.stride + static_cast<std::size_t>(r.x) * 4;
    const auto pixels = std::span<const std::byte>(img.bgra).subspan(off);
    const auto fmt = protocol::PixelFormat::bgra8;  // the target holds 8 bits a channel
    const std::uint64_t n = pattern::read_counter(fmt, pixels, img.stride, r.w, r.h);
    if (n == UINT64_MAX) {
        totals.mismatched++;
        spdlog::error("frame {}: the shown image carries no valid pattern code ({}x{} at {},{})",
                      img.frame_serial, r.w, r.h, r.x, r.y);
        return;
    }
    const auto mm = pattern::verify(n, r.w, r.h, fmt, pixels, img.stride);
    if (mm.count == 0) {
        totals.verified++;
    } else {
        totals.mismatched++;
        spdlog::error("shown frame {} differs from the pattern in {} pixels (first at {},{})", n,
                      mm.count, mm.first_x, mm.first_y);
    }
    if (last_counter_ != UINT64_MAX && n > last_counter_ + 1) totals.gaps += n - last_counter_ - 1;
    if (last_counter_ != UINT64_MAX && n == last_counter_) totals.repeats++;
    last_counter_ = n;
}

int PatternVerifier::on_exit(int code, const StatsTotals& totals) {
    return code == 0 && totals.mismatched != 0 ? 4 : code;
}

std::optional<int> RunLimits::on_tick(std::uint64_t now_ns, const StatsTotals& totals) {
    if (frames_ != 0 && totals.frames >= frames_) return 0;
    if (timeout_s_ > 0 && now_ns > start_ns_ &&
        static_cast<double>(now_ns - start_ns_) / 1e9 > timeout_s_) {
        spdlog::error("timed out after {} s with {} frames shown", timeout_s_, totals.frames);
        return 3;
    }
    return std::nullopt;
}

}  // namespace porthole::client
