#pragma once
// Desktop capture with DXGI Desktop Duplication (Windows 8+, D3D11): the
// damaged rectangles of each desktop frame are copied into one of a ring of
// CPU-readable staging textures, each holding the whole desktop
// (staging_ring.hpp decides which and when); the agent then copies the same
// rectangles into the region while the GPU copies the next frame.

#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <d3d11.h>
#include <dxgi1_2.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "capture/source.hpp"
#include "capture/win/formats.hpp"
#include "capture/win/fp16_gpu.hpp"
#include "capture/win/hdr.hpp"
#include "capture/win/outputs.hpp"
#include "capture/win/staging_ring.hpp"
#include "capture/win/win_handles.hpp"

namespace porthole::agent::win {

class DxgiSource final : public CaptureSource, private DuplicationPort {
  public:
    // Creates the D3D11 device and the duplication of the first desktop
    // output; the error says why duplication is unavailable.
    static Result<std::unique_ptr<DxgiSource>> create(const CaptureOptions& options);
    ~DxgiSource() override;
    DxgiSource(const DxgiSource&) = delete;
    DxgiSource& operator=(const DxgiSource&) = delete;

    [[nodiscard]] std::string_view name() const override { return "dxgi"; }
    // Blocks in AcquireNextFrame up to `timeout`; the image stays mapped until the next call.
    CaptureStatus next_frame(std::chrono::milliseconds timeout, CapturedFrame& out) override;
    std::optional<CursorUpdate> cursor() override;
    [[nodiscard]] std::string last_error() const override { return last_error_; }
    // The captured output on the virtual desktop (absolute mouse mapping).
    struct DesktopRect {
        std::int32_t left = 0, top = 0, right = 0, bottom = 0;
    };
    [[nodiscard]] DesktopRect desktop_rect() const { return desktop_rect_; }
    // Every output DXGI reports, for --list-outputs.
    static Result<std::vector<OutputInfo>> enumerate();

  private:
    static constexpr int kNoDisplay = 1;  // Error::code of init(): no real GPU output
    explicit DxgiSource(const CaptureOptions& options) : options_(options) {}
    Status init();  // device, output and duplication
    void drop_duplication(std::string why);
    Status read_metadata(std::uint32_t total_bytes);
    void update_cursor(const DXGI_OUTDUPL_FRAME_INFO& info);

    // DuplicationPort: the COM calls the staging ring makes.
    Acquired acquire(std::chrono::milliseconds timeout) override;
    void release_frame() override;
    Status make_staging(const StagingLayout& layout, std::size_t slots) override;
    void copy(std::size_t slot, std::span<const protocol::Rect> rects) override;
    MapResult map(std::size_t slot, bool wait, MappedSlot& out) override;
    void unmap(std::size_t slot) override;

    CaptureOptions options_;
    ComPtr<ID3D11Device> device_;
    ComPtr<ID3D11DeviceContext> context_;
    ComPtr<IDXGIOutputDuplication> duplication_;
    StagingRing ring_;
    std::vector<ComPtr<ID3D11Texture2D>> staging_;  // the ring's textures
    DXGI_FORMAT staging_format_ = DXGI_FORMAT_UNKNOWN;
    ComPtr<ID3D11Texture2D> frame_texture_;  // the desktop frame held
    protocol::DamageList frame_damage_;      // its damage (converted on first copy)
    bool frame_damage_known_ = false;
    bool frame_converted_ = false;
    bool converter_fresh_ = true;  // the converter's output is not the desktop yet
    bool fresh_duplication_ = true;
    Rotation rotation_ = Rotation::identity;
    protocol::PixelFormat format_ = protocol::PixelFormat::bgra8;  // what the region carries
    PublishPlan plan_;
    std::unique_ptr<Fp16Converter> converter_;  // FP16 -> RGB10A2 on the GPU
    std::vector<std::byte> converted_;  // CPU conversion (no shader compiler) or RGBA swizzle
    bool hdr_notice_given_ = false;
    bool frame_held_ = false;
    std::vector<std::byte> rotated_;  // the turned desktop when the display is rotated
    std::vector<RECT> dirty_;
    std::vector<DXGI_OUTDUPL_MOVE_RECT> moves_;
    std::vector<std::byte> shape_buffer_;
    std::optional<CursorShapeUpdate> pending_shape_;  // not yet handed out by cursor()
    bool cursor_changed_ = false;
    bool cursor_visible_ = false;
    LONG shape_origin_x_ = 0, shape_origin_y_ = 0;  // DXGI: top-left of the shape
    std::int32_t hotspot_x_ = 0, hotspot_y_ = 0;
    std::string last_error_;
    std::string output_name_;
    std::string announced_output_;
    DesktopRect desktop_rect_;
};

}  // namespace porthole::agent::win
