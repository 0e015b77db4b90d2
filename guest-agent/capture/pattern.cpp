#include "capture/pattern.hpp"

#include <thread>

#include "porthole/protocol/test_pattern.hpp"

namespace porthole::agent {

namespace pattern = protocol::pattern;

PatternSource::PatternSource(const CaptureOptions& options)
    : options_(options), next_due_(std::chrono::steady_clock::now()) {
    resize(options.width, options.height, options.format);
}

void PatternSource::resize(std::uint32_t width, std::uint32_t height,
                           protocol::PixelFormat format) {
    options_.width = width;
    options_.height = height;
    options_.format = format;
    stride_ = width * protocol::bytes_per_pixel(format);
    image_.assign(std::size_t{stride_} * height, std::byte{0});
    fresh_ = true;
}

CaptureStatus PatternSource::next_frame(std::chrono::milliseconds timeout, CapturedFrame& out) {
    const auto now = std::chrono::steady_clock::now();
    if (options_.rate_hz > 0 && next_due_ > now) {
        if (next_due_ - now > timeout) {
            std::this_thread::sleep_for(timeout);
            return CaptureStatus::timeout;
        }
        std::this_thread::sleep_until(next_due_);
    }
    if (options_.rate_hz > 0) {
        const auto period = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            std::chrono::duration<double>(1.0 / options_.rate_hz));
        // On schedule; after a stall, at least half a period from now rather
        // than two frames back to back (a reader would miss one of them).
        next_due_ = std::max(next_due_ + period, std::chrono::steady_clock::now() + period / 2);
    }
    const std::uint32_t w = options_.width, h = options_.height;
    protocol::DamageList d = fresh_ ? pattern::damage(0, w, h) : pattern::damage(n_, w, h);
    pattern::render(n_, w, h, options_.format, image_, stride_, d.rects());
    fresh_ = false;
    out.image = protocol::FrameSource{w, h, stride_, options_.format, image_.data()};
    out.damage = d;
    out.capture_time_ns =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                       std::chrono::steady_clock::now().time_since_epoch())
                                       .count());
    ++n_;
    return CaptureStatus::ok;
}

std::optional<CursorUpdate> PatternSource::cursor() {
    // A 16x16 arrow-ish colour cursor that follows the bar.
    CursorUpdate u;
    const auto bar = pattern::bar_rect(n_ == 0 ? 0 : n_ - 1, options_.width, options_.height);
    u.x = static_cast<std::int32_t>(bar.x + bar.w / 2);
    u.y = static_cast<std::int32_t>(options_.height / 2);
    u.visible = true;
    if (!cursor_sent_) {
        CursorShapeUpdate s;
        s.type = protocol::CursorType::color;
        s.width = s.height = 16;
        s.pitch = 16 * 4;
        s.data.resize(16 * 16 * 4);
        for (std::uint32_t y = 0; y < 16; ++y) {
            for (std::uint32_t x = 0; x < 16; ++x) {
                const bool on = x <= y;
                std::byte* p = s.data.data() + (y * 16 + x) * 4;
                p[0] = p[1] = p[2] = on ? std::byte{255} : std::byte{0};
                p[3] = on ? std::byte{255} : std::byte{0};
            }
        }
        u.shape = std::move(s);
        cursor_sent_ = true;
    }
    return u;
}

}  // namespace porthole::agent
