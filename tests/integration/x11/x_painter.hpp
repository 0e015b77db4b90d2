#pragma once
// A small X client that draws known content on the root window of a test
// display (the "desktop" the X11 capture backend sees) and moves the pointer.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>

#include "porthole/protocol/format.hpp"
#include "porthole/util/result.hpp"

namespace porthole::testing {

class XPainter {
  public:
    static Result<XPainter> open(const std::string& display);
    XPainter(XPainter&&) noexcept;
    XPainter& operator=(XPainter&&) noexcept;
    ~XPainter();

    // Fills r with a solid 0xRRGGBB colour (XFillRectangle).
    void fill(const protocol::Rect& r, std::uint32_t rgb);
    // Copies rect r of a full-screen BGRA image (`stride` bytes a row) to the same place
    // (XPutImage).
    void put(const protocol::Rect& r, std::span<const std::byte> image, std::uint32_t stride);
    // Moves the pointer to (x, y) on the root window.
    void warp_pointer(int x, int y);
    // Sets the root window's cursor to an X font cursor shape (X11/cursorfont.h).
    void set_font_cursor(unsigned shape);
    // Changes the screen size with RandR (CRTCs switched off first, as Xvfb
    // needs); false when RandR is missing from this build or refuses.
    bool resize_screen(std::uint32_t width, std::uint32_t height);
    // Offers a WIDTHxHEIGHT mode (60 Hz) on the screen's first output, as
    // `xrandr --newmode` and `--addmode` would. Xvfb offers only its -screen
    // size; a mode lives as long as this painter's connection (Xvfb 21 drops
    // it, and switches a CRTC using it back, when its creator disconnects).
    // False without RandR in this build.
    bool add_mode(std::uint32_t width, std::uint32_t height);
    // The root window's size now, asked from the server.
    [[nodiscard]] std::pair<std::uint32_t, std::uint32_t> screen_size();
    // Waits until the server has executed every request sent so far.
    void sync();

    [[nodiscard]] std::uint32_t width() const;
    [[nodiscard]] std::uint32_t height() const;

    struct Impl;

  private:
    explicit XPainter(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace porthole::testing
