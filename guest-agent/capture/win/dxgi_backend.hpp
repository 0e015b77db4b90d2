#pragma once
// The COM calls DXGI capture makes, as one small interface: enumerate the
// outputs, create a D3D11 device and the duplication of one output, acquire
// and release desktop frames, and the staging textures' copies and maps.
// DxgiSource (dxgi.hpp) keeps every decision (which output, which formats,
// access lost, pointer-only updates, HDR in a small region) and talks only to
// this, so that its logic is tested with a fake (tests/unit/win); the real
// implementation (dxgi_backend_com.cpp) cannot run under Wine, which has no
// desktop duplication. Errors of the duplication are HRESULTs, as DXGI gives
// them, so that the fake speaks the same codes.

#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <dxgi1_2.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "capture/win/formats.hpp"
#include "capture/win/outputs.hpp"
#include "capture/win/staging_ring.hpp"
#include "porthole/util/result.hpp"

namespace porthole::agent::win {

class DxgiBackend {
  public:
    virtual ~DxgiBackend() = default;

    // Every output of every adapter, in DXGI's order; open() takes an index into it.
    virtual Result<std::vector<OutputInfo>> outputs() = 0;

    // What DuplicateOutput(1) made (DXGI_OUTDUPL_DESC).
    struct Duplication {
        DXGI_FORMAT format = DXGI_FORMAT_UNKNOWN;
        std::uint32_t width = 0, height = 0;
        Rotation rotation = Rotation::identity;
    };
    // Drops any previous device, then creates a D3D11 device on the adapter of
    // output `index` (of the last outputs() call) and duplicates that output,
    // asking for `formats`, preferred first (DuplicateOutput where
    // DuplicateOutput1 is missing). The error says why duplication is unavailable.
    virtual Result<Duplication> open(std::size_t index, std::span<const DXGI_FORMAT> formats) = 0;
    // Drops the duplication, the staging textures, the converter and the device.
    virtual void close() = 0;

    // AcquireNextFrame. On success the frame is held until release_frame();
    // `texture` is the desktop texture's size and DXGI_FORMAT (nullopt: the
    // resource is not a D3D11 texture).
    virtual HRESULT acquire_frame(std::chrono::milliseconds timeout, DXGI_OUTDUPL_FRAME_INFO& info,
                                  std::optional<StagingLayout>& texture) = 0;
    // GetFrameMoveRects, GetFrameDirtyRects, GetFramePointerShape of the held
    // frame (sizes in bytes, DXGI_ERROR_MORE_DATA as DXGI reports it).
    virtual HRESULT move_rects(std::span<DXGI_OUTDUPL_MOVE_RECT> buffer, UINT& used_bytes) = 0;
    virtual HRESULT dirty_rects(std::span<RECT> buffer, UINT& used_bytes) = 0;
    virtual HRESULT pointer_shape(std::span<std::byte> buffer, UINT& used_bytes,
                                  DXGI_OUTDUPL_POINTER_SHAPE_INFO& info) = 0;
    virtual void release_frame() = 0;

    // `slots` CPU-readable staging textures of `layout` (its format a DXGI_FORMAT).
    virtual Status create_staging(const StagingLayout& layout, std::size_t slots) = 0;
    // The GPU's FP16 -> R10G10B10A2 converter for width x height desktops;
    // an error means converting on the CPU (no shader compiler).
    virtual Status create_converter(std::uint32_t width, std::uint32_t height) = 0;
    // Converts rects of the held FP16 frame into the converter's output.
    virtual void convert(std::span<const protocol::Rect> rects) = 0;
    // Copies rects of the held frame (or of the converter's output) into slot's texture.
    virtual void copy(std::size_t slot, std::span<const protocol::Rect> rects,
                      bool from_converter) = 0;
    // Maps slot's texture for reading; wait=false: D3D11_MAP_FLAG_DO_NOT_WAIT.
    virtual MapResult map(std::size_t slot, bool wait, MappedSlot& out) = 0;
    virtual void unmap(std::size_t slot) = 0;
};

// The real backend: DXGI 1.2+ and D3D11 on this machine. capture_thread:
// outputs() first moves the calling thread onto the input desktop and makes
// it DPI aware (false: only list the outputs, e.g. for --list-outputs).
std::unique_ptr<DxgiBackend> make_com_dxgi_backend(bool capture_thread);

}  // namespace porthole::agent::win
