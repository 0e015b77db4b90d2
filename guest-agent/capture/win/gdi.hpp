#pragma once
// Desktop capture with GDI (BitBlt of the screen DC): slow but works where
// DXGI duplication does not (basic display driver, RDP, Wine). GDI reports no
// damage, so each frame is compared with the previous one tile by tile.

#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>

#include <memory>
#include <string>
#include <vector>

#include "capture/source.hpp"

namespace porthole::agent::win {

class GdiSource final : public CaptureSource {
  public:
    // `reason` says why GDI was chosen (logged by the factory, kept for --help and errors).
    static Result<std::unique_ptr<GdiSource>> create(const CaptureOptions& options,
                                                     std::string reason);
    ~GdiSource() override;
    GdiSource(const GdiSource&) = delete;
    GdiSource& operator=(const GdiSource&) = delete;

    [[nodiscard]] std::string_view name() const override { return "gdi"; }
    // Grabs the screen at most options.rate_hz times a second; `timeout` when nothing changed.
    CaptureStatus next_frame(std::chrono::milliseconds timeout, CapturedFrame& out) override;
    // Position and visibility from GetCursorInfo, the shape from the cursor's bitmaps.
    std::optional<CursorUpdate> cursor() override;
    [[nodiscard]] std::string last_error() const override { return last_error_; }
    [[nodiscard]] const std::string& reason() const { return reason_; }

  private:
    GdiSource(const CaptureOptions& options, std::string reason);
    Status resize(std::uint32_t width, std::uint32_t height);
    void free_surface();

    CaptureOptions options_;
    std::string reason_;
    std::string last_error_;
    HDC screen_ = nullptr;
    HDC memory_ = nullptr;
    HBITMAP bitmap_ = nullptr;
    HGDIOBJ old_bitmap_ = nullptr;
    std::byte* bits_ = nullptr;  // the DIB section's top-down BGRX rows
    std::uint32_t width_ = 0, height_ = 0, stride_ = 0;
    std::vector<std::byte> previous_;  // the last published image, for damage
    bool need_full_ = true;
    std::chrono::steady_clock::time_point next_due_{};
    HCURSOR last_cursor_ = nullptr;
    CursorUpdate last_update_{};
    bool cursor_known_ = false;
};

// The shape of a cursor handle in the protocol's layouts: 32-bit colour
// cursors as colour (or masked when they carry no alpha), 1-bit ones as
// monochrome. nullopt when the handle cannot be read.
std::optional<CursorShapeUpdate> shape_from_hcursor(HCURSOR cursor);

}  // namespace porthole::agent::win
