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
        u.shape = pattern_cursor_shape(options_.pattern_cursor);
        cursor_sent_ = true;
    }
    return u;
}

CursorShapeUpdate pattern_cursor_shape(protocol::CursorType type) {
    // A 16x16 triangle (x <= y), in each type's own encoding; rows 0..7
    // show the type's first effect, rows 8..15 its second:
    //   color:      white, opaque (alpha 255) / half-transparent red (alpha 128)
    //   masked:     opaque white (alpha 0: replaces) / XOR with white (inverts)
    //   monochrome: white (AND 0, XOR 1) / inverted screen (AND 1, XOR 1);
    //               black (AND 0, XOR 0) on the diagonal
    // Outside the triangle every type leaves the screen alone.
    CursorShapeUpdate s;
    s.type = type;
    s.width = s.height = 16;
    if (type == protocol::CursorType::monochrome) {
        s.pitch = 2;
        s.data.assign(2 * 16 * 2, std::byte{0});  // AND mask rows, then XOR mask rows
        for (std::uint32_t y = 0; y < 16; ++y) {
            for (std::uint32_t x = 0; x < 16; ++x) {
                const auto bit = std::byte{static_cast<std::uint8_t>(0x80U >> (x % 8))};
                std::byte& and_byte = s.data[y * 2 + x / 8];
                std::byte& xor_byte = s.data[(16 + y) * 2 + x / 8];
                if (x > y) {
                    and_byte |= bit;  // AND 1, XOR 0: transparent
                } else if (x == y) {
                    // AND 0, XOR 0: black
                } else if (y < 8) {
                    xor_byte |= bit;  // AND 0, XOR 1: white
                } else {
                    and_byte |= bit;  // AND 1, XOR 1: inverted
                    xor_byte |= bit;
                }
            }
        }
        return s;
    }
    s.pitch = 16 * 4;
    s.data.assign(16 * 16 * 4, std::byte{0});
    for (std::uint32_t y = 0; y < 16; ++y) {
        for (std::uint32_t x = 0; x < 16; ++x) {
            std::byte* p = s.data.data() + (y * 16 + x) * 4;
            const bool on = x <= y;
            if (type == protocol::CursorType::color) {
                if (!on) continue;  // alpha 0
                const bool solid = y < 8;
                p[0] = p[1] = std::byte{static_cast<std::uint8_t>(solid ? 255 : 0)};
                p[2] = std::byte{255};
                p[3] = std::byte{static_cast<std::uint8_t>(solid ? 255 : 128)};
            } else {  // masked: alpha 0 replaces with the colour, 0xFF XORs it
                const bool replace = on && y < 8;
                const bool invert = on && y >= 8;
                p[0] = p[1] = p[2] = (replace || invert) ? std::byte{255} : std::byte{0};
                p[3] = replace ? std::byte{0} : std::byte{255};
            }
        }
    }
    return s;
}

}  // namespace porthole::agent
