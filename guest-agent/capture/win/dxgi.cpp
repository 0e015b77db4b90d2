#include "capture/win/dxgi.hpp"

#include <dxgi1_5.h>

#include <algorithm>
#include <cstdint>
#include <thread>

#include <spdlog/spdlog.h>

#include "capture/win/cursor_shape.hpp"
#include "capture/win/damage.hpp"
#include "porthole/util/adaptive_wait.hpp"
#include "win/utf16.hpp"

namespace porthole::agent::win {

using protocol::DamageList;
using protocol::Rect;

namespace {

// The capture thread must sit on the input desktop to duplicate it (the
// secure desktop of UAC and the login screen is a different one).
void attach_to_input_desktop() {
    HDESK desk = OpenInputDesktop(0, FALSE, GENERIC_ALL);
    if (desk == nullptr) return;
    SetThreadDesktop(desk);
    CloseDesktop(desk);
}

// DuplicateOutput1 fails unless the thread is per-monitor-v2 DPI aware; the
// call exists from Windows 10 1607 on, so it is looked up rather than linked.
void make_thread_dpi_aware() {
    using SetContext = void*(WINAPI*)(void*);
    HMODULE user32 = GetModuleHandleW(L"user32.dll");
    if (user32 == nullptr) return;
    FARPROC proc = GetProcAddress(user32, "SetThreadDpiAwarenessContext");
    if (proc == nullptr) return;
    const auto set = reinterpret_cast<SetContext>(reinterpret_cast<void (*)()>(proc));
    set(reinterpret_cast<void*>(std::intptr_t{-4}));  // DPI_AWARENESS_CONTEXT_PER_MONITOR_AWARE_V2
}

// Every output of every adapter, with the COM objects to duplicate one.
void enumerate_outputs(IDXGIFactory1* factory, std::vector<OutputInfo>& infos,
                       std::vector<ComPtr<IDXGIAdapter1>>& adapters,
                       std::vector<ComPtr<IDXGIOutput>>& outputs) {
    for (UINT a = 0;; ++a) {
        ComPtr<IDXGIAdapter1> ad;
        if (factory->EnumAdapters1(a, ad.out()) == DXGI_ERROR_NOT_FOUND) break;
        DXGI_ADAPTER_DESC1 ad_desc{};
        ad->GetDesc1(&ad_desc);
        for (UINT o = 0;; ++o) {
            ComPtr<IDXGIOutput> candidate;
            if (ad->EnumOutputs(o, candidate.out()) == DXGI_ERROR_NOT_FOUND) break;
            DXGI_OUTPUT_DESC d{};
            if (FAILED(candidate->GetDesc(&d))) continue;
            OutputInfo info;
            info.adapter_index = a;
            info.output_index = o;
            info.adapter = narrow(ad_desc.Description);
            info.vendor_id = ad_desc.VendorId;
            info.device_id = ad_desc.DeviceId;
            info.software = (ad_desc.Flags & DXGI_ADAPTER_FLAG_SOFTWARE) != 0;
            info.device = narrow(d.DeviceName);
            info.attached = d.AttachedToDesktop != FALSE;
            info.left = d.DesktopCoordinates.left;
            info.top = d.DesktopCoordinates.top;
            info.right = d.DesktopCoordinates.right;
            info.bottom = d.DesktopCoordinates.bottom;
            infos.push_back(info);
            adapters.push_back(ad);
            outputs.push_back(candidate);
        }
    }
}

}  // namespace

Result<std::vector<OutputInfo>> DxgiSource::enumerate() {
    ComPtr<IDXGIFactory1> factory;
    const HRESULT hr =
        CreateDXGIFactory1(__uuidof(IDXGIFactory1), reinterpret_cast<void**>(factory.out()));
    if (FAILED(hr)) return Error::make("CreateDXGIFactory1 failed: " + hresult_message(hr));
    std::vector<OutputInfo> infos;
    std::vector<ComPtr<IDXGIAdapter1>> adapters;
    std::vector<ComPtr<IDXGIOutput>> outputs;
    enumerate_outputs(factory.get(), infos, adapters, outputs);
    return infos;
}

Result<std::unique_ptr<DxgiSource>> DxgiSource::create(const CaptureOptions& options) {
    std::unique_ptr<DxgiSource> s(new DxgiSource(options));
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
}

Status DxgiSource::init() {
    ring_.reset(*this);
    release_frame();
    duplication_.reset();
    staging_.clear();
    converter_.reset();
    context_.reset();
    device_.reset();
    attach_to_input_desktop();
    make_thread_dpi_aware();

    ComPtr<IDXGIFactory1> factory;
    HRESULT hr =
        CreateDXGIFactory1(__uuidof(IDXGIFactory1), reinterpret_cast<void**>(factory.out()));
    if (FAILED(hr)) return Error::make("CreateDXGIFactory1 failed: " + hresult_message(hr));

    // Every output, then the one to capture: a real GPU's, not QEMU's emulated display.
    std::vector<OutputInfo> infos;
    std::vector<ComPtr<IDXGIAdapter1>> adapters;
    std::vector<ComPtr<IDXGIOutput>> outputs;
    enumerate_outputs(factory.get(), infos, adapters, outputs);
    const OutputChoice choice = choose_output(infos, options_.output);
    if (!choice.index) return Error::make(choice.why, choice.no_display ? kNoDisplay : 0);
    ComPtr<IDXGIAdapter1> adapter = adapters[*choice.index];
    ComPtr<IDXGIOutput> output = outputs[*choice.index];
    DXGI_OUTPUT_DESC out_desc{};
    output->GetDesc(&out_desc);
    output_name_ = narrow(out_desc.DeviceName);
    if (output_name_ != announced_output_) {
        announced_output_ = output_name_;
        spdlog::info("dxgi: capturing output {} of {} (vendor {:04x})", output_name_,
                     infos[*choice.index].adapter, infos[*choice.index].vendor_id);
    }
    const auto& chosen = infos[*choice.index];
    desktop_rect_ = DesktopRect{chosen.left, chosen.top, chosen.right, chosen.bottom};

    hr = D3D11CreateDevice(adapter.get(), D3D_DRIVER_TYPE_UNKNOWN, nullptr, 0, nullptr, 0,
                           D3D11_SDK_VERSION, device_.out(), nullptr, context_.out());
    if (FAILED(hr)) return Error::make("D3D11CreateDevice failed: " + hresult_message(hr));

    // DuplicateOutput1 (Windows 10 1703+) gives HDR and 10-bit formats; fall
    // back to DuplicateOutput, which always converts to BGRA.
    // HDR desktops come as FP16 when we ask for it, which we do only when an
    // FP16 frame fits a slot; otherwise FP16 is converted to RGB10A2 below.
    const auto& dc = out_desc.DesktopCoordinates;
    const bool fp16_fits = frame_fits(static_cast<std::uint32_t>(dc.right - dc.left),
                                      static_cast<std::uint32_t>(dc.bottom - dc.top),
                                      protocol::PixelFormat::rgba16f, options_.max_frame_bytes);
    const auto formats = duplication_formats(fp16_fits);
    if (auto output5 = output.as<IDXGIOutput5>()) {
        hr = output5->DuplicateOutput1(device_.get(), 0, static_cast<UINT>(formats.size()),
                                       formats.data(), duplication_.out());
    }
    if (!duplication_) {
        auto output1 = output.as<IDXGIOutput1>();
        if (!output1)
            return Error::make("DXGI 1.2 is not available (Windows 8 or later is needed)");
        hr = output1->DuplicateOutput(device_.get(), duplication_.out());
    }
    if (FAILED(hr) || !duplication_) {
        std::string why = hresult_message(hr);
        if (hr == DXGI_ERROR_NOT_CURRENTLY_AVAILABLE)
            why += ": too many applications duplicate this output already";
        else if (hr == DXGI_ERROR_UNSUPPORTED)
            why +=
                ": the display driver does not support duplication (e.g. the basic display "
                "driver in some VMs)";
        else if (hr == E_ACCESSDENIED)
            why +=
                ": no access to the desktop (secure desktop, or not running in the console "
                "session)";
        return Error::make("cannot duplicate output " + output_name_ + ": " + why,
                           static_cast<int>(hr));
    }
    DXGI_OUTDUPL_DESC desc{};
    duplication_->GetDesc(&desc);
    rotation_ = rotation_from_dxgi(desc.Rotation);
    fresh_duplication_ = true;
    return {};
}

void DxgiSource::release_frame() {
    frame_texture_.reset();
    if (frame_held_) {
        if (duplication_) duplication_->ReleaseFrame();
        frame_held_ = false;
    }
}

void DxgiSource::drop_duplication(std::string why) {
    ring_.reset(*this);
    release_frame();
    duplication_.reset();
    converter_fresh_ = true;
    last_error_ = std::move(why);
}

Status DxgiSource::make_staging(const StagingLayout& layout, std::size_t slots) {
    staging_.clear();
    const auto desktop = static_cast<DXGI_FORMAT>(layout.format);
    const auto choice =
        plan_publish(desktop, layout.width, layout.height, options_.max_frame_bytes);
    if (!choice.ok) return Error::make(choice.why);
    plan_ = choice.plan;
    converter_.reset();
    converter_fresh_ = true;
    converted_.clear();
    if (plan_.fp16_to_rgb10a2) {
        if (!hdr_notice_given_) {
            hdr_notice_given_ = true;
            spdlog::warn("{}",
                         fp16_region_notice(layout.width, layout.height, options_.frame_slots));
        }
        if (auto c = Fp16Converter::create(device_.get(), layout.width, layout.height)) {
            converter_ = std::move(*c);
        } else {
            spdlog::warn("converting FP16 on the CPU instead: {}", c.error().message);
        }
    }
    D3D11_TEXTURE2D_DESC s{};
    s.Width = layout.width;
    s.Height = layout.height;
    s.MipLevels = 1;
    s.ArraySize = 1;
    s.Format = converter_ ? DXGI_FORMAT_R10G10B10A2_UNORM : desktop;
    s.SampleDesc.Count = 1;
    s.Usage = D3D11_USAGE_STAGING;
    s.CPUAccessFlags = D3D11_CPU_ACCESS_READ;
    for (std::size_t i = 0; i < slots; ++i) {
        ComPtr<ID3D11Texture2D> t;
        const HRESULT hr = device_->CreateTexture2D(&s, nullptr, t.out());
        if (FAILED(hr)) {
            staging_.clear();
            return Error::make("cannot create a " + std::to_string(s.Width) + "x" +
                               std::to_string(s.Height) +
                               " staging texture: " + hresult_message(hr));
        }
        staging_.push_back(std::move(t));
    }
    staging_format_ = s.Format;
    format_ = plan_.format;
    return {};
}

void DxgiSource::copy(std::size_t slot, std::span<const Rect> rects) {
    ID3D11Texture2D* from = frame_texture_.get();
    D3D11_TEXTURE2D_DESC desc{};
    from->GetDesc(&desc);
    if (converter_) {
        // The converter's output follows the desktop frame by frame, so any
        // rectangle a slot missed can be copied from it.
        if (!frame_converted_) {
            DamageList what = frame_damage_;
            if (converter_fresh_ || !frame_damage_known_) what.set_full(desc.Width, desc.Height);
            converter_->convert(context_.get(), from, what.rects());
            frame_converted_ = true;
            converter_fresh_ = false;
        }
        from = converter_->output();
    }
    ID3D11Texture2D* to = staging_[slot].get();
    if (rects.size() == 1 && rects[0] == Rect{0, 0, desc.Width, desc.Height}) {
        context_->CopyResource(to, from);
        return;
    }
    for (const Rect& r : rects) {
        const D3D11_BOX box{r.x, r.y, 0, r.x + r.w, r.y + r.h, 1};
        context_->CopySubresourceRegion(to, 0, r.x, r.y, 0, from, 0, &box);
    }
}

MapResult DxgiSource::map(std::size_t slot, bool wait, MappedSlot& out) {
    D3D11_MAPPED_SUBRESOURCE m{};
    const HRESULT hr = context_->Map(staging_[slot].get(), 0, D3D11_MAP_READ,
                                     wait ? 0 : D3D11_MAP_FLAG_DO_NOT_WAIT, &m);
    if (hr == DXGI_ERROR_WAS_STILL_DRAWING) return MapResult::still_drawing;
    if (FAILED(hr)) {
        last_error_ = "cannot map a staging texture: " + hresult_message(hr);
        return MapResult::failed;
    }
    out.data = static_cast<const std::byte*>(m.pData);
    out.row_pitch = m.RowPitch;
    return MapResult::ok;
}

void DxgiSource::unmap(std::size_t slot) {
    if (slot < staging_.size()) context_->Unmap(staging_[slot].get(), 0);
}

Status DxgiSource::read_metadata(std::uint32_t total_bytes) {
    // Move rects first, as the documentation orders them; both calls report
    // the size they need if our buffers are short.
    moves_.resize(
        std::max<std::size_t>(moves_.size(), total_bytes / sizeof(DXGI_OUTDUPL_MOVE_RECT) + 1));
    UINT used = 0;
    HRESULT hr = duplication_->GetFrameMoveRects(
        static_cast<UINT>(moves_.size() * sizeof(DXGI_OUTDUPL_MOVE_RECT)), moves_.data(), &used);
    if (hr == DXGI_ERROR_MORE_DATA) {
        moves_.resize(used / sizeof(DXGI_OUTDUPL_MOVE_RECT) + 1);
        hr = duplication_->GetFrameMoveRects(
            static_cast<UINT>(moves_.size() * sizeof(DXGI_OUTDUPL_MOVE_RECT)), moves_.data(),
            &used);
    }
    if (FAILED(hr))
        return Error::make("GetFrameMoveRects failed: " + hresult_message(hr),
                           static_cast<int>(hr));
    moves_.resize(used / sizeof(DXGI_OUTDUPL_MOVE_RECT));

    dirty_.resize(std::max<std::size_t>(dirty_.size(), total_bytes / sizeof(RECT) + 1));
    hr = duplication_->GetFrameDirtyRects(static_cast<UINT>(dirty_.size() * sizeof(RECT)),
                                          dirty_.data(), &used);
    if (hr == DXGI_ERROR_MORE_DATA) {
        dirty_.resize(used / sizeof(RECT) + 1);
        hr = duplication_->GetFrameDirtyRects(static_cast<UINT>(dirty_.size() * sizeof(RECT)),
                                              dirty_.data(), &used);
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
        const HRESULT hr = duplication_->GetFramePointerShape(
            static_cast<UINT>(shape_buffer_.size()), shape_buffer_.data(), &used, &shape);
        if (SUCCEEDED(hr)) {
            auto converted = convert_pointer_shape(shape, std::span(shape_buffer_).first(used));
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
    ComPtr<IDXGIResource> resource;
    const auto ms = static_cast<UINT>(std::clamp<std::int64_t>(timeout.count(), 0, INFINITE - 1));
    const HRESULT hr = duplication_->AcquireNextFrame(ms, &info, resource.out());
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
    auto texture = resource.as<ID3D11Texture2D>();
    if (!texture) {
        release_frame();
        a.kind = Kind::failed;
        a.why = "the duplicated frame is not a D3D11 texture";
        return a;
    }
    D3D11_TEXTURE2D_DESC desc{};
    texture->GetDesc(&desc);
    a.layout = StagingLayout{desc.Width, desc.Height, static_cast<std::uint32_t>(desc.Format)};
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
            a.damage =
                damage_from_dxgi(dirty_, moves_, Size{desc.Width, desc.Height}, Rotation::identity);
            if (a.damage.empty()) {
                a.kind = Kind::pointer_only;  // presented, but nothing changed
                return a;
            }
        }
    }
    fresh_duplication_ = false;
    frame_texture_ = std::move(texture);
    frame_damage_ = a.damage;
    frame_damage_known_ = a.damage_known;
    frame_converted_ = false;
    a.kind = Kind::image;
    a.capture_time_ns = monotonic_ns();
    return a;
}

CaptureStatus DxgiSource::next_frame(std::chrono::milliseconds timeout, CapturedFrame& out) {
    if (!duplication_) {
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
    if (!converter_ && (plan_.fp16_to_rgb10a2 || plan_.swizzle_rgba)) {
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
