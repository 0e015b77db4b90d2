#pragma once
// Clipboard channels: one per direction, each written by one side only.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "porthole/protocol/region.hpp"
#include "porthole/util/result.hpp"

namespace porthole::protocol {

// The agent lays out both directions at session start.
Status init_clipboard_channel(std::span<std::byte> channel);

class ClipboardWriter {
  public:
    static Result<ClipboardWriter> attach(std::span<std::byte> channel);
    // Publishes text; an error when it exceeds the channel's capacity.
    Status publish(std::string_view utf8_text);
    [[nodiscard]] std::uint64_t capacity() const { return capacity_; }

  private:
    ClipboardWriter(std::span<std::byte> channel, std::uint64_t capacity, std::uint64_t data_offset)
        : channel_(channel), capacity_(capacity), data_offset_(data_offset) {}
    std::span<std::byte> channel_;
    std::uint64_t capacity_;
    std::uint64_t data_offset_;
};

class ClipboardReader {
  public:
    static Result<ClipboardReader> attach(std::span<const std::byte> channel);
    // New text since the last call, if any (an error for invalid content, or
    // for text longer than max_length, refused before anything is allocated).
    Result<std::optional<std::string>> poll(std::uint64_t max_length = UINT64_MAX);

  private:
    ClipboardReader(std::span<const std::byte> channel, std::uint64_t capacity,
                    std::uint64_t data_offset)
        : channel_(channel), capacity_(capacity), data_offset_(data_offset) {}
    std::span<const std::byte> channel_;
    std::uint64_t capacity_;
    std::uint64_t data_offset_;
    std::uint64_t serial_ = 0;
};

}  // namespace porthole::protocol
