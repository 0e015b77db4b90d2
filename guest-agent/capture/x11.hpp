#pragma once
// X11 capture for Linux guests and for our tests (Xvfb): XDamage says what
// changed, XShmGetImage copies only those rectangles into a persistent
// full-screen image, XFixes gives the cursor shape. Depth 24/32 TrueColor
// roots (the usual desktop) only; they map to PixelFormat::bgra8 with the
// padding byte forced to 255 (opaque). Xlib types stay out of this header.

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "capture/source.hpp"

namespace porthole::agent {

class X11Source final : public CaptureSource {
  public:
    // Connects to options.display ("" = $DISPLAY) and checks XShm, XDamage,
    // XFixes and the root visual; the error says which one is missing.
    static Result<std::unique_ptr<X11Source>> open(const CaptureOptions& options);
    ~X11Source() override;
    X11Source(const X11Source&) = delete;
    X11Source& operator=(const X11Source&) = delete;

    [[nodiscard]] std::string_view name() const override { return "x11"; }
    // First frame (and the first after a screen size change): the whole
    // screen with full damage. Then: sleeps in poll() on the X connection
    // until damage arrives or `timeout` passes; copies only the damage.
    CaptureStatus next_frame(std::chrono::milliseconds timeout, CapturedFrame& out) override;
    // Pointer position (XQueryPointer) when it moved, and the shape after
    // XFixes reported a new cursor, as straight-alpha BGRA.
    std::optional<CursorUpdate> cursor() override;
    [[nodiscard]] std::string last_error() const override;

    // Size of the current image (0 before a successful grab after a failed resize).
    [[nodiscard]] std::uint32_t width() const;
    [[nodiscard]] std::uint32_t height() const;

    struct Impl;
    // Used by open(); Impl is private to x11.cpp.
    explicit X11Source(std::unique_ptr<Impl> impl);

  private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace porthole::agent
