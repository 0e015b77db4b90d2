#include "porthole/protocol/layout.hpp"

#include <array>
#include <bit>
#include <limits>

namespace porthole::protocol {
namespace {

constexpr std::uint64_t page_up(std::uint64_t n) {
    return (n + kPageSize - 1) & ~(kPageSize - 1);
}

constexpr std::uint64_t input_size(const LayoutParams& p) {
    return page_up(sizeof(InputRingHeader)) +
           page_up(std::uint64_t{p.input_capacity} * sizeof(InputEvent));
}
constexpr std::uint64_t audio_size(const LayoutParams& p) {
    return page_up(sizeof(AudioRingHeader)) + page_up(p.audio_bytes);
}
constexpr std::uint64_t clipboard_size(const LayoutParams& p) {
    return page_up(sizeof(ClipboardHeader)) + page_up(p.clipboard_bytes);
}
constexpr std::uint64_t cursor_size() {
    return kCursorDataOffset + kMaxCursorBytes;
}

Error region_error(RegionError code, std::string msg) {
    return Error::make(std::move(msg), static_cast<int>(code));
}

}  // namespace

std::uint64_t fixed_channels_size(const LayoutParams& p) {
    return cursor_size() + input_size(p) + audio_size(p) + 2 * clipboard_size(p);
}

std::uint64_t frames_overhead() {
    return kPageSize + page_up(std::uint64_t{kDamageHistory} * sizeof(DamageRecord));
}

std::uint64_t slot_size_for(std::uint32_t width, std::uint32_t height, PixelFormat format) {
    return kPageSize + page_up(std::uint64_t{width} * height * bytes_per_pixel(format));
}

std::uint64_t required_region_size(std::uint32_t width, std::uint32_t height, PixelFormat format,
                                   std::uint32_t slot_count, const LayoutParams& p) {
    return kChannelsOffset + fixed_channels_size(p) + frames_overhead() +
           std::uint64_t{slot_count} * slot_size_for(width, height, format);
}

std::uint64_t recommended_region_size(std::uint32_t width, std::uint32_t height, PixelFormat format,
                                      std::uint32_t slot_count) {
    constexpr std::uint64_t mib = std::uint64_t{1024} * 1024;
    const std::uint64_t need = required_region_size(width, height, format, slot_count);
    return std::bit_ceil((need + mib - 1) / mib) * mib;
}

Result<RegionLayout> plan_layout(std::uint64_t region_size, const LayoutParams& p) {
    if (p.frame_slots < kMinFrameSlots || p.frame_slots > kMaxFrameSlots) {
        return Error::make("frame slots must be between " + std::to_string(kMinFrameSlots) +
                           " and " + std::to_string(kMaxFrameSlots));
    }
    if (!std::has_single_bit(p.input_capacity)) {
        return Error::make("input ring capacity must be a power of two");
    }
    RegionLayout l;
    l.region_size = region_size;
    std::uint64_t at = kChannelsOffset;
    auto place = [&](ChannelSpan& c, std::uint64_t size) {
        c = ChannelSpan{at, size};
        at += size;
    };
    place(l.cursor, cursor_size());
    place(l.input, input_size(p));
    place(l.audio_out, audio_size(p));
    place(l.clipboard_to_host, clipboard_size(p));
    place(l.clipboard_to_guest, clipboard_size(p));
    const std::uint64_t min_slot = 2 * kPageSize;
    if (region_size < at + frames_overhead() + p.frame_slots * min_slot) {
        return Error::make("region of " + std::to_string(region_size) +
                           " bytes is too small: the channels alone need " +
                           std::to_string(at + frames_overhead() + p.frame_slots * min_slot));
    }
    const std::uint64_t frames_size = (region_size - at) & ~(kPageSize - 1);
    l.frame_slots = p.frame_slots;
    l.slot_size = ((frames_size - frames_overhead()) / p.frame_slots) & ~(kPageSize - 1);
    place(l.frames, frames_overhead() + l.slot_size * p.frame_slots);
    return l;
}

RegionHeader make_header(const RegionLayout& l) {
    RegionHeader h{};
    h.magic = kMagic;
    h.version = kVersion;
    h.header_size = sizeof(RegionHeader);
    h.region_size = l.region_size;
    const std::array<std::pair<ChannelKind, ChannelSpan>, 6> chans{{
        {ChannelKind::frames, l.frames},
        {ChannelKind::cursor, l.cursor},
        {ChannelKind::input, l.input},
        {ChannelKind::audio_out, l.audio_out},
        {ChannelKind::clipboard_to_host, l.clipboard_to_host},
        {ChannelKind::clipboard_to_guest, l.clipboard_to_guest},
    }};
    for (const auto& [kind, span] : chans) {
        h.channels[h.channel_count++] =
            ChannelDesc{static_cast<std::uint32_t>(kind), 0, span.offset, span.size};
    }
    return h;
}

Result<RegionLayout> validate_region(const RegionHeader& h, std::uint64_t mapped_size) {
    if (h.magic != kMagic) {
        return region_error(RegionError::bad_magic, "no Porthole header in the region (bad magic)");
    }
    if (h.version != kVersion) {
        return region_error(RegionError::unsupported_version,
                            "agent protocol version " + std::to_string(h.version) +
                                " unsupported (this client speaks version " +
                                std::to_string(kVersion) + ")");
    }
    if (h.header_size != sizeof(RegionHeader)) {
        return region_error(RegionError::bad_size, "header size mismatch");
    }
    if (h.region_size > mapped_size || h.region_size < kChannelsOffset) {
        return region_error(RegionError::bad_size, "region size in header (" +
                                                       std::to_string(h.region_size) +
                                                       ") does not fit the mapped " +
                                                       std::to_string(mapped_size) + " bytes");
    }
    if (h.channel_count > kMaxChannels) {
        return region_error(RegionError::bad_channel_table, "too many channels");
    }
    RegionLayout l;
    l.region_size = h.region_size;
    std::array<bool, kMaxChannelKind + 1> seen{};
    for (std::uint32_t i = 0; i < h.channel_count; ++i) {
        const ChannelDesc& c = h.channels[i];
        if (c.offset % kPageSize != 0 || c.offset < kChannelsOffset || c.size == 0 ||
            c.size > h.region_size || c.offset > h.region_size - c.size) {
            return region_error(RegionError::bad_channel_table,
                                "channel " + std::to_string(i) + " lies outside the region");
        }
        for (std::uint32_t j = 0; j < i; ++j) {
            const ChannelDesc& o = h.channels[j];
            if (c.offset < o.offset + o.size && o.offset < c.offset + c.size) {
                return region_error(
                    RegionError::bad_channel_table,
                    "channels " + std::to_string(j) + " and " + std::to_string(i) + " overlap");
            }
        }
        if (c.kind == 0 || c.kind > kMaxChannelKind) continue;  // unknown kinds: ignored
        if (seen[c.kind]) {
            return region_error(RegionError::bad_channel_table, "a channel kind appears twice");
        }
        seen[c.kind] = true;
        const ChannelSpan span{c.offset, c.size};
        switch (static_cast<ChannelKind>(c.kind)) {
            case ChannelKind::frames:
                l.frames = span;
                break;
            case ChannelKind::cursor:
                l.cursor = span;
                break;
            case ChannelKind::input:
                l.input = span;
                break;
            case ChannelKind::audio_out:
                l.audio_out = span;
                break;
            case ChannelKind::clipboard_to_host:
                l.clipboard_to_host = span;
                break;
            case ChannelKind::clipboard_to_guest:
                l.clipboard_to_guest = span;
                break;
            case ChannelKind::audio_in:
                break;  // reserved
        }
    }
    if (l.frames.size == 0) {
        return region_error(RegionError::missing_channel, "the region has no frames channel");
    }
    if (l.cursor.size != 0 && l.cursor.size < cursor_size()) {
        return region_error(RegionError::bad_channel_table, "cursor channel too small");
    }
    return l;
}

}  // namespace porthole::protocol
