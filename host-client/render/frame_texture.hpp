#pragma once
// Internal to the renderer: the persistent GPU texture of the guest's frame
// and the two ways damaged rectangles reach it. Import: the whole region is a
// VkBuffer over the host's own mapping (VK_EXT_external_memory_host), the GPU
// copies straight from the frame slot; the seqlock is re-checked after the
// copy's fence. Staging: the CPU copies the rectangles into a staging buffer
// (seqlock checked right after), then the GPU copies them. The import path
// takes the one frame after a torn copy through staging (a CPU copy is
// quicker than a GPU round trip), so a guest that rewrites slots very fast
// cannot starve it.

#include <optional>
#include <span>

#include "porthole/protocol/frame_channel.hpp"
#include "render/render_types.hpp"
#include "render/vk_common.hpp"

namespace porthole::client::vkr {

class FrameTexture {
  public:
    FrameTexture(const Gpu& gpu, std::span<std::byte> region, bool force_staging);

    // See Renderer::upload_frame. The caller makes sure the GPU no longer reads
    // the texture (it may be recreated).
    Result<bool> upload(const protocol::FrameView& view, protocol::FrameReader& reader);

    [[nodiscard]] const GpuImage* image() const { return image_ ? &*image_ : nullptr; }
    [[nodiscard]] std::uint64_t generation() const { return generation_; }  // bumps on recreation
    [[nodiscard]] protocol::PixelFormat format() const { return format_; }
    [[nodiscard]] CopyPath path() const {
        return import_ ? CopyPath::host_import : CopyPath::staging;
    }
    [[nodiscard]] std::uint64_t cpu_bytes() const { return cpu_bytes_; }
    [[nodiscard]] std::uint64_t gpu_bytes() const { return gpu_bytes_; }

  private:
    void try_import();

    const Gpu* gpu_;
    std::span<std::byte> region_;
    std::optional<HostBuffer> import_;  // `mapped` unused: the memory is the region itself
    std::optional<HostBuffer> staging_;
    std::optional<GpuImage> image_;
    protocol::PixelFormat format_ = protocol::PixelFormat::bgra8;
    std::uint64_t generation_ = 0;
    OneShot commands_;
    bool recovering_ = false;  // the last GPU copy from the region was torn
    std::uint64_t cpu_bytes_ = 0, gpu_bytes_ = 0;
};

}  // namespace porthole::client::vkr
