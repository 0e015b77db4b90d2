#include "capture/win/dxgi.hpp"

#include <algorithm>
#include <cstdint>
#include <thread>

#include <spdlog/spdlog.h>

#include "capture/win/cursor_shape.hpp"
#include "capture/win/damage.hpp"
#include "capture/win/win_handles.hpp"
#include "porthole/util/adaptive_wait.hpp"

namespace porthole::agent::win {

using protocol::DamageList;
using protocol::Rect;

Result<std::vector<OutputInfo>> DxgiSource::enumerate() {
    return make_com_dxgi_backend(false)->outputs();
}

Result<std::unique_ptr<DxgiSource>> DxgiSource::create(const CaptureOptions& options) {
    return create(options, make_com_dxgi_backend(true));
}

Result<std::unique_ptr<DxgiSource>> DxgiSource::create(const CaptureOptions& options,
                                                       std::unique_ptr<DxgiBackend> backend) {
    std::unique_ptr<DxgiSource> s(new DxgiSource(options, std::move(backend)));
    if (auto ok = s->init(); !ok) {
        // No display on the GPU yet: keep the source and look again on every
        // frame (a plug or a virtual display may come); anything else fails.
        if (ok.error().code != kNoDisplay) return ok.error();
        s->last_error_ = ok.error().message;
        spdlog::warn("dxgi: {}", ok.error().message);
    }
    return s;
}

DxgiSource::~DxgiSource() {
    ring_.reset(*this);
    release_frame();
    backend_->close();
}

Status DxgiSource::init() {
    ring_.reset(*this);
    release_frame();
    backend_->close();
    duplicating_ = false;
    gpu_converter_ = false;

    // Every output, then the one to capture: a real GPU's, not QEMU's emulated display.
    auto infos = backend_->outputs();
    if (!infos) return infos.error();
    const OutputChoice choice = choose_output(*infos, options_.output);
    if (!choice.index) return Error::make(choice.why, choice.no_display ? kNoDisplay : 0);
    const OutputInfo& chosen = (*infos)[*choice.index];
    output_name_ = chosen.device;
    if (output_name_ != announced_output_) {
        announced_output_ = output_name_;
        spdlog::info("dxgi: capturing output {} of {} (vendor {:04x})", output_name_,
                     chosen.adapter, chosen.vendor_id);
    }
    desktop_rect_ = DesktopRect{chosen.left, chosen.top, chosen.right, chosen.bottom};

    // HDR desktops come as FP16 when we ask for it, which we do only when an
    // FP16 frame fits a slot; otherwise FP16 is converted to RGB10A2 (make_staging).
    const bool fp16_fits = frame_fits(static_cast<std::uint32_t>(chosen.right - chosen.left),
                                      static_cast<std::uint32_t>(chosen.bottom - chosen.top),
                                      protocol::PixelFormat::rgba16f, options_.max_frame_bytes);
    const auto formats = duplication_formats(fp16_fits);
    auto dup = backend_->open(*choice.index, formats);
    if (!dup) return dup.error();
    spdlog::debug("dxgi: duplicating {}x{}, format {}", dup->width, dup->height,
                  static_cast<int>(dup->format));
    rotation_ = dup->rotation;
    duplicating_ = true;
    fresh_duplication_ = true;
    return {};
}

void DxgiSource::release_frame() {
    if (frame_held_) {
        backend_->release_frame();
        frame_held_ = false;
    }
}

void DxgiSource::drop_duplication(std::string why) {
    ring_.reset(*this);
    release_frame();
    backend_->close();
    duplicating_ = false;
    gpu_converter_ = false;
    converter_fresh_ = true;
    last_error_ = std::move(why);
}

Status DxgiSource::make_staging(const StagingLayout& layout, std::size_t slots) {
    const auto desktop = static_cast<DXGI_FORMAT>(layout.format);
    const auto choice =
        plan_publish(desktop, layout.width, layout.height, options_.max_frame_bytes);
    if (!choice.ok) return Error::make(choice.why);
    plan_ = choice.plan;
    gpu_converter_ = false;
    converter_fresh_ = true;
    converted_.clear();
    if (plan_.fp16_to_rgb10a2) {
        if (!hdr_notice_given_) {
            hdr_notice_given_ = true;
            spdlog::warn("{}",
                         fp16_region_notice(layout.width, layout.height, options_.frame_slots));
        }
        if (auto c = backend_->create_converter(layout.width, layout.height); c) {
            gpu_converter_ = true;
        } else {
            spdlog::warn("converting FP16 on the CPU instead: {}", c.error().message);
        }
    }
    StagingLayout staging = layout;
    staging.format =
        static_cast<std::uint32_t>(gpu_converter_ ? DXGI_FORMAT_R10G10B10A2_UNORM : desktop);
    if (auto ok = backend_->create_staging(staging, slots); !ok) return ok.error();
    staging_format_ = static_cast<DXGI_FORMAT>(staging.format);
    format_ = plan_.format;
    return {};
}

void DxgiSource::copy(std::size_t slot, std::span<const Rect> rects) {
    if (gpu_converter_ && !frame_converted_) {
        // The converter's output follows the desktop frame by frame, so any
        // rectangle a slot missed can be copied from it.
        DamageList what = frame_damage_;
        if (converter_fresh_ || !frame_damage_known_)
            what.set_full(frame_layout_.width, frame_layout_.height);
        backend_->convert(what.rects());
        frame_converted_ = true;
        converter_fresh_ = false;
    }
    backend_->copy(slot, rects, gpu_converter_);
}

MapResult DxgiSource::map(std::size_t slot, bool wait, MappedSlot& out) {
    const MapResult r = backend_->map(slot, wait, out);
    if (r == MapResult::failed) last_error_ = "cannot map a staging texture";
    return r;
}

void DxgiSource::unmap(std::size_t slot) {
    backend_->unmap(slot);
}

Status DxgiSource::read_metadata(std::uint32_t total_bytes) {
    // Move rects first, as the documentation orders them; both calls report
    // the size they need if our buffers are short.
    moves_.resize(
        std::max<std::size_t>(moves_.size(), total_bytes / sizeof(DXGI_OUTDUPL_MOVE_RECT) + 1));
    UINT used = 0;
    HRESULT hr = backend_->move_rects(moves_, used);
    if (hr == DXGI_ERROR_MORE_DATA) {
        moves_.resize(used / sizeof(DXGI_OUTDUPL_MOVE_RECT) + 1);
        hr = backend_->move_rects(moves_, used);
    }
    if (FAILED(hr))
        return Error::make("GetFrameMoveRects failed: " + hresult_message(hr),
                           static_cast<int>(hr));
    moves_.resize(used / sizeof(DXGI_OUTDUPL_MOVE_RECT));

    dirty_.resize(std::max<std::size_t>(dirty_.size(), total_bytes / sizeof(RECT) + 1));
    hr = backend_->dirty_rects(dirty_, used);
    if (hr == DXGI_ERROR_MORE_DATA) {
        dirty_.resize(used / sizeof(RECT) + 1);
        hr = backend_->dirty_rects(dirty_, used);
    }
    if (FAILED(hr))
        return Error::make("GetFrameDirtyRects failed: " + hresult_message(hr),
                           static_cast<int>(hr));
    dirty_.resize(used / sizeof(RECT));
    return {};
}

void DxgiSource::update_cursor(const DXGI_OUTDUPL_FRAME_INFO& info) {
    if (info.PointerShapeBufferSize != 0) {
        shape_buffer_.resize(info.PointerShapeBufferSize);
        UINT used = 0;
        DXGI_OUTDUPL_POINTER_SHAPE_INFO shape{};
        const HRESULT hr = backend_->pointer_shape(shape_buffer_, used, shape);
        if (SUCCEEDED(hr)) {
            auto converted = convert_pointer_shape(
                shape,
                std::span(shape_buffer_).first(std::min<std::size_t>(used, shape_buffer_.size())));
            if (converted) {
                hotspot_x_ = converted->hotspot_x;
                hotspot_y_ = converted->hotspot_y;
                pending_shape_ = std::move(*converted);
                cursor_changed_ = true;
            } else {
                last_error_ = "pointer shape skipped: " + converted.error().message;
            }
        }
    }
    // LastMouseUpdateTime is 0 when neither position nor visibility changed.
    if (info.LastMouseUpdateTime.QuadPart != 0) {
        cursor_visible_ = info.PointerPosition.Visible != FALSE;
        shape_origin_x_ = info.PointerPosition.Position.x;
        shape_origin_y_ = info.PointerPosition.Position.y;
        cursor_changed_ = true;
    }
}

DuplicationPort::Acquired DxgiSource::acquire(std::chrono::milliseconds timeout) {
    using Kind = Acquired::Kind;
    Acquired a;
    DXGI_OUTDUPL_FRAME_INFO info{};
    std::optional<StagingLayout> texture;
    const HRESULT hr = backend_->acquire_frame(timeout, info, texture);
    if (hr == DXGI_ERROR_WAIT_TIMEOUT) return a;
    if (hr == DXGI_ERROR_ACCESS_LOST || hr == DXGI_ERROR_INVALID_CALL) {
        // Desktop switch (UAC, lock screen), mode or rotation change, or a full-screen app.
        a.kind = Kind::lost;
        a.why = "desktop duplication lost (" + hresult_message(hr) + "); re-creating it";
        return a;
    }
    if (FAILED(hr)) {
        // Re-created on the next call; the agent keeps running (it is the
        // only way the host hears anything from this machine).
        a.kind = Kind::failed;
        a.why = "AcquireNextFrame failed: " + hresult_message(hr);
        return a;
    }
    frame_held_ = true;
    update_cursor(info);
    // A pointer-only update carries no new image (the first frame of a new
    // duplication is the whole desktop either way).
    if (info.LastPresentTime.QuadPart == 0 && !fresh_duplication_) {
        a.kind = Kind::pointer_only;
        return a;
    }
    if (!texture) {
        release_frame();
        a.kind = Kind::failed;
        a.why = "the duplicated frame is not a D3D11 texture";
        return a;
    }
    a.layout = *texture;
    a.damage_known = !fresh_duplication_;
    if (a.damage_known) {
        if (auto ok = read_metadata(info.TotalMetadataBufferSize); !ok) {
            if (ok.error().code == static_cast<int>(DXGI_ERROR_ACCESS_LOST)) {
                release_frame();
                a.kind = Kind::lost;
                a.why = ok.error().message;
                return a;
            }
            a.damage_known = false;  // the whole frame then
        } else {
            a.damage = damage_from_dxgi(dirty_, moves_, Size{a.layout.width, a.layout.height},
                                        Rotation::identity);
            if (a.damage.empty()) {
                a.kind = Kind::pointer_only;  // presented, but nothing changed
                return a;
            }
        }
    }
    fresh_duplication_ = false;
    frame_layout_ = a.layout;
    frame_damage_ = a.damage;
    frame_damage_known_ = a.damage_known;
    frame_converted_ = false;
    a.kind = Kind::image;
    a.capture_time_ns = monotonic_ns();
    return a;
}

CaptureStatus DxgiSource::next_frame(std::chrono::milliseconds timeout, CapturedFrame& out) {
    if (!duplicating_) {
        if (auto ok = init(); !ok) {
            last_error_ = ok.error().message;
            // Retry at the caller's pace rather than spinning (secure desktop, mode change).
            std::this_thread::sleep_for(timeout);
            return ok.error().code == kNoDisplay ? CaptureStatus::no_output : CaptureStatus::reinit;
        }
    }
    RingFrame f = ring_.next(*this, timeout);
    if (f.status == CaptureStatus::reinit) {
        drop_duplication(f.why);
        return CaptureStatus::reinit;
    }
    if (f.status == CaptureStatus::unfit) {
        // Not fatal: the desktop may change to one that fits (mode change).
        last_error_ = f.why;
        return CaptureStatus::unfit;
    }
    if (f.status != CaptureStatus::ok) return f.status;

    const Size tex{f.layout.width, f.layout.height};
    const DamageList& texture_damage = f.damage;  // in the texture's own orientation
    const std::uint32_t bpp = protocol::bytes_per_pixel(format_);
    const std::uint32_t staging_bpp = staging_format_ == DXGI_FORMAT_R16G16B16A16_FLOAT ? 8U : 4U;
    ConstImageView src{f.map.data, tex.width, tex.height, f.map.row_pitch, staging_bpp};
    std::uint32_t src_stride = f.map.row_pitch;
    if (!gpu_converter_ && (plan_.fp16_to_rgb10a2 || plan_.swizzle_rgba)) {
        // Converted on the CPU into a 4-byte-a-pixel copy of the desktop.
        const std::uint32_t stride = tex.width * 4;
        if (converted_.size() != std::size_t{stride} * tex.height)
            converted_.assign(std::size_t{stride} * tex.height, std::byte{0});
        const ImageView dst{converted_.data(), tex.width, tex.height, stride, 4};
        for (const Rect& r : texture_damage.rects()) {
            if (plan_.fp16_to_rgb10a2)
                convert_fp16_rect(src, dst, r);
            else
                swizzle_rgba_rect(src, dst, r);
        }
        src = ConstImageView{converted_.data(), tex.width, tex.height, stride, 4};
        src_stride = stride;
    }
    if (rotation_ == Rotation::identity) {
        out.image = protocol::FrameSource{tex.width, tex.height, src_stride, format_, src.pixels};
        out.damage = texture_damage;
    } else {
        const Size desk = rotated_size(tex, rotation_);
        const std::uint32_t stride = desk.width * bpp;
        if (rotated_.size() != std::size_t{stride} * desk.height)
            rotated_.assign(std::size_t{stride} * desk.height, std::byte{0});
        const ImageView dst{rotated_.data(), desk.width, desk.height, stride, bpp};
        out.damage.clear();
        for (const Rect& r : texture_damage.rects()) {
            copy_rect_rotated(src, dst, r, rotation_);
            out.damage.add(rotate_rect(r, tex, rotation_));
        }
        out.image =
            protocol::FrameSource{desk.width, desk.height, stride, format_, rotated_.data()};
    }
    out.capture_time_ns = f.capture_time_ns;
    return CaptureStatus::ok;
}

std::optional<CursorUpdate> DxgiSource::cursor() {
    if (!cursor_changed_) return std::nullopt;
    cursor_changed_ = false;
    CursorUpdate u;
    u.visible = cursor_visible_;
    u.x = hotspot_coordinate(shape_origin_x_, hotspot_x_);
    u.y = hotspot_coordinate(shape_origin_y_, hotspot_y_);
    u.shape.swap(pending_shape_);
    return u;
}

}  // namespace porthole::agent::win
