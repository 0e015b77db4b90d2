#pragma once
// FP16 (scRGB) to R10G10B10A2 on the GPU: a full-screen triangle drawn with a
// scissor per damaged rectangle, so only what changed is converted. The
// shaders are compiled at start-up with d3dcompiler_47.dll, loaded at run
// time (present on Windows 8.1 and later; Wine ships one).

#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <d3d11.h>

#include <cstdint>
#include <memory>
#include <span>

#include "capture/win/win_handles.hpp"
#include "porthole/protocol/format.hpp"
#include "porthole/util/result.hpp"

namespace porthole::agent::win {

class Fp16Converter {
  public:
    // Shaders and textures for width x height frames on `device`; fails if no
    // shader compiler is available or the device lacks the formats.
    static Result<std::unique_ptr<Fp16Converter>> create(ID3D11Device* device, std::uint32_t width,
                                                         std::uint32_t height);
    // Converts rects of `fp16` (R16G16B16A16_FLOAT, the converter's size)
    // into output(); other pixels of output() keep their last value.
    void convert(ID3D11DeviceContext* context, ID3D11Texture2D* fp16,
                 std::span<const protocol::Rect> rects);
    // The R10G10B10A2_UNORM result (a default-usage texture).
    [[nodiscard]] ID3D11Texture2D* output() const { return target_.get(); }
    [[nodiscard]] std::uint32_t width() const { return width_; }
    [[nodiscard]] std::uint32_t height() const { return height_; }

  private:
    Fp16Converter() = default;
    std::uint32_t width_ = 0, height_ = 0;
    ComPtr<ID3D11Texture2D> input_;  // shader-readable copy of the desktop's FP16 pixels
    ComPtr<ID3D11ShaderResourceView> input_view_;
    ComPtr<ID3D11Texture2D> target_;
    ComPtr<ID3D11RenderTargetView> target_view_;
    ComPtr<ID3D11VertexShader> vs_;
    ComPtr<ID3D11PixelShader> ps_;
    ComPtr<ID3D11RasterizerState> scissored_;
};

}  // namespace porthole::agent::win
