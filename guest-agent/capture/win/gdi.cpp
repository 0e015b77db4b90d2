#include "capture/win/gdi.hpp"

#include <algorithm>
#include <cstring>
#include <thread>

#include "capture/win/damage.hpp"
#include "capture/win/formats.hpp"
#include "capture/win/win_handles.hpp"
#include "porthole/protocol/region.hpp"
#include "porthole/util/adaptive_wait.hpp"
#include "porthole/util/defer.hpp"

namespace porthole::agent::win {

using protocol::Rect;

Result<std::unique_ptr<GdiSource>> GdiSource::create(const CaptureOptions& options,
                                                     std::string reason) {
    std::unique_ptr<GdiSource> s(new GdiSource(options, std::move(reason)));
    s->screen_ = GetDC(nullptr);
    if (s->screen_ == nullptr)
        return Error::make("GetDC(screen) failed: " + win32_message(GetLastError()));
    s->memory_ = CreateCompatibleDC(s->screen_);
    if (s->memory_ == nullptr)
        return Error::make("CreateCompatibleDC failed: " + win32_message(GetLastError()));
    const int w = GetSystemMetrics(SM_CXSCREEN), h = GetSystemMetrics(SM_CYSCREEN);
    if (w <= 0 || h <= 0) return Error::make("the screen has no size (no interactive desktop?)");
    if (auto ok = s->resize(static_cast<std::uint32_t>(w), static_cast<std::uint32_t>(h)); !ok)
        return ok.error();
    return s;
}

GdiSource::GdiSource(const CaptureOptions& options, std::string reason)
    : options_(options), reason_(std::move(reason)), next_due_(std::chrono::steady_clock::now()) {}

GdiSource::~GdiSource() {
    free_surface();
    if (memory_ != nullptr) DeleteDC(memory_);
    if (screen_ != nullptr) ReleaseDC(nullptr, screen_);
}

void GdiSource::free_surface() {
    if (bitmap_ != nullptr) {
        SelectObject(memory_, old_bitmap_);
        DeleteObject(bitmap_);
    }
    bitmap_ = nullptr;
    bits_ = nullptr;
}

Status GdiSource::resize(std::uint32_t width, std::uint32_t height) {
    free_surface();
    BITMAPINFO bi{};
    bi.bmiHeader.biSize = sizeof(bi.bmiHeader);
    bi.bmiHeader.biWidth = static_cast<LONG>(width);
    bi.bmiHeader.biHeight = -static_cast<LONG>(height);  // top-down rows
    bi.bmiHeader.biPlanes = 1;
    bi.bmiHeader.biBitCount = 32;
    bi.bmiHeader.biCompression = BI_RGB;
    void* bits = nullptr;
    bitmap_ = CreateDIBSection(memory_, &bi, DIB_RGB_COLORS, &bits, nullptr, 0);
    if (bitmap_ == nullptr || bits == nullptr) {
        bitmap_ = nullptr;
        return Error::make("CreateDIBSection " + std::to_string(width) + "x" +
                           std::to_string(height) + " failed: " + win32_message(GetLastError()));
    }
    old_bitmap_ = SelectObject(memory_, bitmap_);
    bits_ = static_cast<std::byte*>(bits);
    width_ = width;
    height_ = height;
    stride_ = width * 4;  // 32-bit DIB rows are always DWORD-aligned
    previous_.assign(std::size_t{stride_} * height, std::byte{0});
    need_full_ = true;
    return {};
}

CaptureStatus GdiSource::next_frame(std::chrono::milliseconds timeout, CapturedFrame& out) {
    // GDI cannot wait for a change: poll at the configured rate and sleep between.
    const auto now = std::chrono::steady_clock::now();
    if (next_due_ > now) {
        if (next_due_ - now > timeout) {
            std::this_thread::sleep_for(timeout);
            return CaptureStatus::timeout;
        }
        std::this_thread::sleep_until(next_due_);
    }
    const double rate = options_.rate_hz > 0 ? options_.rate_hz : 60.0;
    next_due_ = std::chrono::steady_clock::now() +
                std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                    std::chrono::duration<double>(1.0 / rate));

    const int w = GetSystemMetrics(SM_CXSCREEN), h = GetSystemMetrics(SM_CYSCREEN);
    if (w > 0 && h > 0 &&
        (static_cast<std::uint32_t>(w) != width_ || static_cast<std::uint32_t>(h) != height_)) {
        if (auto ok = resize(static_cast<std::uint32_t>(w), static_cast<std::uint32_t>(h)); !ok) {
            last_error_ = ok.error().message;
            return CaptureStatus::error;
        }
    }
    if (BitBlt(memory_, 0, 0, static_cast<int>(width_), static_cast<int>(height_), screen_, 0, 0,
               SRCCOPY | CAPTUREBLT) == FALSE) {
        // The secure desktop or a locked session: try again later with a fresh DC.
        last_error_ = "BitBlt of the screen failed: " + win32_message(GetLastError());
        ReleaseDC(nullptr, screen_);
        screen_ = GetDC(nullptr);
        need_full_ = true;
        return CaptureStatus::reinit;
    }
    GdiFlush();
    const ImageView cur{bits_, width_, height_, stride_, 4};
    make_opaque_bgra(cur, Rect{0, 0, width_, height_});
    const ConstImageView cur_c{bits_, width_, height_, stride_, 4};
    const ConstImageView prev{previous_.data(), width_, height_, stride_, 4};
    protocol::DamageList damage;
    if (need_full_)
        damage.set_full(width_, height_);
    else
        damage = diff_tiles(prev, cur_c);
    if (damage.empty()) return CaptureStatus::timeout;
    const ImageView prev_w{previous_.data(), width_, height_, stride_, 4};
    for (const Rect& r : damage.rects())
        copy_rect_rotated(cur_c, prev_w, r, Rotation::identity);
    need_full_ = false;
    out.image =
        protocol::FrameSource{width_, height_, stride_, protocol::PixelFormat::bgra8, bits_};
    out.damage = damage;
    out.capture_time_ns = monotonic_ns();
    return CaptureStatus::ok;
}

std::optional<CursorUpdate> GdiSource::cursor() {
    CURSORINFO ci{};
    ci.cbSize = sizeof(ci);
    if (GetCursorInfo(&ci) == FALSE) return std::nullopt;
    CursorUpdate u;
    u.visible = (ci.flags & CURSOR_SHOWING) != 0;
    u.x = ci.ptScreenPos.x;  // GetCursorInfo gives the hotspot position
    u.y = ci.ptScreenPos.y;
    if (ci.hCursor != last_cursor_ && ci.hCursor != nullptr) {
        u.shape = shape_from_hcursor(ci.hCursor);
        last_cursor_ = ci.hCursor;
    }
    if (cursor_known_ && !u.shape && u.visible == last_update_.visible && u.x == last_update_.x &&
        u.y == last_update_.y) {
        return std::nullopt;
    }
    cursor_known_ = true;
    last_update_.visible = u.visible;
    last_update_.x = u.x;
    last_update_.y = u.y;
    return u;
}

namespace {

// Rows of a bitmap as top-down DIB bits of the given depth.
std::vector<std::byte> dib_rows(HBITMAP bmp, int width, int height, WORD bits,
                                std::uint32_t pitch) {
    std::vector<std::byte> data(std::size_t{pitch} * static_cast<std::size_t>(height));
    struct {
        BITMAPINFOHEADER h;
        RGBQUAD colors[2];
    } bi{};
    bi.h.biSize = sizeof(bi.h);
    bi.h.biWidth = width;
    bi.h.biHeight = -height;
    bi.h.biPlanes = 1;
    bi.h.biBitCount = bits;
    bi.h.biCompression = BI_RGB;
    HDC dc = GetDC(nullptr);
    const int got = GetDIBits(dc, bmp, 0, static_cast<UINT>(height), data.data(),
                              reinterpret_cast<BITMAPINFO*>(&bi), DIB_RGB_COLORS);
    ReleaseDC(nullptr, dc);
    if (got != height) data.clear();
    return data;
}

}  // namespace

std::optional<CursorShapeUpdate> shape_from_hcursor(HCURSOR cursor) {
    ICONINFO ii{};
    if (GetIconInfo(cursor, &ii) == FALSE) return std::nullopt;
    Defer cleanup([&] {
        if (ii.hbmColor != nullptr) DeleteObject(ii.hbmColor);
        if (ii.hbmMask != nullptr) DeleteObject(ii.hbmMask);
    });
    BITMAP mask{};
    if (ii.hbmMask == nullptr || GetObject(ii.hbmMask, sizeof(mask), &mask) == 0)
        return std::nullopt;
    CursorShapeUpdate s;
    s.hotspot_x = static_cast<std::int32_t>(ii.xHotspot);
    s.hotspot_y = static_cast<std::int32_t>(ii.yHotspot);
    s.width = static_cast<std::uint32_t>(mask.bmWidth);
    if (ii.hbmColor == nullptr) {
        // Monochrome: the mask bitmap holds the AND rows then the XOR rows.
        s.type = protocol::CursorType::monochrome;
        s.height = static_cast<std::uint32_t>(mask.bmHeight) / 2;
        const std::uint32_t dib_pitch = ((s.width + 31) / 32) * 4;
        auto rows = dib_rows(ii.hbmMask, mask.bmWidth, mask.bmHeight, 1, dib_pitch);
        if (rows.empty() || s.height == 0 || s.width > protocol::kMaxCursorSize ||
            s.height > protocol::kMaxCursorSize)
            return std::nullopt;
        s.pitch = (s.width + 7) / 8;
        s.data.resize(std::size_t{s.pitch} * s.height * 2);
        for (std::uint32_t y = 0; y < s.height * 2; ++y)
            std::memcpy(s.data.data() + std::size_t{y} * s.pitch,
                        rows.data() + std::size_t{y} * dib_pitch, s.pitch);
        return s;
    }
    BITMAP color{};
    if (GetObject(ii.hbmColor, sizeof(color), &color) == 0) return std::nullopt;
    s.height = static_cast<std::uint32_t>(color.bmHeight);
    if (s.width == 0 || s.height == 0 || s.width > protocol::kMaxCursorSize ||
        s.height > protocol::kMaxCursorSize)
        return std::nullopt;
    s.pitch = s.width * 4;
    s.data = dib_rows(ii.hbmColor, color.bmWidth, color.bmHeight, 32, s.pitch);
    if (s.data.empty()) return std::nullopt;
    bool has_alpha = false;
    for (std::size_t i = 3; i < s.data.size(); i += 4)
        has_alpha = has_alpha || s.data[i] != std::byte{0};
    if (has_alpha) {
        s.type = protocol::CursorType::color;
        return s;
    }
    // No alpha: the AND mask decides per pixel (0: replace with RGB, 1: XOR), which
    // is the masked-colour layout with alpha 0x00 / 0xFF.
    const std::uint32_t mask_pitch = ((s.width + 31) / 32) * 4;
    auto and_rows = dib_rows(ii.hbmMask, mask.bmWidth, static_cast<int>(s.height), 1, mask_pitch);
    if (and_rows.empty()) return std::nullopt;
    s.type = protocol::CursorType::masked;
    for (std::uint32_t y = 0; y < s.height; ++y) {
        for (std::uint32_t x = 0; x < s.width; ++x) {
            const auto bit =
                (std::to_integer<unsigned>(and_rows[std::size_t{y} * mask_pitch + x / 8]) >>
                 (7 - x % 8)) &
                1U;
            s.data[(std::size_t{y} * s.width + x) * 4 + 3] =
                bit != 0 ? std::byte{0xFF} : std::byte{0};
        }
    }
    return s;
}

}  // namespace porthole::agent::win
