#pragma once
// Where each channel lives in the region, and how big a region must be.
// The agent plans the layout from the region's size; the host validates what
// the agent wrote (validate_region) before touching any channel.

#include <cstdint>
#include <string>

#include "porthole/protocol/region.hpp"
#include "porthole/util/result.hpp"

namespace porthole::protocol {

struct LayoutParams {
    std::uint32_t frame_slots = kMinFrameSlots;
    std::uint32_t input_capacity = 4096;                    // events, power of two
    std::uint64_t audio_bytes = std::uint64_t{512} * 1024;  // PCM ring: 1.3 s of 48 kHz stereo f32
    std::uint64_t clipboard_bytes = std::uint64_t{256} * 1024;  // each direction
};

struct ChannelSpan {
    std::uint64_t offset = 0;
    std::uint64_t size = 0;
};

struct RegionLayout {
    std::uint64_t region_size = 0;
    ChannelSpan frames, cursor, input, audio_out, clipboard_to_host, clipboard_to_guest;
    std::uint32_t frame_slots = 0;
    std::uint64_t slot_size = 0;  // bytes per frame slot, header page included
    // Largest frame (stride * height bytes) one slot holds.
    [[nodiscard]] std::uint64_t max_frame_bytes() const { return slot_size - kPageSize; }
};

// Bytes of the channels other than frames, page-aligned.
std::uint64_t fixed_channels_size(const LayoutParams& p);
// Bytes of the frames channel's header page and damage history.
std::uint64_t frames_overhead();
// Minimum bytes of one frame slot for a width x height frame in `format`.
std::uint64_t slot_size_for(std::uint32_t width, std::uint32_t height, PixelFormat format);

// Bytes a region needs for frames up to width x height in `format`.
std::uint64_t required_region_size(std::uint32_t width, std::uint32_t height, PixelFormat format,
                                   std::uint32_t slot_count = kMinFrameSlots,
                                   const LayoutParams& p = {});
// required_region_size rounded up to a power of two MiB, as QEMU's ivshmem
// and libvirt's <shmem> want it.
std::uint64_t recommended_region_size(std::uint32_t width, std::uint32_t height, PixelFormat format,
                                      std::uint32_t slot_count = kMinFrameSlots);

// The agent's plan for a region of region_size bytes: fixed channels first,
// the rest split into p.frame_slots equal slots.
Result<RegionLayout> plan_layout(std::uint64_t region_size, const LayoutParams& p = {});

// Fills a header (magic, version, channel table) for a planned layout.
RegionHeader make_header(const RegionLayout& layout);

// Error codes (Error::code) of validate_region and the channel attaches.
enum class RegionError : int {
    none = 0,
    bad_magic = 1,
    unsupported_version = 2,
    bad_size = 3,
    bad_channel_table = 4,
    missing_channel = 5,
    bad_channel_header = 6,
};

// Checks a header copied out of a region of mapped_size bytes: magic,
// version, sizes, every channel inside the region, aligned, not overlapping,
// and big enough. Never trusts a field it has not checked.
Result<RegionLayout> validate_region(const RegionHeader& header, std::uint64_t mapped_size);

}  // namespace porthole::protocol
