#pragma once
// Choices and results shared by the renderer and the program: scaling,
// filtering, present modes, the copy path in use, and read-back images.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace porthole::client {

enum class ScaleMode { fit, integer, stretch };
enum class Filter { nearest, linear };
enum class PresentMode { fifo, mailbox, immediate };
// How frame pixels reach the GPU texture.
enum class CopyPath {
    none,         // nothing uploaded yet
    host_import,  // the region imported with VK_EXT_external_memory_host: GPU copies, no CPU copy
    staging,      // CPU copies damaged rectangles into a staging buffer, then the GPU copies
};

std::string_view to_string(ScaleMode m);
std::string_view to_string(Filter f);
std::string_view to_string(PresentMode m);
std::string_view to_string(CopyPath p);
std::optional<ScaleMode> parse_scale_mode(std::string_view s);
std::optional<Filter> parse_filter(std::string_view s);
std::optional<PresentMode> parse_present_mode(std::string_view s);

// Where an upload_frame left a frame.
enum class UploadState {
    accepted,  // the texture holds it exactly; draws from now on show it
    pending,   // the GPU copies it from the region; finish_upload says whether it held still
    dropped,   // torn (the guest rewrote the slot during the copy): never shown; poll again
};

// A rectangle on the target, in pixels; may extend past the target's edges.
struct PixelRect {
    std::int32_t x = 0, y = 0;
    std::uint32_t w = 0, h = 0;
    friend bool operator==(const PixelRect&, const PixelRect&) = default;
};

// A read-back of what was presented: 8-bit B,G,R,A rows.
struct ReadbackImage {
    std::uint32_t width = 0, height = 0, stride = 0;
    std::vector<std::byte> bgra;
    PixelRect frame_rect;  // where the guest's frame was drawn (w == 0: not drawn)
    std::uint32_t frame_width = 0, frame_height = 0;  // the frame's own size
    std::uint64_t frame_serial = 0;                   // the frame shown (0: none)
};

}  // namespace porthole::client
