#pragma once
// One small interface for every desktop capture backend: dxgi.cpp, gdi.cpp
// (Windows), x11.cpp (Linux guests) and pattern.cpp (tests, demo). A backend
// keeps a complete current image and reports what changed since the last
// frame; the agent copies only those rectangles into the region.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "porthole/protocol/format.hpp"
#include "porthole/protocol/frame_channel.hpp"
#include "porthole/protocol/region.hpp"
#include "porthole/util/result.hpp"

namespace porthole::agent {

// What a capture call returned, as in Sunshine's capture loop: `reinit`
// rebuilds the backend (mode change, lost duplication) instead of failing.
// `unfit`: the desktop cannot be carried by the region (too large a frame);
// not fatal, the desktop may change, and last_error() says what would fit.
// `no_output`: nothing to capture yet (no display on the GPU); the backend
// keeps looking on every call and last_error() says what the user can do.
enum class CaptureStatus { ok, timeout, reinit, interrupted, unfit, no_output, error };

struct CapturedFrame {
    protocol::FrameSource image;        // complete current image, valid until the next call
    protocol::DamageList damage;        // changed since the previous frame
    std::uint64_t capture_time_ns = 0;  // monotonic clock of this machine
};

struct CursorShapeUpdate {
    protocol::CursorType type = protocol::CursorType::color;
    std::uint32_t width = 0, height = 0, pitch = 0;
    std::int32_t hotspot_x = 0, hotspot_y = 0;
    std::vector<std::byte> data;  // as CursorShapeHeader describes it
};

struct CursorUpdate {
    std::optional<CursorShapeUpdate> shape;
    std::int32_t x = 0, y = 0;
    bool visible = false;
};

struct CaptureOptions {
    std::uint32_t width = 1280;  // pattern source size
    std::uint32_t height = 720;
    protocol::PixelFormat format = protocol::PixelFormat::bgra8;
    double rate_hz = 60.0;  // pattern source frame rate
    std::string display;    // x11: display name ("" = $DISPLAY)
    protocol::CursorType pattern_cursor = protocol::CursorType::color;  // pattern: shape type
    std::uint64_t max_frame_bytes = 0;  // what one frame slot holds (0: unknown, no limit)
    std::uint32_t frame_slots = 0;      // slots in the region, for size advice
    std::string output;                 // dxgi: "" (first real GPU's), an index or a name
};

class CaptureSource {
  public:
    virtual ~CaptureSource() = default;
    [[nodiscard]] virtual std::string_view name() const = 0;
    // Waits up to `timeout` for the next desktop change; `ok` fills `out`.
    virtual CaptureStatus next_frame(std::chrono::milliseconds timeout, CapturedFrame& out) = 0;
    // Pointer changes since the last call (position, visibility, shape), if any.
    virtual std::optional<CursorUpdate> cursor() { return std::nullopt; }
    // Why the last call returned `error` or `reinit`.
    [[nodiscard]] virtual std::string last_error() const { return {}; }
};

// Backends compiled into this build, for --help and errors.
std::vector<std::string_view> available_captures();
// Builds the named backend: "pattern", "x11", "dxgi", "gdi", or "auto".
Result<std::unique_ptr<CaptureSource>> make_capture(std::string_view name,
                                                    const CaptureOptions& options);

}  // namespace porthole::agent
