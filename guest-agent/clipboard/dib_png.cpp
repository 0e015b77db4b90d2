#include "clipboard/dib_png.hpp"

#include <objbase.h>
#include <wincodec.h>
#include <windows.h>

#include <cstdio>
#include <cstring>
#include <utility>
#include <vector>

namespace porthole::agent::clipboard {
namespace {

// COM's pointers, released at scope end.
template <class T>
struct Com {
    T* p = nullptr;
    Com() = default;
    Com(const Com&) = delete;
    Com& operator=(const Com&) = delete;
    Com(Com&& o) noexcept : p(std::exchange(o.p, nullptr)) {}
    Com& operator=(Com&&) = delete;
    ~Com() {
        if (p != nullptr) p->Release();
    }
    T* operator->() const { return p; }
    T** out() { return &p; }
};

Error hr_error(const char* what, HRESULT hr) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08lx", static_cast<unsigned long>(hr));
    return Error::make(std::string("clipboard image: ") + what + " failed (" + buf + ")");
}

Result<Com<IWICImagingFactory>> factory() {
    Com<IWICImagingFactory> f;
    const HRESULT hr = CoCreateInstance(CLSID_WICImagingFactory, nullptr, CLSCTX_INPROC_SERVER,
                                        IID_PPV_ARGS(f.out()));
    if (FAILED(hr)) return hr_error("WIC", hr);
    return f;
}

}  // namespace

Result<std::string> dib_to_png(std::string_view dib) {
    BITMAPINFOHEADER h{};
    if (dib.size() < sizeof h) return Error::make("clipboard image: DIB shorter than its header");
    std::memcpy(&h, dib.data(), sizeof h);
    const bool bitfields = h.biCompression == BI_BITFIELDS;
    if (h.biSize < sizeof h || h.biSize > dib.size() || h.biPlanes != 1 ||
        (h.biBitCount != 24 && h.biBitCount != 32) ||
        (h.biCompression != BI_RGB && !(bitfields && h.biBitCount == 32)))
        return Error::make("clipboard image: only 24- and 32-bit uncompressed DIBs are taken");
    const std::int64_t w = h.biWidth, hh = h.biHeight < 0 ? -std::int64_t{h.biHeight} : h.biHeight;
    if (w <= 0 || hh <= 0 || w > kMaxImageSide || hh > kMaxImageSide)
        return Error::make("clipboard image: DIB of " + std::to_string(w) + "x" +
                           std::to_string(hh) + " refused");
    // Masks follow a plain 40-byte header with BI_BITFIELDS (V4/V5 hold them inside).
    std::size_t pixels_at = h.biSize + (bitfields && h.biSize == sizeof h ? 12 : 0);
    const auto stride = static_cast<std::size_t>((w * h.biBitCount + 31) / 32 * 4);
    const auto need = stride * static_cast<std::size_t>(hh);
    if (pixels_at > dib.size() || dib.size() - pixels_at < need)
        return Error::make("clipboard image: DIB shorter than its pixels");
    // Top-down BGRA; a 32-bit DIB whose alpha is all 0 is opaque (GDI leaves it 0).
    std::vector<std::uint8_t> bgra(static_cast<std::size_t>(w * hh * 4));
    bool any_alpha = false;
    for (std::int64_t y = 0; y < hh; ++y) {
        const std::int64_t src_y = h.biHeight > 0 ? hh - 1 - y : y;
        const auto* src = reinterpret_cast<const std::uint8_t*>(dib.data()) + pixels_at +
                          static_cast<std::size_t>(src_y) * stride;
        auto* dst = bgra.data() + static_cast<std::size_t>(y * w * 4);
        for (std::int64_t x = 0; x < w; ++x) {
            const std::size_t s = static_cast<std::size_t>(x) * (h.biBitCount / 8);
            dst[x * 4 + 0] = src[s + 0];
            dst[x * 4 + 1] = src[s + 1];
            dst[x * 4 + 2] = src[s + 2];
            dst[x * 4 + 3] = h.biBitCount == 32 ? src[s + 3] : 0xFF;
            any_alpha = any_alpha || dst[x * 4 + 3] != 0;
        }
    }
    if (!any_alpha)
        for (std::size_t i = 3; i < bgra.size(); i += 4)
            bgra[i] = 0xFF;
    auto f = factory();
    if (!f) return f.error();
    Com<IStream> stream;
    HRESULT hr = CreateStreamOnHGlobal(nullptr, TRUE, stream.out());
    if (FAILED(hr)) return hr_error("CreateStreamOnHGlobal", hr);
    Com<IWICBitmapEncoder> enc;
    hr = (*f)->CreateEncoder(GUID_ContainerFormatPng, nullptr, enc.out());
    if (FAILED(hr)) return hr_error("the PNG encoder", hr);
    if (FAILED(hr = enc->Initialize(stream.p, WICBitmapEncoderNoCache)))
        return hr_error("encoder init", hr);
    Com<IWICBitmapFrameEncode> frame;
    Com<IPropertyBag2> props;
    if (FAILED(hr = enc->CreateNewFrame(frame.out(), props.out()))) return hr_error("frame", hr);
    if (FAILED(hr = frame->Initialize(props.p))) return hr_error("frame init", hr);
    if (FAILED(hr = frame->SetSize(static_cast<UINT>(w), static_cast<UINT>(hh))))
        return hr_error("SetSize", hr);
    WICPixelFormatGUID fmt = GUID_WICPixelFormat32bppBGRA;
    if (FAILED(hr = frame->SetPixelFormat(&fmt))) return hr_error("SetPixelFormat", hr);
    if (fmt != GUID_WICPixelFormat32bppBGRA) return Error::make("clipboard image: no BGRA PNG");
    if (FAILED(hr = frame->WritePixels(static_cast<UINT>(hh), static_cast<UINT>(w * 4),
                                       static_cast<UINT>(bgra.size()), bgra.data())))
        return hr_error("WritePixels", hr);
    if (FAILED(hr = frame->Commit()) || FAILED(hr = enc->Commit())) return hr_error("Commit", hr);
    HGLOBAL mem = nullptr;
    if (FAILED(hr = GetHGlobalFromStream(stream.p, &mem))) return hr_error("the stream", hr);
    STATSTG st{};
    if (FAILED(hr = stream->Stat(&st, STATFLAG_NONAME))) return hr_error("Stat", hr);
    const auto* p = static_cast<const char*>(GlobalLock(mem));
    if (p == nullptr) return Error::make("clipboard image: GlobalLock failed");
    std::string out(p, static_cast<std::size_t>(st.cbSize.QuadPart));
    GlobalUnlock(mem);
    return out;
}

Result<std::string> png_to_dib(std::string_view png) {
    auto f = factory();
    if (!f) return f.error();
    Com<IWICStream> stream;
    HRESULT hr = (*f)->CreateStream(stream.out());
    if (FAILED(hr)) return hr_error("CreateStream", hr);
    if (FAILED(hr = stream->InitializeFromMemory(
                   reinterpret_cast<BYTE*>(const_cast<char*>(png.data())),
                   static_cast<DWORD>(png.size()))))
        return hr_error("InitializeFromMemory", hr);
    Com<IWICBitmapDecoder> dec;
    if (FAILED(hr = (*f)->CreateDecoderFromStream(stream.p, nullptr, WICDecodeMetadataCacheOnDemand,
                                                  dec.out())))
        return hr_error("decoding the PNG", hr);
    Com<IWICBitmapFrameDecode> frame;
    if (FAILED(hr = dec->GetFrame(0, frame.out()))) return hr_error("GetFrame", hr);
    Com<IWICBitmapSource> bgra;
    if (FAILED(hr = WICConvertBitmapSource(GUID_WICPixelFormat32bppBGRA, frame.p, bgra.out())))
        return hr_error("converting the PNG", hr);
    UINT w = 0, h = 0;
    if (FAILED(hr = bgra->GetSize(&w, &h))) return hr_error("GetSize", hr);
    if (w == 0 || h == 0 || w > kMaxImageSide || h > kMaxImageSide)
        return Error::make("clipboard image: PNG of " + std::to_string(w) + "x" +
                           std::to_string(h) + " refused");
    const std::size_t stride = std::size_t{w} * 4;
    std::vector<std::uint8_t> top_down(stride * h);
    if (FAILED(hr = bgra->CopyPixels(nullptr, static_cast<UINT>(stride),
                                     static_cast<UINT>(top_down.size()), top_down.data())))
        return hr_error("CopyPixels", hr);
    BITMAPINFOHEADER bh{};
    bh.biSize = sizeof bh;
    bh.biWidth = static_cast<LONG>(w);
    bh.biHeight = static_cast<LONG>(h);  // bottom-up, as most readers expect
    bh.biPlanes = 1;
    bh.biBitCount = 32;
    bh.biCompression = BI_RGB;
    bh.biSizeImage = static_cast<DWORD>(top_down.size());
    std::string out(sizeof bh + top_down.size(), '\0');
    std::memcpy(out.data(), &bh, sizeof bh);
    for (UINT y = 0; y < h; ++y)
        std::memcpy(out.data() + sizeof bh + std::size_t{h - 1 - y} * stride,
                    top_down.data() + std::size_t{y} * stride, stride);
    return out;
}

}  // namespace porthole::agent::clipboard
