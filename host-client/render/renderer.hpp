#pragma once
// The Vulkan renderer: keeps a persistent GPU texture of the guest's frame,
// updated by damaged rectangles only (imported region memory, or a staging
// buffer), and draws it scaled with the cursor, the overlay and state messages
// to a window's swapchain or, headless, to an offscreen image. Draws only when
// asked; the caller decides when something changed.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "porthole/protocol/cursor_channel.hpp"
#include "porthole/protocol/frame_channel.hpp"
#include "porthole/util/result.hpp"
#include "render/render_types.hpp"
#include "render/surface_provider.hpp"

namespace porthole::client {

struct RendererConfig {
    PresentMode present_mode = PresentMode::fifo;
    ScaleMode scale = ScaleMode::fit;
    Filter filter = Filter::linear;
    bool force_staging = false;  // never import the region (tests, drivers that misbehave)
    bool draw_cursor = true;
    // Headless target size; 0 x 0 follows the frame's size (1:1).
    std::uint32_t headless_width = 0, headless_height = 0;
};

struct DrawResult {
    bool presented = false;        // false: the target was out of date and got rebuilt; draw again
    std::uint64_t present_ns = 0;  // monotonic time the image was handed to presentation
    std::optional<ReadbackImage> readback;  // when asked for
};

class Renderer {
  public:
    // A device, the frame texture's copy path (import tried unless forced to
    // staging) and a target: the window's swapchain, or offscreen without one.
    static Result<std::unique_ptr<Renderer>> create(const RendererConfig& config,
                                                    SurfaceProvider* window,
                                                    std::span<std::byte> region);
    virtual ~Renderer() = default;

    // Copies view.copy_rects into the texture and completes the read with
    // reader.finish; true when the texture now holds the frame exactly (false:
    // torn or needs a whole frame; poll again).
    virtual Result<bool> upload_frame(const protocol::FrameView& view,
                                      protocol::FrameReader& reader) = 0;
    // The agent went away: stop drawing its last frame.
    virtual void forget_frame() = 0;
    virtual void set_cursor_shape(const protocol::CursorShape& shape) = 0;
    virtual void set_cursor_state(const protocol::CursorState& state) = 0;
    // Lines shown top-left (empty: hidden).
    virtual void set_overlay(const std::vector<std::string>& lines) = 0;
    // Lines shown centred, for connection states (empty: hidden).
    virtual void set_message(const std::vector<std::string>& lines) = 0;
    // The window changed size or fullscreen state: rebuild the swapchain.
    virtual void target_resized() = 0;
    // Draws and presents the current state; reads the image back when asked.
    virtual Result<DrawResult> draw(bool readback) = 0;

    [[nodiscard]] virtual CopyPath copy_path() const = 0;
    [[nodiscard]] virtual std::uint64_t cpu_bytes_copied() const = 0;  // frame pixels, by the CPU
    [[nodiscard]] virtual std::uint64_t gpu_bytes_copied() const = 0;  // frame pixels, by the GPU
    [[nodiscard]] virtual PresentMode present_mode() const = 0;        // the one in use
    [[nodiscard]] virtual std::string device_name() const = 0;
    [[nodiscard]] virtual std::uint64_t frame_serial() const = 0;  // frame in the texture (0: none)
};

}  // namespace porthole::client
