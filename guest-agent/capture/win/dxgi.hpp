#pragma once
// Desktop capture with DXGI Desktop Duplication (Windows 8+, D3D11): the
// damaged rectangles of each desktop frame are copied into one of a ring of
// CPU-readable staging textures, each holding the whole desktop
// (staging_ring.hpp decides which and when); the agent then copies the same
// rectangles into the region while the GPU copies the next frame. Every COM
// call goes through a DxgiBackend (dxgi_backend.hpp), so the decisions here
// are tested with a fake duplication and adapter (tests/unit/win).

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "capture/source.hpp"
#include "capture/win/dxgi_backend.hpp"
#include "capture/win/formats.hpp"
#include "capture/win/hdr.hpp"
#include "capture/win/outputs.hpp"
#include "capture/win/staging_ring.hpp"

namespace porthole::agent::win {

class DxgiSource final : public CaptureSource, private DuplicationPort {
  public:
    // Creates the D3D11 device and the duplication of the output chosen by
    // options.output; the error says why duplication is unavailable. With no
    // display on a real GPU the source is made and waits for one (no_output).
    static Result<std::unique_ptr<DxgiSource>> create(const CaptureOptions& options);
    // The same on another backend (tests: a fake duplication and adapter).
    static Result<std::unique_ptr<DxgiSource>> create(const CaptureOptions& options,
                                                      std::unique_ptr<DxgiBackend> backend);
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
    DxgiSource(const CaptureOptions& options, std::unique_ptr<DxgiBackend> backend)
        : options_(options), backend_(std::move(backend)) {}
    Status init();  // device, output and duplication
    void drop_duplication(std::string why);
    Status read_metadata(std::uint32_t total_bytes);
    void update_cursor(const DXGI_OUTDUPL_FRAME_INFO& info);

    // DuplicationPort: the staging ring's calls, onto the backend.
    Acquired acquire(std::chrono::milliseconds timeout) override;
    void release_frame() override;
    Status make_staging(const StagingLayout& layout, std::size_t slots) override;
    void copy(std::size_t slot, std::span<const protocol::Rect> rects) override;
    MapResult map(std::size_t slot, bool wait, MappedSlot& out) override;
    void unmap(std::size_t slot) override;

    CaptureOptions options_;
    std::unique_ptr<DxgiBackend> backend_;
    bool duplicating_ = false;  // backend_ has a duplication open
    StagingRing ring_;
    DXGI_FORMAT staging_format_ = DXGI_FORMAT_UNKNOWN;
    StagingLayout frame_layout_;         // the held frame's size and format
    protocol::DamageList frame_damage_;  // the held frame's damage (converted on first copy)
    bool frame_damage_known_ = false;
    bool frame_converted_ = false;
    bool converter_fresh_ = true;  // the converter's output is not the desktop yet
    bool fresh_duplication_ = true;
    Rotation rotation_ = Rotation::identity;
    protocol::PixelFormat format_ = protocol::PixelFormat::bgra8;  // what the region carries
    PublishPlan plan_;
    bool gpu_converter_ = false;        // FP16 -> RGB10A2 on the GPU (the backend's converter)
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
