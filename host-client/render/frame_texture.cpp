#include "render/frame_texture.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>
#include <vector>

#include "porthole/util/adaptive_wait.hpp"

namespace porthole::client::vkr {

FrameTexture::FrameTexture(const Gpu& gpu, std::span<std::byte> region, bool force_staging,
                           std::uint32_t slots)
    : gpu_(&gpu), region_(region) {
    pool_ = vk::raii::CommandPool(
        gpu.device, vk::CommandPoolCreateInfo(vk::CommandPoolCreateFlagBits::eResetCommandBuffer,
                                              gpu.queue_family));
    vk::raii::CommandBuffers cmds(
        gpu.device, vk::CommandBufferAllocateInfo(*pool_, vk::CommandBufferLevel::ePrimary, slots));
    for (auto& cmd : cmds) {
        Slot s;
        s.cmd = std::move(cmd);
        s.fence =
            vk::raii::Fence(gpu.device, vk::FenceCreateInfo(vk::FenceCreateFlagBits::eSignaled));
        slots_.push_back(std::move(s));
    }
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

Result<UploadState> FrameTexture::upload(const protocol::FrameView& view,
                                         protocol::FrameReader& reader) try {
    const auto& m = view.meta;
    const std::uint32_t bpp = protocol::bytes_per_pixel(view.format);
    if (bpp == 0 || m.stride % bpp != 0) {
        return Error::make("frame " + std::to_string(m.serial) + " has a stride of " +
                           std::to_string(m.stride) + " bytes, not a whole number of pixels");
    }
    if (pending_) return Error::make("a frame upload started while another is pending");

    // After a torn GPU copy the slot is being rewritten faster than a GPU round
    // trip: take the (whole) next frame with the quicker CPU copy, then import again.
    const bool via_import = import_.has_value() && !recovering_;
    const std::uint32_t t = via_import && tex_[front_].serial != 0 ? 1 - front_ : front_;
    auto& tex = tex_[t];
    if (!tex.image || tex.image->width != m.width || tex.image->height != m.height ||
        tex.format != view.format) {
        // Frames in flight may still sample the old image: a size or format
        // change is the one place the upload waits for the GPU.
        gpu_->device.waitIdle();
        tex.image =
            create_image(*gpu_, m.width, m.height, texture_format(view.format),
                         vk::ImageUsageFlagBits::eSampled | vk::ImageUsageFlagBits::eTransferDst |
                             vk::ImageUsageFlagBits::eTransferSrc);  // copied to a 1:1 target
        tex.format = view.format;
        tex.serial = 0;
        ++tex.generation;
    }

    // What the texture lacks. The reader's rectangles lead from the front's
    // frame; the back texture is also missing the front's last update. The slot
    // holds the whole frame, so a texture that holds nothing usable copies it all.
    protocol::DamageList rects;
    if (view.full || tex.serial == 0) {
        rects.set_full(m.width, m.height);
    } else if (tex.serial == reader.last_serial()) {
        rects = view.copy_rects;
    } else if (tex.serial == last_base_) {
        rects = last_rects_;
        rects.add(view.copy_rects.rects());
    } else {
        rects.set_full(m.width, m.height);
    }

    const std::uint32_t si = next_slot_;
    next_slot_ = (next_slot_ + 1) % static_cast<std::uint32_t>(slots_.size());
    auto& slot = slots_[si];
    // The bound on uploads in flight: this slot's previous copy, `slots` uploads ago.
    (void)gpu_->device.waitForFences(*slot.fence, VK_TRUE, UINT64_MAX);

    if (view.in_progress) {
        // A progressive frame is always whole (validated); rows follow in finish().
        if (!via_import && (!slot.staging || slot.staging->size < view.pixels.size())) {
            slot.staging.reset();
            slot.staging = create_host_buffer(*gpu_, view.pixels.size(),
                                              vk::BufferUsageFlagBits::eTransferSrc);
        }
        if (via_import) {
            const auto base = static_cast<vk::DeviceSize>(view.pixels.data() - region_.data());
            if (base + view.pixels.size() > import_->size) {
                return Error::make("frame slot lies outside the imported part of the region");
            }
            tex.serial = 0;  // partly overwritten until the copy is verified
        }
        pending_ = Pending{view, t, si};
        pending_->progressive = true;
        pending_->import = via_import;
        return step(reader, monotonic_ns(), false);
    }

    vk::DeviceSize base = 0;
    const vk::Buffer* src = nullptr;
    if (via_import) {
        base = static_cast<vk::DeviceSize>(view.pixels.data() - region_.data());
        if (base + view.pixels.size() > import_->size) {
            return Error::make("frame slot lies outside the imported part of the region");
        }
        src = &*import_->buffer;
    } else {
        if (!slot.staging || slot.staging->size < view.pixels.size()) {
            slot.staging.reset();
            slot.staging = create_host_buffer(*gpu_, view.pixels.size(),
                                              vk::BufferUsageFlagBits::eTransferSrc);
        }
        protocol::FrameView copy = view;
        copy.copy_rects = rects;
        protocol::copy_frame_rects(
            copy, std::span<std::byte>(slot.staging->mapped, view.pixels.size()), m.stride);
        for (const auto& r : rects.rects())
            cpu_bytes_ += r.area() * bpp;
        // Torn: nothing reaches the texture, which keeps the front's frame.
        if (!reader.finish(view)) return UploadState::dropped;
        src = &*slot.staging->buffer;
    }

    std::vector<vk::BufferImageCopy> regions;
    for (const auto& r : rects.rects()) {
        if (r.empty()) continue;
        regions.emplace_back(
            base + std::uint64_t{r.y} * m.stride + std::uint64_t{r.x} * bpp, m.stride / bpp, 0,
            vk::ImageSubresourceLayers(vk::ImageAspectFlagBits::eColor, 0, 0, 1),
            vk::Offset3D(static_cast<std::int32_t>(r.x), static_cast<std::int32_t>(r.y), 0),
            vk::Extent3D(r.w, r.h, 1));
        gpu_bytes_ += r.area() * bpp;
    }
    const auto& cmd = slot.cmd;
    cmd.reset();
    cmd.begin(vk::CommandBufferBeginInfo(vk::CommandBufferUsageFlagBits::eOneTimeSubmit));
    // The barrier orders this write after every draw already submitted that samples the texture.
    transition(cmd, *tex.image, vk::ImageLayout::eTransferDstOptimal,
               vk::AccessFlagBits::eShaderRead, vk::PipelineStageFlagBits::eFragmentShader,
               vk::AccessFlagBits::eTransferWrite, vk::PipelineStageFlagBits::eTransfer);
    if (!regions.empty())
        cmd.copyBufferToImage(*src, *tex.image->image, vk::ImageLayout::eTransferDstOptimal,
                              regions);
    transition(cmd, *tex.image, vk::ImageLayout::eShaderReadOnlyOptimal,
               vk::AccessFlagBits::eTransferWrite, vk::PipelineStageFlagBits::eTransfer,
               vk::AccessFlagBits::eShaderRead, vk::PipelineStageFlagBits::eFragmentShader);
    cmd.end();
    gpu_->device.resetFences(*slot.fence);
    const vk::CommandBuffer cb = *cmd;
    vk::SubmitInfo submit;
    submit.setCommandBuffers(cb);
    gpu_->queue.submit(submit, *slot.fence);

    if (!via_import) {
        recovering_ = false;
        accepted(t, view);
        return UploadState::accepted;
    }
    tex.serial = 0;  // partly overwritten until the copy is verified
    pending_ = Pending{view, t, si};
    return UploadState::pending;
} catch (const vk::SystemError& e) {
    return Error::make(std::string("uploading a frame to the GPU failed: ") + e.what());
}

void FrameTexture::accepted(std::uint32_t texture, const protocol::FrameView& view) {
    last_base_ = tex_[front_].serial;
    if (view.full) {
        last_rects_.set_full(view.meta.width, view.meta.height);
    } else {
        last_rects_ = view.copy_rects;
    }
    tex_[texture].serial = view.meta.serial;
    front_ = texture;
}

UploadState FrameTexture::finish(protocol::FrameReader& reader, bool wait) {
    if (!pending_) return UploadState::dropped;
    if (pending_->progressive) {
        for (;;) {
            const auto state = step(reader, monotonic_ns(), wait);
            if (state != UploadState::pending || !wait) return state;
            std::this_thread::yield();  // rows still landing (bounded by the reader's timeout)
        }
    }
    const auto& fence = slots_[pending_->slot].fence;
    const auto r = gpu_->device.waitForFences(*fence, VK_TRUE, wait ? UINT64_MAX : 0);
    if (r != vk::Result::eSuccess) return UploadState::pending;
    const Pending p = *pending_;
    pending_.reset();
    // The GPU read the slot in place; only now do we know whether it held still.
    if (!reader.finish(p.view)) {
        recovering_ = true;  // the back texture stays unusable (serial 0) and is never drawn
        return UploadState::dropped;
    }
    accepted(p.texture, p.view);
    return UploadState::accepted;
}

UploadState FrameTexture::step(protocol::FrameReader& reader, std::uint64_t now_ns, bool wait) try {
    auto& p = *pending_;
    auto& slot = slots_[p.slot];
    auto& tex = tex_[p.texture];
    const auto& m = p.view.meta;
    const std::uint32_t bpp = protocol::bytes_per_pixel(p.view.format);
    const std::uint64_t row_bytes = std::uint64_t{m.width} * bpp;

    if (p.fenced) {  // import: every row's copy is submitted; the fence says when it is done
        const auto r = gpu_->device.waitForFences(*slot.fence, VK_TRUE, wait ? UINT64_MAX : 0);
        if (r != vk::Result::eSuccess) return UploadState::pending;
        const Pending done = p;
        pending_.reset();
        if (!reader.finish(done.view)) {
            recovering_ = true;
            return UploadState::dropped;
        }
        accepted(done.texture, done.view);
        return UploadState::accepted;
    }

    const std::uint32_t before = p.view.rows_copied;
    auto progress =
        p.import ? reader.rows_ready(p.view, now_ns)
                 : reader.copy_available(
                       p.view, std::span<std::byte>(slot.staging->mapped, p.view.pixels.size()),
                       m.stride, now_ns);
    const bool ok = progress.has_value();
    const auto state = ok ? progress->state : protocol::FrameCopyState::dropped;
    if (!ok) {
        spdlog::debug("progressive frame {} dropped: {}", m.serial, progress.error().message);
    }
    if (!p.import) cpu_bytes_ += (p.view.rows_copied - before) * row_bytes;

    if (state == protocol::FrameCopyState::torn || state == protocol::FrameCopyState::dropped) {
        // Never shown: staging left the texture alone; the import's partly
        // written back texture keeps serial 0 and is closed for the next upload.
        if (p.import) {
            close_chunks();
            tex.serial = 0;
            if (state == protocol::FrameCopyState::torn) recovering_ = true;
        }
        pending_.reset();
        return UploadState::dropped;
    }
    const bool complete = state == protocol::FrameCopyState::complete;

    if (!p.import) {
        if (!complete) return UploadState::pending;
        // All rows are in staging and the seqlock held after the last of them.
        const auto& cmd = slot.cmd;
        cmd.reset();
        cmd.begin(vk::CommandBufferBeginInfo(vk::CommandBufferUsageFlagBits::eOneTimeSubmit));
        record_rows(cmd, *slot.staging->buffer, 0, 0, m.height, true, true);
        cmd.end();
        submit(cmd, &*slot.fence);
        const Pending done = p;
        pending_.reset();
        recovering_ = false;
        accepted(done.texture, done.view);
        return UploadState::accepted;
    }

    // Import: copy the rows written since the last submission straight from the
    // slot, in submissions of at least kImportChunkBytes so a frame takes a
    // bounded number; the last one carries the fence.
    const std::uint32_t ready = p.view.rows_copied - p.submitted_rows;
    const std::uint32_t min_rows = std::max<std::uint32_t>(
        {1U, static_cast<std::uint32_t>(kImportChunkBytes / std::max<std::uint64_t>(row_bytes, 1)),
         m.height / kMaxImportChunks});
    if (ready == 0 || (!complete && ready < min_rows)) return UploadState::pending;
    const auto& cmd = next_chunk(slot, p);
    const auto base = static_cast<vk::DeviceSize>(p.view.pixels.data() - region_.data());
    cmd.reset();
    cmd.begin(vk::CommandBufferBeginInfo(vk::CommandBufferUsageFlagBits::eOneTimeSubmit));
    record_rows(cmd, *import_->buffer, base, p.submitted_rows, p.view.rows_copied,
                p.submitted_rows == 0, complete);
    cmd.end();
    p.submitted_rows = p.view.rows_copied;
    submit(cmd, complete ? &*slot.fence : nullptr);
    if (complete) p.fenced = true;
    return UploadState::pending;
} catch (const vk::SystemError& e) {
    spdlog::error("uploading a frame to the GPU failed: {}", e.what());
    if (pending_ && pending_->import) close_chunks();
    pending_.reset();
    return UploadState::dropped;
}

void FrameTexture::record_rows(const vk::raii::CommandBuffer& cmd, vk::Buffer src,
                               vk::DeviceSize base, std::uint32_t from, std::uint32_t to,
                               bool first, bool last) {
    const auto& p = *pending_;
    auto& tex = tex_[p.texture];
    const auto& m = p.view.meta;
    const std::uint32_t bpp = protocol::bytes_per_pixel(p.view.format);
    // The first barrier orders these writes after every draw already submitted
    // that samples the texture; the last makes them all visible to draws (it
    // covers the earlier submissions too: they precede it in queue order).
    if (first) {
        transition(cmd, *tex.image, vk::ImageLayout::eTransferDstOptimal,
                   vk::AccessFlagBits::eShaderRead, vk::PipelineStageFlagBits::eFragmentShader,
                   vk::AccessFlagBits::eTransferWrite, vk::PipelineStageFlagBits::eTransfer);
    }
    if (to > from) {
        const vk::BufferImageCopy region(
            base + std::uint64_t{from} * m.stride, m.stride / bpp, 0,
            vk::ImageSubresourceLayers(vk::ImageAspectFlagBits::eColor, 0, 0, 1),
            vk::Offset3D(0, static_cast<std::int32_t>(from), 0),
            vk::Extent3D(m.width, to - from, 1));
        cmd.copyBufferToImage(src, *tex.image->image, vk::ImageLayout::eTransferDstOptimal, region);
        gpu_bytes_ += std::uint64_t{to - from} * m.width * bpp;
    }
    if (last) {
        transition(cmd, *tex.image, vk::ImageLayout::eShaderReadOnlyOptimal,
                   vk::AccessFlagBits::eTransferWrite, vk::PipelineStageFlagBits::eTransfer,
                   vk::AccessFlagBits::eShaderRead, vk::PipelineStageFlagBits::eFragmentShader);
    }
}

const vk::raii::CommandBuffer& FrameTexture::next_chunk(Slot& slot, Pending& p) {
    // A slot keeps the command buffers of its largest frame so far, reused once its fence signals.
    if (p.chunks == slot.chunks.size()) {
        vk::raii::CommandBuffers more(
            gpu_->device,
            vk::CommandBufferAllocateInfo(*pool_, vk::CommandBufferLevel::ePrimary, 1));
        slot.chunks.push_back(std::move(more[0]));
    }
    return slot.chunks[p.chunks++];
}

void FrameTexture::submit(const vk::raii::CommandBuffer& cmd, const vk::Fence* fence) {
    if (fence != nullptr) gpu_->device.resetFences(*fence);
    const vk::CommandBuffer cb = *cmd;
    vk::SubmitInfo info;
    info.setCommandBuffers(cb);
    gpu_->queue.submit(info, fence != nullptr ? *fence : vk::Fence{});
}

void FrameTexture::close_chunks() {
    // A dropped import that already submitted row copies: return the texture to
    // the layout draws expect, under the slot's fence, so the slot's command
    // buffers are reused only once the GPU is done with them.
    auto& p = *pending_;
    if (p.chunks == 0 || p.fenced) return;
    auto& slot = slots_[p.slot];
    const auto& cmd = next_chunk(slot, p);
    cmd.reset();
    cmd.begin(vk::CommandBufferBeginInfo(vk::CommandBufferUsageFlagBits::eOneTimeSubmit));
    record_rows(cmd, vk::Buffer{}, 0, 0, 0, false, true);
    cmd.end();
    submit(cmd, &*slot.fence);
    p.fenced = true;
}

void FrameTexture::forget() {
    if (pending_ && pending_->import) close_chunks();
    pending_.reset();  // its fence still guards the slot's reuse
    for (auto& t : tex_)
        t.serial = 0;
    last_base_ = 0;
    recovering_ = false;
}

const GpuImage* FrameTexture::front() const {
    const auto& t = tex_[front_];
    return t.image && t.serial != 0 ? &*t.image : nullptr;
}

}  // namespace porthole::client::vkr
