#pragma once
// Internal to the renderer: the GPU textures of the guest's frame and the two
// ways damaged rectangles reach them, without the CPU waiting for the GPU.
//
// Import: the whole region is a VkBuffer over the host's own mapping
// (VK_EXT_external_memory_host) and the GPU copies straight from the frame
// slot. Only once that copy's fence has signalled do we know whether the slot
// held still, so the copy goes into the *back* texture while frames in flight
// keep drawing the front one; a verified copy becomes the front, a torn one is
// never drawn. The back texture is one accepted frame behind the front, so it
// takes the union of the front's last update and the new frame's damage (the
// slot always holds the whole frame).
// Staging: the CPU copies the rectangles into this upload's staging buffer and
// checks the seqlock right after, before the GPU sees anything; the verified
// copy then goes into the front texture in place (queue order and barriers
// keep draws already submitted on the previous contents).
// The import path takes the one frame after a torn copy through staging (a CPU
// copy is quicker than a GPU round trip), so a guest that rewrites slots very
// fast cannot starve it.
//
// Progressive frames (issue 21): the agent announces a whole frame before its
// rows are written and publishes how many are; upload() takes such a view
// (from FrameReader::poll_progressive) as pending and each finish() moves it
// on without waiting. Staging: finish() calls copy_available, which copies the
// rows that landed into the staging buffer and checks the seqlock after them;
// once every row is in, the one upload into the front texture is submitted.
// Import: finish() calls rows_ready and submits a GPU copy of the rows written
// since the last submission straight from the slot into the back texture
// (at least kImportChunkBytes each); the last submission carries the fence,
// and once it has signalled the seqlock is checked as for any import. A frame
// that is torn (slot reused), abandoned (a newer one announced while its rows
// stall) or stuck (no rows for the reader's timeout) is dropped, never drawn,
// and the next poll takes the newer frame at once.
//
// Threads: every call, construction and destruction included, comes from the
// render thread (the session loop's); the guest writes the rows concurrently
// from its own machine, which is why everything read is checked.

#include <array>
#include <optional>
#include <span>
#include <vector>

#include "porthole/protocol/frame_channel.hpp"
#include "render/render_types.hpp"
#include "render/vk_common.hpp"

namespace porthole::client::vkr {

// Import path: rows of a progressive frame are copied by the GPU in
// submissions of at least this many bytes and at most kMaxImportChunks a
// frame (1080p: 16, 4K: about 64), so the texture is complete one
// submission after the guest's last row. Chosen with porthole-bench-render
// --streaming, the import path's progressive frames cycling through chunk
// sizes frame by frame (3 runs, 60-150 frames each, load average 3-5 on 2
// cores, lavapipe): from the guest's last row to the texture complete, 1080p
// median 0.06-0.07 ms at 256 and 512 KiB, 0.13 ms at 1 MiB, 0.28 ms at 2 MiB
// (complete-only path: 1.2 ms); at 4K 0.10-1.3 ms at 512 KiB, 0.17-1.5 ms at
// 1 MiB, 0.9-1.2 ms at 2-4 MiB (complete-only: 9-12 ms). 256 KiB did no
// better than 512 with twice the submissions at 1080p.
inline constexpr std::uint64_t kImportChunkBytes = 512 * 1024;
inline constexpr std::uint32_t kMaxImportChunks = 64;

class FrameTexture {
  public:
    // `slots`: uploads that may be in flight at once, each with its own command
    // buffer, fence and staging buffer.
    FrameTexture(const Gpu& gpu, std::span<std::byte> region, bool force_staging,
                 std::uint32_t slots);

    // See Renderer::upload_frame. Only one upload may be pending: finish it
    // first. A view in progress stays pending while its rows land.
    Result<UploadState> upload(const protocol::FrameView& view, protocol::FrameReader& reader);
    // Completes a pending import once its fence has signalled, or moves a
    // progressive frame on by the rows that landed (`wait`: block until the
    // frame is accepted or dropped); pending while rows or the GPU copy are due.
    UploadState finish(protocol::FrameReader& reader, bool wait);
    [[nodiscard]] bool pending() const { return pending_.has_value(); }
    // The session ended: drop a pending copy (its reader is gone) and treat
    // every texture as holding nothing (serials restart with the next session).
    void forget();

    // The texture drawn: the newest verified frame (null: none).
    [[nodiscard]] const GpuImage* front() const;
    [[nodiscard]] std::uint32_t front_index() const { return front_; }
    [[nodiscard]] std::uint64_t front_serial() const { return tex_[front_].serial; }
    [[nodiscard]] const GpuImage* image(std::uint32_t i) const {
        return tex_[i].image ? &*tex_[i].image : nullptr;
    }
    // Bumps when texture i is recreated (its descriptor must be rewritten).
    [[nodiscard]] std::uint64_t generation(std::uint32_t i) const { return tex_[i].generation; }
    [[nodiscard]] protocol::PixelFormat format() const { return tex_[front_].format; }
    [[nodiscard]] CopyPath path() const {
        return import_ ? CopyPath::host_import : CopyPath::staging;
    }
    [[nodiscard]] std::uint64_t cpu_bytes() const { return cpu_bytes_; }
    [[nodiscard]] std::uint64_t gpu_bytes() const { return gpu_bytes_; }

  private:
    struct Texture {
        std::optional<GpuImage> image;
        protocol::PixelFormat format = protocol::PixelFormat::bgra8;
        std::uint64_t serial = 0;  // the frame it holds exactly; 0: nothing usable
        std::uint64_t generation = 0;
    };
    struct Slot {
        vk::raii::CommandBuffer cmd{nullptr};
        vk::raii::Fence fence{nullptr};
        std::optional<HostBuffer> staging;
        std::vector<vk::raii::CommandBuffer> chunks;  // a progressive import's submissions
    };
    struct Pending {
        protocol::FrameView view;
        std::uint32_t texture = 0;
        std::uint32_t slot = 0;
        bool progressive = false;          // rows still landing: step() moves it on
        bool import = false;               // copied by the GPU from the slot, in chunks
        std::uint32_t submitted_rows = 0;  // import: rows whose copy is submitted
        std::uint32_t chunks = 0;          // import: command buffers used this frame
        bool fenced = false;               // import: the last submission (with the fence) is made
    };

    void try_import();
    void accepted(std::uint32_t texture, const protocol::FrameView& view);
    // One step of the pending progressive frame (see the header comment).
    UploadState step(protocol::FrameReader& reader, std::uint64_t now_ns, bool wait);
    // Records the copy of rows [from, to) of the pending frame from src at
    // `base`, with the barrier into transfer layout (`first`) and out of it (`last`).
    void record_rows(const vk::raii::CommandBuffer& cmd, vk::Buffer src, vk::DeviceSize base,
                     std::uint32_t from, std::uint32_t to, bool first, bool last);
    // The slot's next command buffer for a progressive import's submission.
    const vk::raii::CommandBuffer& next_chunk(Slot& slot, Pending& p);
    void submit(const vk::raii::CommandBuffer& cmd, const vk::Fence* fence);
    // A dropped progressive import with copies submitted: back to the layout
    // draws expect, under the slot's fence.
    void close_chunks();

    const Gpu* gpu_;
    std::span<std::byte> region_;
    std::optional<HostBuffer> import_;  // `mapped` unused: the memory is the region itself
    std::array<Texture, 2> tex_;
    std::uint32_t front_ = 0;
    // The front's last update: from frame `last_base_` by `last_rects_`.
    std::uint64_t last_base_ = 0;
    protocol::DamageList last_rects_;
    vk::raii::CommandPool pool_{nullptr};
    std::vector<Slot> slots_;
    std::uint32_t next_slot_ = 0;
    std::optional<Pending> pending_;
    bool recovering_ = false;  // the last GPU copy from the region was torn
    std::uint64_t cpu_bytes_ = 0, gpu_bytes_ = 0;
};

}  // namespace porthole::client::vkr
