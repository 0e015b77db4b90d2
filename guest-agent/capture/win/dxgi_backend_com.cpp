// DxgiBackend on the real DXGI and D3D11 (see dxgi_backend.hpp): thin COM
// calls, no decisions beyond what each call needs.
#include <d3d11.h>
#include <dxgi1_5.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "capture/win/dxgi_backend.hpp"
#include "capture/win/fp16_gpu.hpp"
#include "capture/win/win_handles.hpp"
#include "win/utf16.hpp"

namespace porthole::agent::win {

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

class ComDxgiBackend final : public DxgiBackend {
  public:
    explicit ComDxgiBackend(bool capture_thread) : capture_thread_(capture_thread) {}
    ~ComDxgiBackend() override { close(); }

    Result<std::vector<OutputInfo>> outputs() override {
        if (capture_thread_) {
            // The thread's desktop decides what DXGI may duplicate (the
            // secure desktop after a switch), and DuplicateOutput1 wants DPI awareness.
            attach_to_input_desktop();
            make_thread_dpi_aware();
        }
        ComPtr<IDXGIFactory1> factory;
        const HRESULT hr =
            CreateDXGIFactory1(__uuidof(IDXGIFactory1), reinterpret_cast<void**>(factory.out()));
        if (FAILED(hr)) return Error::make("CreateDXGIFactory1 failed: " + hresult_message(hr));
        std::vector<OutputInfo> infos;
        adapters_.clear();
        outputs_.clear();
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
                adapters_.push_back(ad);
                outputs_.push_back(candidate);
            }
        }
        return infos;
    }

    Result<Duplication> open(std::size_t index, std::span<const DXGI_FORMAT> formats) override {
        close();
        if (index >= outputs_.size()) return Error::make("no such output");
        ComPtr<IDXGIOutput> output = outputs_[index];
        DXGI_OUTPUT_DESC out_desc{};
        output->GetDesc(&out_desc);
        const std::string name = narrow(out_desc.DeviceName);
        HRESULT hr =
            D3D11CreateDevice(adapters_[index].get(), D3D_DRIVER_TYPE_UNKNOWN, nullptr, 0, nullptr,
                              0, D3D11_SDK_VERSION, device_.out(), nullptr, context_.out());
        if (FAILED(hr)) return Error::make("D3D11CreateDevice failed: " + hresult_message(hr));

        // DuplicateOutput1 (Windows 10 1703+) gives HDR and 10-bit formats;
        // DuplicateOutput always converts to BGRA.
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
            duplication_.reset();
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
            return Error::make("cannot duplicate output " + name + ": " + why,
                               static_cast<int>(hr));
        }
        DXGI_OUTDUPL_DESC desc{};
        duplication_->GetDesc(&desc);
        return Duplication{desc.ModeDesc.Format, desc.ModeDesc.Width, desc.ModeDesc.Height,
                           rotation_from_dxgi(desc.Rotation)};
    }

    void close() override {
        release_frame();
        staging_.clear();
        converter_.reset();
        duplication_.reset();
        context_.reset();
        device_.reset();
    }

    HRESULT acquire_frame(std::chrono::milliseconds timeout, DXGI_OUTDUPL_FRAME_INFO& info,
                          std::optional<StagingLayout>& texture) override {
        texture.reset();
        if (!duplication_) return DXGI_ERROR_ACCESS_LOST;
        ComPtr<IDXGIResource> resource;
        const auto ms =
            static_cast<UINT>(std::clamp<std::int64_t>(timeout.count(), 0, INFINITE - 1));
        const HRESULT hr = duplication_->AcquireNextFrame(ms, &info, resource.out());
        if (FAILED(hr)) return hr;
        held_ = true;
        frame_ = resource.as<ID3D11Texture2D>();
        if (frame_) {
            D3D11_TEXTURE2D_DESC desc{};
            frame_->GetDesc(&desc);
            texture =
                StagingLayout{desc.Width, desc.Height, static_cast<std::uint32_t>(desc.Format)};
        }
        return hr;
    }

    HRESULT move_rects(std::span<DXGI_OUTDUPL_MOVE_RECT> buffer, UINT& used_bytes) override {
        return duplication_->GetFrameMoveRects(static_cast<UINT>(buffer.size_bytes()),
                                               buffer.data(), &used_bytes);
    }
    HRESULT dirty_rects(std::span<RECT> buffer, UINT& used_bytes) override {
        return duplication_->GetFrameDirtyRects(static_cast<UINT>(buffer.size_bytes()),
                                                buffer.data(), &used_bytes);
    }
    HRESULT pointer_shape(std::span<std::byte> buffer, UINT& used_bytes,
                          DXGI_OUTDUPL_POINTER_SHAPE_INFO& info) override {
        return duplication_->GetFramePointerShape(static_cast<UINT>(buffer.size()), buffer.data(),
                                                  &used_bytes, &info);
    }
    void release_frame() override {
        frame_.reset();
        if (held_ && duplication_) duplication_->ReleaseFrame();
        held_ = false;
    }

    Status create_staging(const StagingLayout& layout, std::size_t slots) override {
        staging_.clear();
        D3D11_TEXTURE2D_DESC s{};
        s.Width = layout.width;
        s.Height = layout.height;
        s.MipLevels = 1;
        s.ArraySize = 1;
        s.Format = static_cast<DXGI_FORMAT>(layout.format);
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
        return {};
    }

    Status create_converter(std::uint32_t width, std::uint32_t height) override {
        converter_.reset();
        auto c = Fp16Converter::create(device_.get(), width, height);
        if (!c) return c.error();
        converter_ = std::move(*c);
        return {};
    }

    void convert(std::span<const protocol::Rect> rects) override {
        if (converter_ && frame_) converter_->convert(context_.get(), frame_.get(), rects);
    }

    void copy(std::size_t slot, std::span<const protocol::Rect> rects,
              bool from_converter) override {
        ID3D11Texture2D* from = from_converter && converter_ ? converter_->output() : frame_.get();
        if (from == nullptr || slot >= staging_.size()) return;
        D3D11_TEXTURE2D_DESC desc{};
        from->GetDesc(&desc);
        ID3D11Texture2D* to = staging_[slot].get();
        if (rects.size() == 1 && rects[0] == protocol::Rect{0, 0, desc.Width, desc.Height}) {
            context_->CopyResource(to, from);
            return;
        }
        for (const protocol::Rect& r : rects) {
            const D3D11_BOX box{r.x, r.y, 0, r.x + r.w, r.y + r.h, 1};
            context_->CopySubresourceRegion(to, 0, r.x, r.y, 0, from, 0, &box);
        }
    }

    MapResult map(std::size_t slot, bool wait, MappedSlot& out) override {
        if (slot >= staging_.size()) return MapResult::failed;
        D3D11_MAPPED_SUBRESOURCE m{};
        const HRESULT hr = context_->Map(staging_[slot].get(), 0, D3D11_MAP_READ,
                                         wait ? 0 : D3D11_MAP_FLAG_DO_NOT_WAIT, &m);
        if (hr == DXGI_ERROR_WAS_STILL_DRAWING) return MapResult::still_drawing;
        if (FAILED(hr)) return MapResult::failed;
        out.data = static_cast<const std::byte*>(m.pData);
        out.row_pitch = m.RowPitch;
        return MapResult::ok;
    }

    void unmap(std::size_t slot) override {
        if (slot < staging_.size()) context_->Unmap(staging_[slot].get(), 0);
    }

  private:
    bool capture_thread_;
    std::vector<ComPtr<IDXGIAdapter1>> adapters_;  // of the last outputs(), one per output
    std::vector<ComPtr<IDXGIOutput>> outputs_;
    ComPtr<ID3D11Device> device_;
    ComPtr<ID3D11DeviceContext> context_;
    ComPtr<IDXGIOutputDuplication> duplication_;
    ComPtr<ID3D11Texture2D> frame_;  // the desktop frame held
    bool held_ = false;
    std::vector<ComPtr<ID3D11Texture2D>> staging_;
    std::unique_ptr<Fp16Converter> converter_;
};

}  // namespace

std::unique_ptr<DxgiBackend> make_com_dxgi_backend(bool capture_thread) {
    return std::make_unique<ComDxgiBackend>(capture_thread);
}

}  // namespace porthole::agent::win
