#include "capture/win/cursor_shape.hpp"

#include <cstring>
#include <string>

#include "porthole/protocol/region.hpp"

namespace porthole::agent::win {

using protocol::CursorType;

Result<CursorShapeUpdate> convert_pointer_shape(const DXGI_OUTDUPL_POINTER_SHAPE_INFO& info,
                                                std::span<const std::byte> buffer) {
    CursorShapeUpdate out;
    std::uint32_t rows = info.Height;  // rows present in the buffer
    std::uint32_t row_bytes = 0;       // bytes of one packed row
    switch (info.Type) {
        case DXGI_OUTDUPL_POINTER_SHAPE_TYPE_COLOR:
            out.type = CursorType::color;
            out.height = info.Height;
            row_bytes = info.Width * 4;
            break;
        case DXGI_OUTDUPL_POINTER_SHAPE_TYPE_MASKED_COLOR:
            out.type = CursorType::masked;
            out.height = info.Height;
            row_bytes = info.Width * 4;
            break;
        case DXGI_OUTDUPL_POINTER_SHAPE_TYPE_MONOCHROME:
            if (info.Height % 2 != 0) {
                return Error::make("monochrome pointer shape has an odd height " +
                                   std::to_string(info.Height) + " (AND and XOR masks expected)");
            }
            out.type = CursorType::monochrome;
            out.height = info.Height / 2;
            row_bytes = (info.Width + 7) / 8;
            break;
        default:
            return Error::make("unknown DXGI pointer shape type " + std::to_string(info.Type));
    }
    out.width = info.Width;
    out.pitch = row_bytes;
    if (out.width == 0 || out.height == 0) return Error::make("empty pointer shape");
    if (out.width > protocol::kMaxCursorSize || out.height > protocol::kMaxCursorSize) {
        return Error::make("pointer shape " + std::to_string(out.width) + "x" +
                           std::to_string(out.height) + " is larger than " +
                           std::to_string(protocol::kMaxCursorSize) + "x" +
                           std::to_string(protocol::kMaxCursorSize));
    }
    if (info.Pitch < row_bytes) {
        return Error::make("pointer shape pitch " + std::to_string(info.Pitch) + " is below " +
                           std::to_string(row_bytes) + " bytes for width " +
                           std::to_string(info.Width));
    }
    const std::size_t need = std::size_t{info.Pitch} * (rows - 1) + row_bytes;
    if (buffer.size() < need) {
        return Error::make("pointer shape buffer holds " + std::to_string(buffer.size()) +
                           " bytes, " + std::to_string(need) + " needed");
    }
    out.data.resize(std::size_t{row_bytes} * rows);
    for (std::uint32_t y = 0; y < rows; ++y) {
        std::memcpy(out.data.data() + std::size_t{y} * row_bytes,
                    buffer.data() + std::size_t{y} * info.Pitch, row_bytes);
    }
    out.hotspot_x = static_cast<std::int32_t>(info.HotSpot.x);
    out.hotspot_y = static_cast<std::int32_t>(info.HotSpot.y);
    return out;
}

}  // namespace porthole::agent::win
