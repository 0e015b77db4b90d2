#include "capture/win/fp16_gpu.hpp"

#include <d3dcompiler.h>

#include <algorithm>
#include <string>

namespace porthole::agent::win {

namespace {

// The same encoding as scrgb_to_rgb10a2 (hdr.cpp): linear scRGB clamped to
// [0,1], sRGB transfer, stored as UNORM so the hardware rounds to 10 bits.
constexpr char kShader[] = R"(
Texture2D<float4> src : register(t0);
float4 vs_main(uint id : SV_VertexID) : SV_Position {
    float2 uv = float2((id << 1) & 2, id & 2);
    return float4(uv * float2(2.0, -2.0) + float2(-1.0, 1.0), 0.0, 1.0);
}
// One function per entry point and no helpers: Wine's HLSL compiler
// (vkd3d-shader) does not call user functions.
float4 ps_main(float4 pos : SV_Position) : SV_Target {
    float4 c = saturate(src.Load(int3(int2(pos.xy), 0)));
    float3 lo = c.rgb * 12.92;
    float3 hi = 1.055 * pow(c.rgb, 1.0 / 2.4) - 0.055;
    float3 use_hi = c.rgb > 0.0031308;
    return float4(lo + (hi - lo) * use_hi, c.a);
}
)";

using CompileFn = HRESULT(WINAPI*)(LPCVOID, SIZE_T, LPCSTR, const D3D_SHADER_MACRO*, ID3DInclude*,
                                   LPCSTR, LPCSTR, UINT, UINT, ID3DBlob**, ID3DBlob**);

// d3dcompiler_47.dll stays loaded for the process: the blobs it returns are
// released through its code.
CompileFn load_compiler() {
    static CompileFn fn = [] {
        HMODULE m = LoadLibraryW(L"d3dcompiler_47.dll");
        if (m == nullptr) return CompileFn{nullptr};
        FARPROC p = GetProcAddress(m, "D3DCompile");
        return reinterpret_cast<CompileFn>(reinterpret_cast<void (*)()>(p));
    }();
    return fn;
}

Result<ComPtr<ID3DBlob>> compile(CompileFn fn, const char* entry, const char* target) {
    ComPtr<ID3DBlob> code;
    ComPtr<ID3DBlob> errors;
    const HRESULT hr = fn(kShader, sizeof(kShader) - 1, "porthole_fp16", nullptr, nullptr, entry,
                          target, D3DCOMPILE_OPTIMIZATION_LEVEL3, 0, code.out(), errors.out());
    if (FAILED(hr)) {
        std::string why = hresult_message(hr);
        if (errors)
            why += ": " + std::string(static_cast<const char*>(errors->GetBufferPointer()),
                                      errors->GetBufferSize());
        return Error::make(std::string("cannot compile the FP16 conversion shader ") + entry +
                           ": " + why);
    }
    return code;
}

}  // namespace

Result<std::unique_ptr<Fp16Converter>> Fp16Converter::create(ID3D11Device* device,
                                                             std::uint32_t width,
                                                             std::uint32_t height) {
    const CompileFn fn = load_compiler();
    if (fn == nullptr)
        return Error::make("d3dcompiler_47.dll is not available for the FP16 conversion shader");
    auto vs_code = compile(fn, "vs_main", "vs_4_0");
    if (!vs_code) return vs_code.error();
    auto ps_code = compile(fn, "ps_main", "ps_4_0");
    if (!ps_code) return ps_code.error();

    std::unique_ptr<Fp16Converter> c(new Fp16Converter());
    c->width_ = width;
    c->height_ = height;
    HRESULT hr = device->CreateVertexShader((*vs_code)->GetBufferPointer(),
                                            (*vs_code)->GetBufferSize(), nullptr, c->vs_.out());
    if (SUCCEEDED(hr))
        hr = device->CreatePixelShader((*ps_code)->GetBufferPointer(), (*ps_code)->GetBufferSize(),
                                       nullptr, c->ps_.out());
    if (FAILED(hr)) return Error::make("cannot create the FP16 shaders: " + hresult_message(hr));

    D3D11_TEXTURE2D_DESC t{};
    t.Width = width;
    t.Height = height;
    t.MipLevels = 1;
    t.ArraySize = 1;
    t.SampleDesc.Count = 1;
    t.Usage = D3D11_USAGE_DEFAULT;
    t.Format = DXGI_FORMAT_R16G16B16A16_FLOAT;
    t.BindFlags = D3D11_BIND_SHADER_RESOURCE;
    hr = device->CreateTexture2D(&t, nullptr, c->input_.out());
    if (SUCCEEDED(hr))
        hr = device->CreateShaderResourceView(c->input_.get(), nullptr, c->input_view_.out());
    if (FAILED(hr))
        return Error::make("cannot create the FP16 input texture: " + hresult_message(hr));
    t.Format = DXGI_FORMAT_R10G10B10A2_UNORM;
    t.BindFlags = D3D11_BIND_RENDER_TARGET;
    hr = device->CreateTexture2D(&t, nullptr, c->target_.out());
    if (SUCCEEDED(hr))
        hr = device->CreateRenderTargetView(c->target_.get(), nullptr, c->target_view_.out());
    if (FAILED(hr))
        return Error::make("cannot create the RGB10A2 target texture: " + hresult_message(hr));

    D3D11_RASTERIZER_DESC r{};
    r.FillMode = D3D11_FILL_SOLID;
    r.CullMode = D3D11_CULL_NONE;
    r.DepthClipEnable = TRUE;
    r.ScissorEnable = TRUE;
    hr = device->CreateRasterizerState(&r, c->scissored_.out());
    if (FAILED(hr))
        return Error::make("cannot create the rasterizer state: " + hresult_message(hr));
    return c;
}

void Fp16Converter::convert(ID3D11DeviceContext* ctx, ID3D11Texture2D* fp16,
                            std::span<const protocol::Rect> rects) {
    for (const auto& r : rects) {
        if (r.empty() || r.x >= width_ || r.y >= height_) continue;
        const D3D11_BOX box{r.x, r.y, 0, std::min(r.x + r.w, width_), std::min(r.y + r.h, height_),
                            1};
        ctx->CopySubresourceRegion(input_.get(), 0, r.x, r.y, 0, fp16, 0, &box);
    }
    const D3D11_VIEWPORT vp{0, 0, static_cast<float>(width_), static_cast<float>(height_), 0, 1};
    ID3D11RenderTargetView* rtv = target_view_.get();
    ID3D11ShaderResourceView* srv = input_view_.get();
    ctx->OMSetRenderTargets(1, &rtv, nullptr);
    ctx->RSSetViewports(1, &vp);
    ctx->RSSetState(scissored_.get());
    ctx->IASetInputLayout(nullptr);
    ctx->IASetPrimitiveTopology(D3D11_PRIMITIVE_TOPOLOGY_TRIANGLELIST);
    ctx->VSSetShader(vs_.get(), nullptr, 0);
    ctx->PSSetShader(ps_.get(), nullptr, 0);
    ctx->PSSetShaderResources(0, 1, &srv);
    for (const auto& r : rects) {
        if (r.empty()) continue;
        const D3D11_RECT scissor{static_cast<LONG>(r.x), static_cast<LONG>(r.y),
                                 static_cast<LONG>(r.x + r.w), static_cast<LONG>(r.y + r.h)};
        ctx->RSSetScissorRects(1, &scissor);
        ctx->Draw(3, 0);
    }
    // Unbind so the next frame's copy into input_ is not read-write hazarded.
    ID3D11ShaderResourceView* none = nullptr;
    ctx->PSSetShaderResources(0, 1, &none);
    ctx->OMSetRenderTargets(0, nullptr, nullptr);
}

}  // namespace porthole::agent::win
