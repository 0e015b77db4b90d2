#include "capture/win/dxgi.hpp"

#include <dxgi1_5.h>

#include <algorithm>
#include <cstdint>
#include <thread>

#include <spdlog/spdlog.h>

#include "capture/win/cursor_shape.hpp"
#include "capture/win/damage.hpp"
#include "porthole/util/adaptive_wait.hpp"

namespace porthole::agent::win {

using protocol::DamageList;
using protocol::Rect;

namespace {

std::string narrow(const wchar_t* w) {
    std::string s;
    for (; *w != 0; ++w)
        s.push_back(*w < 128 ? static_cast<char>(*w) : '?');
    return s;
}

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
    release_frame();
}

Status DxgiSource::init() {
    duplication_.reset();
    staging_.reset();
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
    need_full_ = true;
    return {};
}

void DxgiSource::release_frame() {
    if (mapped_) {
        context_->Unmap(staging_.get(), 0);
        mapped_ = false;
    }
    if (frame_held_) {
        if (duplication_) duplication_->ReleaseFrame();
        frame_held_ = false;
    }
}

void DxgiSource::drop_duplication(std::string why) {
    release_frame();
    duplication_.reset();
    need_full_ = true;
    last_error_ = std::move(why);
}

Status DxgiSource::ensure_staging(const D3D11_TEXTURE2D_DESC& desc) {
    const auto choice =
        plan_publish(desc.Format, desc.Width, desc.Height, options_.max_frame_bytes);
    if (!choice.ok) return Error::make(choice.why);
    const DXGI_FORMAT staging_format =
        choice.plan.fp16_to_rgb10a2 && converter_ ? DXGI_FORMAT_R10G10B10A2_UNORM : desc.Format;
    if (staging_ && staging_desc_.Width == desc.Width && staging_desc_.Height == desc.Height &&
        plan_.format == choice.plan.format &&
        plan_.fp16_to_rgb10a2 == choice.plan.fp16_to_rgb10a2 &&
        staging_desc_.Format == staging_format) {
        return {};
    }
    plan_ = choice.plan;
    converter_.reset();
    converted_.clear();
    if (plan_.fp16_to_rgb10a2) {
        if (!hdr_notice_given_) {
            hdr_notice_given_ = true;
            spdlog::warn("{}", fp16_region_notice(desc.Width, desc.Height, options_.frame_slots));
        }
        if (auto c = Fp16Converter::create(device_.get(), desc.Width, desc.Height)) {
            converter_ = std::move(*c);
        } else {
            spdlog::warn("converting FP16 on the CPU instead: {}", c.error().message);
        }
    }
    D3D11_TEXTURE2D_DESC s{};
    s.Width = desc.Width;
    s.Height = desc.Height;
    s.MipLevels = 1;
    s.ArraySize = 1;
    s.Format = converter_ ? DXGI_FORMAT_R10G10B10A2_UNORM : desc.Format;
    s.SampleDesc.Count = 1;
    s.Usage = D3D11_USAGE_STAGING;
    s.CPUAccessFlags = D3D11_CPU_ACCESS_READ;
    staging_.reset();
    const HRESULT hr = device_->CreateTexture2D(&s, nullptr, staging_.out());
    if (FAILED(hr)) {
        return Error::make("cannot create a " + std::to_string(s.Width) + "x" +
                           std::to_string(s.Height) + " staging texture: " + hresult_message(hr));
    }
    staging_desc_ = s;
    format_ = plan_.format;
    need_full_ = true;
    return {};
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

CaptureStatus DxgiSource::next_frame(std::chrono::milliseconds timeout, CapturedFrame& out) {
    // The previous frame's image was valid until now.
    release_frame();
    if (!duplication_) {
        if (auto ok = init(); !ok) {
            last_error_ = ok.error().message;
            // Retry at the caller's pace rather than spinning (secure desktop, mode change).
            std::this_thread::sleep_for(timeout);
            return ok.error().code == kNoDisplay ? CaptureStatus::no_output : CaptureStatus::reinit;
        }
    }

    DXGI_OUTDUPL_FRAME_INFO info{};
    ComPtr<IDXGIResource> resource;
    const auto ms = static_cast<UINT>(std::clamp<std::int64_t>(timeout.count(), 0, INFINITE - 1));
    HRESULT hr = duplication_->AcquireNextFrame(ms, &info, resource.out());
    if (hr == DXGI_ERROR_WAIT_TIMEOUT) return CaptureStatus::timeout;
    if (hr == DXGI_ERROR_ACCESS_LOST || hr == DXGI_ERROR_INVALID_CALL) {
        // Desktop switch (UAC, lock screen), mode or rotation change, or a full-screen app.
        drop_duplication("desktop duplication lost (" + hresult_message(hr) + "); re-creating it");
        return CaptureStatus::reinit;
    }
    if (FAILED(hr)) {
        // Re-created on the next call; the agent keeps running (it is the
        // only way the host hears anything from this machine).
        drop_duplication("AcquireNextFrame failed: " + hresult_message(hr));
        return CaptureStatus::reinit;
    }
    frame_held_ = true;
    update_cursor(info);
    // A pointer-only update carries no new image.
    if (info.LastPresentTime.QuadPart == 0 && !need_full_) return CaptureStatus::timeout;

    auto texture = resource.as<ID3D11Texture2D>();
    if (!texture) {
        drop_duplication("the duplicated frame is not a D3D11 texture");
        return CaptureStatus::reinit;
    }
    D3D11_TEXTURE2D_DESC desc{};
    texture->GetDesc(&desc);
    if (auto ok = ensure_staging(desc); !ok) {
        // Not fatal: the desktop may change to one that fits (mode change).
        last_error_ = ok.error().message;
        release_frame();
        return CaptureStatus::unfit;
    }
    const Size tex{desc.Width, desc.Height};
    DamageList texture_damage;  // in the texture's own orientation
    if (need_full_) {
        texture_damage.set_full(tex.width, tex.height);
    } else {
        if (auto ok = read_metadata(info.TotalMetadataBufferSize); !ok) {
            drop_duplication(ok.error().message);
            return CaptureStatus::reinit;
        }
        texture_damage = damage_from_dxgi(dirty_, moves_, tex, Rotation::identity);
        if (texture_damage.empty()) return CaptureStatus::timeout;
    }
    ID3D11Texture2D* copy_from = texture.get();
    if (converter_) {
        converter_->convert(context_.get(), texture.get(), texture_damage.rects());
        copy_from = converter_->output();
    }
    if (need_full_) {
        context_->CopyResource(staging_.get(), copy_from);
    } else {
        for (const Rect& r : texture_damage.rects()) {
            const D3D11_BOX box{r.x, r.y, 0, r.x + r.w, r.y + r.h, 1};
            context_->CopySubresourceRegion(staging_.get(), 0, r.x, r.y, 0, copy_from, 0, &box);
        }
    }

    D3D11_MAPPED_SUBRESOURCE map{};
    hr = context_->Map(staging_.get(), 0, D3D11_MAP_READ, 0, &map);
    if (FAILED(hr)) {
        drop_duplication("cannot map the staging texture: " + hresult_message(hr));
        return CaptureStatus::reinit;
    }
    mapped_ = true;
    const std::uint32_t bpp = protocol::bytes_per_pixel(format_);
    const std::uint32_t staging_bpp =
        staging_desc_.Format == DXGI_FORMAT_R16G16B16A16_FLOAT ? 8U : 4U;
    ConstImageView src{static_cast<const std::byte*>(map.pData), tex.width, tex.height,
                       map.RowPitch, staging_bpp};
    if (!converter_ && (plan_.fp16_to_rgb10a2 || plan_.swizzle_rgba)) {
        // Converted on the CPU into a 4-byte-a-pixel copy of the desktop.
        const std::uint32_t stride = tex.width * 4;
        if (need_full_ || converted_.size() != std::size_t{stride} * tex.height)
            converted_.assign(std::size_t{stride} * tex.height, std::byte{0});
        const ImageView dst{converted_.data(), tex.width, tex.height, stride, 4};
        for (const Rect& r : texture_damage.rects()) {
            if (plan_.fp16_to_rgb10a2)
                convert_fp16_rect(src, dst, r);
            else
                swizzle_rgba_rect(src, dst, r);
        }
        src = ConstImageView{converted_.data(), tex.width, tex.height, stride, 4};
    }
    if (rotation_ == Rotation::identity) {
        out.image = protocol::FrameSource{tex.width, tex.height, map.RowPitch, format_, src.pixels};
        out.damage = texture_damage;
    } else {
        const Size desk = rotated_size(tex, rotation_);
        const std::uint32_t stride = desk.width * bpp;
        if (need_full_ || rotated_.size() != std::size_t{stride} * desk.height)
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
    out.capture_time_ns = monotonic_ns();
    need_full_ = false;
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
