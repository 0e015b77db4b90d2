#pragma once
// The host's persistent copy of the guest's frame in system memory, updated
// by damaged rectangles only. Used by --headless without Vulkan and as the
// staging side of the renderer's fallback path.

#include <cstdint>
#include <span>
#include <vector>

#include "porthole/protocol/frame_channel.hpp"

namespace porthole::client {

class CpuFrameStore {
public:
    // Copies the view's rectangles; the caller then asks the reader to finish.
    void update(const protocol::FrameView& view);
    [[nodiscard]] std::uint32_t width() const { return width_; }
    [[nodiscard]] std::uint32_t height() const { return height_; }
    [[nodiscard]] std::uint32_t stride() const { return stride_; }
    [[nodiscard]] protocol::PixelFormat format() const { return format_; }
    [[nodiscard]] std::span<const std::byte> pixels() const { return pixels_; }
    [[nodiscard]] std::uint64_t bytes_copied() const { return bytes_copied_; }

private:
    std::vector<std::byte> pixels_;
    std::uint32_t width_ = 0, height_ = 0, stride_ = 0;
    protocol::PixelFormat format_ = protocol::PixelFormat::bgra8;
    std::uint64_t bytes_copied_ = 0;
};

}  // namespace porthole::client
