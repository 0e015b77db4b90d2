#pragma once
// The cursor channel: shape (up to 256x256, three types) and position, each
// behind its own seqlock so that motion never waits for a shape upload.

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "porthole/protocol/region.hpp"
#include "porthole/util/result.hpp"

namespace porthole::protocol {

struct CursorShape {
    std::uint64_t serial = 0;
    CursorType type = CursorType::color;
    std::uint32_t width = 0;
    std::uint32_t height = 0;  // visible rows (a monochrome shape stores 2 x height rows)
    std::uint32_t pitch = 0;
    std::int32_t hotspot_x = 0;
    std::int32_t hotspot_y = 0;
    std::vector<std::byte> data;
};

struct CursorState {
    std::int32_t x = 0;
    std::int32_t y = 0;
    bool visible = false;
    std::uint64_t shape_serial = 0;
};

// Bytes a shape of this type and size occupies; 0 when invalid.
std::uint64_t cursor_data_size(CursorType type, std::uint32_t height, std::uint32_t pitch);
Status validate_cursor_shape(const CursorShapeHeader& h);

class CursorWriter {
  public:
    static Result<CursorWriter> create(std::span<std::byte> channel);
    // Returns whether it differs from the last position written (a new shape
    // counts): the agent rings the host's doorbell only then.
    bool set_position(std::int32_t x, std::int32_t y, bool visible);
    // Uploads a new shape; its serial goes with later positions.
    Status set_shape(CursorType type, std::uint32_t width, std::uint32_t height,
                     std::uint32_t pitch, std::int32_t hotspot_x, std::int32_t hotspot_y,
                     std::span<const std::byte> data);

  private:
    explicit CursorWriter(std::span<std::byte> channel) : channel_(channel) {}
    std::span<std::byte> channel_;
    std::uint64_t shape_serial_ = 0;
    CursorState last_{};
};

class CursorReader {
  public:
    static Result<CursorReader> attach(std::span<const std::byte> channel);
    // The newest position, when it changed since the last call.
    std::optional<CursorState> poll_position();
    // The newest shape, when it changed; an error for an invalid shape.
    Result<std::optional<CursorShape>> poll_shape();

  private:
    explicit CursorReader(std::span<const std::byte> channel) : channel_(channel) {}
    std::span<const std::byte> channel_;
    std::uint64_t position_seq_ = 0;
    std::uint64_t shape_serial_ = 0;
};

}  // namespace porthole::protocol
