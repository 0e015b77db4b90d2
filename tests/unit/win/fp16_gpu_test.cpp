// The GPU's FP16 -> RGB10A2 conversion against the CPU reference, on Wine's
// Direct3D 11 (wined3d over Mesa's llvmpipe on the fixture's Xvfb).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "capture/win/fp16_gpu.hpp"
#include "capture/win/hdr.hpp"

using namespace porthole::agent::win;
using porthole::protocol::Rect;

namespace {

struct Device {
    ComPtr<ID3D11Device> device;
    ComPtr<ID3D11DeviceContext> context;
};

std::uint16_t half_of(float f) {  // exact for the values used below
    if (f == 0.0F) return 0;
    int e = 0;
    const float m = std::frexp(f, &e);  // f = m * 2^e, m in [0.5, 1)
    const auto mant = static_cast<std::uint16_t>(std::lround((m * 2.0F - 1.0F) * 1024.0F));
    return static_cast<std::uint16_t>(((e - 1 + 15) << 10) | mant);
}

}  // namespace

TEST(Fp16Gpu, ConvertsDamagedRectsLikeTheCpuReference) {
    Device d;
    const HRESULT hr =
        D3D11CreateDevice(nullptr, D3D_DRIVER_TYPE_HARDWARE, nullptr, 0, nullptr, 0,
                          D3D11_SDK_VERSION, d.device.out(), nullptr, d.context.out());
    ASSERT_TRUE(SUCCEEDED(hr)) << "D3D11CreateDevice: " << hresult_message(hr);

    constexpr std::uint32_t w = 64, h = 32;
    std::vector<std::uint16_t> px(std::size_t{w} * h * 4);
    for (std::uint32_t y = 0; y < h; ++y)
        for (std::uint32_t x = 0; x < w; ++x) {
            auto* p = &px[(std::size_t{y} * w + x) * 4];
            p[0] = half_of(static_cast<float>(x) / 32.0F);  // 0 .. 1.97: clips above 1
            p[1] = half_of(static_cast<float>(y) / 32.0F);
            p[2] = half_of(0.25F);
            p[3] = half_of(1.0F);
        }
    D3D11_TEXTURE2D_DESC t{};
    t.Width = w;
    t.Height = h;
    t.MipLevels = 1;
    t.ArraySize = 1;
    t.SampleDesc.Count = 1;
    t.Usage = D3D11_USAGE_DEFAULT;
    t.Format = DXGI_FORMAT_R16G16B16A16_FLOAT;
    const D3D11_SUBRESOURCE_DATA init{px.data(), w * 8, 0};
    ComPtr<ID3D11Texture2D> src;
    ASSERT_TRUE(SUCCEEDED(d.device->CreateTexture2D(&t, &init, src.out())));

    auto conv = Fp16Converter::create(d.device.get(), w, h);
    ASSERT_TRUE(conv) << conv.error().message;
    const Rect rects[] = {{0, 0, 20, 10}, {30, 12, 34, 20}};
    (*conv)->convert(d.context.get(), src.get(), rects);

    t.Format = DXGI_FORMAT_R10G10B10A2_UNORM;
    t.Usage = D3D11_USAGE_STAGING;
    t.CPUAccessFlags = D3D11_CPU_ACCESS_READ;
    ComPtr<ID3D11Texture2D> staging;
    ASSERT_TRUE(SUCCEEDED(d.device->CreateTexture2D(&t, nullptr, staging.out())));
    d.context->CopyResource(staging.get(), (*conv)->output());
    D3D11_MAPPED_SUBRESOURCE map{};
    ASSERT_TRUE(SUCCEEDED(d.context->Map(staging.get(), 0, D3D11_MAP_READ, 0, &map)));

    int checked = 0;
    for (const Rect& r : rects)
        for (std::uint32_t y = r.y; y < r.y + r.h; ++y)
            for (std::uint32_t x = r.x; x < r.x + r.w; ++x) {
                std::uint32_t got = 0;
                std::memcpy(&got,
                            static_cast<const std::byte*>(map.pData) + y * map.RowPitch + x * 4, 4);
                const std::uint32_t want = scrgb_to_rgb10a2(&px[(std::size_t{y} * w + x) * 4]);
                for (int c = 0; c < 3; ++c) {
                    const int g = static_cast<int>((got >> (10 * c)) & 0x3FFU);
                    const int e = static_cast<int>((want >> (10 * c)) & 0x3FFU);
                    ASSERT_LE(std::abs(g - e), 1) << "pixel " << x << "," << y << " channel " << c;
                }
                ASSERT_EQ(got >> 30, 3U);
                ++checked;
            }
    d.context->Unmap(staging.get(), 0);
    EXPECT_EQ(checked, 20 * 10 + 34 * 20);
}
