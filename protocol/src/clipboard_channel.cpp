#include "porthole/protocol/clipboard_channel.hpp"

#include "porthole/protocol/layout.hpp"
#include "porthole/protocol/shared_memory.hpp"

namespace porthole::protocol {
namespace {

Error channel_error(std::string msg) {
    return Error::make(std::move(msg), static_cast<int>(RegionError::bad_channel_header));
}

Result<std::pair<std::uint64_t, std::uint64_t>> geometry(std::span<const std::byte> channel) {
    if (channel.size() < sizeof(ClipboardHeader))
        return channel_error("clipboard channel too small");
    const auto h = copy_out(*reinterpret_cast<const ClipboardHeader*>(channel.data()));
    if (h.data_offset < sizeof(ClipboardHeader) || h.data_offset > channel.size() ||
        h.capacity > channel.size() - h.data_offset || h.capacity > 0xFFFFFFFFU) {
        return channel_error("clipboard header does not fit its channel");
    }
    return std::pair{h.capacity, h.data_offset};
}

}  // namespace

Status init_clipboard_channel(std::span<std::byte> channel) {
    if (channel.size() < 2 * kPageSize) return channel_error("clipboard channel too small");
    ClipboardHeader h{};
    h.data_offset = kPageSize;
    h.capacity = channel.size() - kPageSize;
    copy_in(*reinterpret_cast<ClipboardHeader*>(channel.data()), h);
    return {};
}

Result<ClipboardWriter> ClipboardWriter::attach(std::span<std::byte> channel) {
    auto g = geometry(channel);
    if (!g) return g.error();
    return ClipboardWriter(channel, g->first, g->second);
}

Status ClipboardWriter::publish(std::string_view text) {
    if (text.size() > capacity_) {
        return Error::make("clipboard text of " + std::to_string(text.size()) +
                           " bytes exceeds the channel's " + std::to_string(capacity_));
    }
    auto& shared = *reinterpret_cast<ClipboardHeader*>(channel_.data());
    seqlock_begin_write(shared.seq);
    ClipboardHeader h = copy_out(shared);
    h.serial += 1;
    h.mime = static_cast<std::uint32_t>(ClipboardMime::text_utf8);
    h.length = static_cast<std::uint32_t>(text.size());
    copy_racy(channel_.data() + data_offset_, text.data(), text.size());
    copy_in(shared, h);
    seqlock_end_write(shared.seq);
    return {};
}

Result<ClipboardReader> ClipboardReader::attach(std::span<const std::byte> channel) {
    auto g = geometry(channel);
    if (!g) return g.error();
    return ClipboardReader(channel, g->first, g->second);
}

Result<std::optional<std::string>> ClipboardReader::poll(std::uint64_t max_length) {
    const auto& shared = *reinterpret_cast<const ClipboardHeader*>(channel_.data());
    const std::uint64_t begin = seqlock_read_begin(shared.seq);
    if ((begin & 1U) != 0) return std::optional<std::string>{};
    const ClipboardHeader h = copy_out(shared);
    if (h.serial == serial_) return std::optional<std::string>{};
    if (h.mime != static_cast<std::uint32_t>(ClipboardMime::text_utf8) || h.length > capacity_) {
        serial_ = h.serial;
        return channel_error("invalid clipboard content");
    }
    if (h.length > max_length) {
        serial_ = h.serial;
        return Error::make("clipboard text of " + std::to_string(h.length) +
                           " bytes is over the limit of " + std::to_string(max_length) + " bytes");
    }
    std::string text(h.length, '\0');
    copy_racy(text.data(), channel_.data() + data_offset_, h.length);
    if (!seqlock_read_valid(shared.seq, begin)) return std::optional<std::string>{};
    serial_ = h.serial;
    return std::optional<std::string>{std::move(text)};
}

}  // namespace porthole::protocol
