#include "render/frame_texture.hpp"

#include <spdlog/spdlog.h>

#include <vector>

namespace porthole::client::vkr {

FrameTexture::FrameTexture(const Gpu& gpu, std::span<std::byte> region, bool force_staging)
    : gpu_(&gpu), region_(region), commands_(gpu) {
    if (force_staging) {
        spdlog::info("frame copy path: staging buffer (forced)");
    } else if (!gpu.host_import) {
        spdlog::info("frame copy path: staging buffer ({} lacks VK_EXT_external_memory_host)",
                     gpu.name);
    } else {
        try_import();
    }
}

void FrameTexture::try_import() {
    const auto align = gpu_->import_alignment;
    const auto addr = reinterpret_cast<std::uintptr_t>(region_.data());
    // Only whole aligned pages can be imported; the frame slots are page-aligned inside.
    const vk::DeviceSize size = align == 0 ? 0 : region_.size() / align * align;
    if (align == 0 || addr % align != 0 || size == 0) {
        spdlog::warn("frame copy path: staging buffer (region at {:#x} is not aligned to {} bytes)",
                     addr, align);
        return;
    }
    try {
        const auto type_bits =
            gpu_->device
                .getMemoryHostPointerPropertiesEXT(
                    vk::ExternalMemoryHandleTypeFlagBits::eHostAllocationEXT, region_.data())
                .memoryTypeBits;
        HostBuffer b;
        b.size = size;
        vk::StructureChain<vk::BufferCreateInfo, vk::ExternalMemoryBufferCreateInfo> bci(
            vk::BufferCreateInfo({}, size, vk::BufferUsageFlagBits::eTransferSrc),
            vk::ExternalMemoryBufferCreateInfo(
                vk::ExternalMemoryHandleTypeFlagBits::eHostAllocationEXT));
        b.buffer = vk::raii::Buffer(gpu_->device, bci.get<vk::BufferCreateInfo>());
        const auto req = b.buffer.getMemoryRequirements();
        const auto type = gpu_->memory_type(type_bits & req.memoryTypeBits, {});
        if (!type) {
            spdlog::warn("frame copy path: staging buffer (no memory type can import the region)");
            return;
        }
        vk::StructureChain<vk::MemoryAllocateInfo, vk::ImportMemoryHostPointerInfoEXT> mai(
            vk::MemoryAllocateInfo(size, *type),
            vk::ImportMemoryHostPointerInfoEXT(
                vk::ExternalMemoryHandleTypeFlagBits::eHostAllocationEXT, region_.data()));
        b.memory = vk::raii::DeviceMemory(gpu_->device, mai.get<vk::MemoryAllocateInfo>());
        b.buffer.bindMemory(*b.memory, 0);
        import_ = std::move(b);
        spdlog::info("frame copy path: region imported into the GPU ({} MiB, no CPU copy)",
                     size >> 20);
    } catch (const vk::SystemError& e) {
        spdlog::warn("frame copy path: staging buffer (importing the region failed: {})", e.what());
    }
}

Result<bool> FrameTexture::upload(const protocol::FrameView& view,
                                  protocol::FrameReader& reader) try {
    const auto& m = view.meta;
    const std::uint32_t bpp = protocol::bytes_per_pixel(view.format);
    if (bpp == 0 || m.stride % bpp != 0) {
        return Error::make("frame " + std::to_string(m.serial) + " has a stride of " +
                           std::to_string(m.stride) + " bytes, not a whole number of pixels");
    }
    if (!image_ || image_->width != m.width || image_->height != m.height ||
        format_ != view.format) {
        image_ =
            create_image(*gpu_, m.width, m.height, texture_format(view.format),
                         vk::ImageUsageFlagBits::eSampled | vk::ImageUsageFlagBits::eTransferDst);
        format_ = view.format;
        ++generation_;
        if (!view.full) {  // the reader believes we hold an older frame: ask for a whole one
            reader.invalidate();
            return false;
        }
    }

    vk::DeviceSize base = 0;
    const vk::Buffer* src = nullptr;
    // After a torn GPU copy the slot is being rewritten faster than a GPU round
    // trip: take the (whole) next frame with the quicker CPU copy, then import again.
    const bool via_import = import_.has_value() && !recovering_;
    if (via_import) {
        base = static_cast<vk::DeviceSize>(view.pixels.data() - region_.data());
        if (base + view.pixels.size() > import_->size) {
            return Error::make("frame slot lies outside the imported part of the region");
        }
        src = &*import_->buffer;
    } else {
        if (!staging_ || staging_->size < view.pixels.size()) {
            staging_.reset();
            staging_ = create_host_buffer(*gpu_, view.pixels.size(),
                                          vk::BufferUsageFlagBits::eTransferSrc);
        }
        protocol::copy_frame_rects(view, std::span<std::byte>(staging_->mapped, view.pixels.size()),
                                   m.stride);
        for (const auto& r : view.copy_rects.rects())
            cpu_bytes_ += r.area() * bpp;
        if (!reader.finish(view)) return false;  // torn: nothing reaches the texture
        src = &*staging_->buffer;
    }

    std::vector<vk::BufferImageCopy> regions;
    for (const auto& r : view.copy_rects.rects()) {
        if (r.empty()) continue;
        regions.emplace_back(
            base + std::uint64_t{r.y} * m.stride + std::uint64_t{r.x} * bpp, m.stride / bpp, 0,
            vk::ImageSubresourceLayers(vk::ImageAspectFlagBits::eColor, 0, 0, 1),
            vk::Offset3D(static_cast<std::int32_t>(r.x), static_cast<std::int32_t>(r.y), 0),
            vk::Extent3D(r.w, r.h, 1));
        gpu_bytes_ += r.area() * bpp;
    }
    const auto& cmd = commands_.begin();
    transition(cmd, *image_, vk::ImageLayout::eTransferDstOptimal, vk::AccessFlagBits::eShaderRead,
               vk::PipelineStageFlagBits::eFragmentShader, vk::AccessFlagBits::eTransferWrite,
               vk::PipelineStageFlagBits::eTransfer);
    if (!regions.empty())
        cmd.copyBufferToImage(*src, *image_->image, vk::ImageLayout::eTransferDstOptimal, regions);
    transition(cmd, *image_, vk::ImageLayout::eShaderReadOnlyOptimal,
               vk::AccessFlagBits::eTransferWrite, vk::PipelineStageFlagBits::eTransfer,
               vk::AccessFlagBits::eShaderRead, vk::PipelineStageFlagBits::eFragmentShader);
    commands_.submit_and_wait();
    // Import: the GPU read the slot in place; only now do we know whether it held still.
    if (!via_import) {
        recovering_ = false;
        return true;
    }
    const bool still = reader.finish(view);
    if (!still) recovering_ = true;
    return still;
} catch (const vk::SystemError& e) {
    return Error::make(std::string("uploading a frame to the GPU failed: ") + e.what());
}

}  // namespace porthole::client::vkr
