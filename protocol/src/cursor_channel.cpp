#include "porthole/protocol/cursor_channel.hpp"

#include <string>

#include "porthole/protocol/layout.hpp"
#include "porthole/protocol/shared_memory.hpp"

namespace porthole::protocol {
namespace {

Error channel_error(std::string msg) {
    return Error::make(std::move(msg), static_cast<int>(RegionError::bad_channel_header));
}
constexpr std::size_t kChannelBytes = kCursorDataOffset + kMaxCursorBytes;

}  // namespace

std::uint64_t cursor_data_size(CursorType type, std::uint32_t height, std::uint32_t pitch) {
    switch (type) {
        case CursorType::color:
        case CursorType::masked:
            return std::uint64_t{pitch} * height;
        case CursorType::monochrome:
            return std::uint64_t{pitch} * height * 2;
    }
    return 0;
}

Status validate_cursor_shape(const CursorShapeHeader& h) {
    if (h.type < 1 || h.type > 3)
        return channel_error("unknown cursor type " + std::to_string(h.type));
    const auto type = static_cast<CursorType>(h.type);
    if (h.width == 0 || h.height == 0 || h.width > kMaxCursorSize || h.height > kMaxCursorSize) {
        return channel_error("cursor size " + std::to_string(h.width) + "x" +
                             std::to_string(h.height) + " out of range");
    }
    const std::uint32_t min_pitch =
        type == CursorType::monochrome ? (h.width + 7) / 8 : h.width * 4;
    if (h.pitch < min_pitch || h.pitch > kMaxCursorSize * 4)
        return channel_error("bad cursor pitch");
    const std::uint64_t need = cursor_data_size(type, h.height, h.pitch);
    if (need > kMaxCursorBytes || h.data_size != need) return channel_error("bad cursor data size");
    if (h.hotspot_x < 0 || h.hotspot_y < 0 || static_cast<std::uint32_t>(h.hotspot_x) >= h.width ||
        static_cast<std::uint32_t>(h.hotspot_y) >= h.height) {
        return channel_error("cursor hotspot outside the shape");
    }
    return {};
}

Result<CursorWriter> CursorWriter::create(std::span<std::byte> channel) {
    if (channel.size() < kChannelBytes) return channel_error("cursor channel too small");
    copy_in(*reinterpret_cast<CursorPosition*>(channel.data()), CursorPosition{});
    copy_in(*reinterpret_cast<CursorShapeHeader*>(channel.data() + kCursorShapeHeaderOffset),
            CursorShapeHeader{});
    return CursorWriter(channel);
}

bool CursorWriter::set_position(std::int32_t x, std::int32_t y, bool visible) {
    const bool changed = x != last_.x || y != last_.y || visible != last_.visible ||
                         shape_serial_ != last_.shape_serial;
    auto& shared = *reinterpret_cast<CursorPosition*>(channel_.data());
    seqlock_begin_write(shared.seq);
    CursorPosition p{};
    p.seq = load_relaxed(shared.seq);
    p.x = x;
    p.y = y;
    p.visible = visible ? 1 : 0;
    p.shape_serial = shape_serial_;
    copy_in(shared, p);
    seqlock_end_write(shared.seq);
    last_ = CursorState{x, y, visible, shape_serial_};
    return changed;
}

Status CursorWriter::set_shape(CursorType type, std::uint32_t width, std::uint32_t height,
                               std::uint32_t pitch, std::int32_t hotspot_x, std::int32_t hotspot_y,
                               std::span<const std::byte> data) {
    CursorShapeHeader h{};
    h.serial = shape_serial_ + 1;
    h.type = static_cast<std::uint32_t>(type);
    h.width = width;
    h.height = height;
    h.pitch = pitch;
    h.hotspot_x = hotspot_x;
    h.hotspot_y = hotspot_y;
    h.data_size = static_cast<std::uint32_t>(cursor_data_size(type, height, pitch));
    if (auto ok = validate_cursor_shape(h); !ok) return ok;
    if (data.size() < h.data_size) return Error::make("cursor shape data too short");
    auto& shared =
        *reinterpret_cast<CursorShapeHeader*>(channel_.data() + kCursorShapeHeaderOffset);
    seqlock_begin_write(shared.seq);
    h.seq = load_relaxed(shared.seq);
    copy_racy(channel_.data() + kCursorDataOffset, data.data(), h.data_size);
    copy_in(shared, h);
    seqlock_end_write(shared.seq);
    shape_serial_ = h.serial;
    set_position(last_.x, last_.y, last_.visible);  // tie the new shape to the position
    return {};
}

Result<CursorReader> CursorReader::attach(std::span<const std::byte> channel) {
    if (channel.size() < kChannelBytes) return channel_error("cursor channel too small");
    return CursorReader(channel);
}

std::optional<CursorState> CursorReader::poll_position() {
    const auto& shared = *reinterpret_cast<const CursorPosition*>(channel_.data());
    const std::uint64_t begin = seqlock_read_begin(shared.seq);
    if (begin == position_seq_ || (begin & 1U) != 0) return std::nullopt;
    const CursorPosition p = copy_out(shared);
    if (!seqlock_read_valid(shared.seq, begin)) return std::nullopt;
    position_seq_ = begin;
    return CursorState{p.x, p.y, p.visible != 0, p.shape_serial};
}

Result<std::optional<CursorShape>> CursorReader::poll_shape() {
    const auto& shared =
        *reinterpret_cast<const CursorShapeHeader*>(channel_.data() + kCursorShapeHeaderOffset);
    const std::uint64_t begin = seqlock_read_begin(shared.seq);
    if ((begin & 1U) != 0) return std::optional<CursorShape>{};
    const CursorShapeHeader h = copy_out(shared);
    if (h.serial == shape_serial_ || h.serial == 0) return std::optional<CursorShape>{};
    if (auto ok = validate_cursor_shape(h); !ok) {
        shape_serial_ = h.serial;  // report a bad shape once, not on every poll
        return ok.error();
    }
    CursorShape s;
    s.serial = h.serial;
    s.type = static_cast<CursorType>(h.type);
    s.width = h.width;
    s.height = h.height;
    s.pitch = h.pitch;
    s.hotspot_x = h.hotspot_x;
    s.hotspot_y = h.hotspot_y;
    s.data.resize(h.data_size);
    copy_racy(s.data.data(), channel_.data() + kCursorDataOffset, h.data_size);
    if (!seqlock_read_valid(shared.seq, begin)) return std::optional<CursorShape>{};
    shape_serial_ = h.serial;
    return std::optional<CursorShape>{std::move(s)};
}

}  // namespace porthole::protocol
