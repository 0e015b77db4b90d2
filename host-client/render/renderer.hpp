#pragma once
// The Vulkan renderer: keeps a persistent GPU texture of the guest's frame,
// updated by damaged rectangles only (imported region memory, or a staging
// buffer), and draws it scaled with the cursor, the overlay and state messages
// to a target (render/target.hpp): a window's swapchain or, headless, an
// offscreen image, chosen at create. Draws only when asked; the caller
// decides when something changed.
//
// Nothing waits for the GPU in steady state: up to `frames_in_flight` draws
// (each with its own command buffer, fence and acquire semaphore) and as many
// uploads (each with its own command buffer, fence and staging buffer) are
// queued, so that the upload of frame N+1 overlaps the draw and present of
// frame N. A frame the GPU copies straight from the region (import path) is
// pending until its copy's fence has signalled and its seqlock checked; until
// then draws show the previous frame, and a torn copy is never shown. The
// device is waited for only at teardown, on a target resize and on a frame
// size or format change (and, for now, when a cursor or text image is replaced).
//
// Threads: one thread at a time, never two at once; a Renderer is not shared.
// The client creates and destroys it on the main thread and, in window mode,
// hands it to the render thread (the session loop's) in between: thread start
// and join order the handover. SurfaceProvider::drawable_size() is then
// called from the render thread (display/sdl_window.hpp allows it).

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

// Frames in flight by default. porthole-bench-render on lavapipe, 2 cores
// shared with other builds (load 8), headless 60 Hz pattern streams, 5 s,
// frames shown / published (CPU per shown frame, every thread of the client):
//   stream   frames in flight      shown / published   CPU per shown frame
//   1080p60  before (all waited)   21-32%              41 ms
//            1 / 2 / 3             98 / 97-99 / 93-98% 1.9-2.6 / 2.2-2.5 / 2.4-2.8 ms
//   1440p60  before (all waited)   10-16%              76-79 ms
//            1 / 2 / 3             88 / 83-97 / 87-90% 3.1-3.3 / 2.7-3.5 / 2.6-3.2 ms
// Almost all of the gain is the 1:1 copy replacing the textured quad (a 1080p
// draw: 38 ms -> 2 ms of CPU); lavapipe runs its one queue on the CPU, so
// overlap adds little there and 1, 2 and 3 differ by less than the noise.
// Two keep the upload of frame N+1 off the present of frame N, which matters
// on a real GPU, at one frame less of queued latency than three.
inline constexpr std::uint32_t kFramesInFlight = 2;

struct RendererConfig {
    PresentMode present_mode = PresentMode::fifo;
    ScaleMode scale = ScaleMode::fit;
    Filter filter = Filter::linear;
    bool force_staging = false;  // never import the region (tests, drivers that misbehave)
    bool draw_cursor = true;
    // Headless target size; 0 x 0 follows the frame's size (1:1).
    std::uint32_t headless_width = 0, headless_height = 0;
    // Draws and uploads queued before the CPU waits for the oldest. Measured
    // with porthole-bench-render on lavapipe, 2-core machine: see kFramesInFlight.
    std::uint32_t frames_in_flight = kFramesInFlight;
};

struct DrawResult {
    bool presented = false;                 // false: the target was out of date or busy; draw again
    std::uint64_t present_ns = 0;           // monotonic time the image was handed to presentation
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

    // Starts copying view.copy_rects into a texture and completes the read with
    // reader.finish, now (staging: accepted or dropped) or once the GPU copy is
    // done (import: pending; call finish_upload). Never waits for the GPU in
    // steady state. Not while an upload is pending. A view in progress (from
    // poll_progressive) is pending while its rows land: finish_upload copies
    // the rows that landed (staging) or submits their GPU copy (import).
    virtual Result<UploadState> upload_frame(const protocol::FrameView& view,
                                             protocol::FrameReader& reader) = 0;
    // Completes a pending upload with the same reader: accepted, dropped (torn),
    // or still pending. `wait` blocks until the copy is done (tests, benches);
    // without it this never waits.
    virtual UploadState finish_upload(protocol::FrameReader& reader, bool wait = false) = 0;
    [[nodiscard]] virtual bool upload_pending() const = 0;
    // The agent went away: stop drawing its last frame, drop a pending upload.
    virtual void forget_frame() = 0;
    virtual void set_cursor_shape(const protocol::CursorShape& shape) = 0;
    virtual void set_cursor_state(const protocol::CursorState& state) = 0;
    // Lines shown top-left (empty: hidden), with a graph of the frame times
    // given (ms, oldest first) under them.
    virtual void set_overlay(const std::vector<std::string>& lines,
                             std::span<const float> frame_ms = {}) = 0;
    // Lines shown centred, for connection states (empty: hidden).
    virtual void set_message(const std::vector<std::string>& lines) = 0;
    // Lines shown centred over everything in the overlay's font, for the
    // key bindings while the escape key is held (empty: hidden).
    virtual void set_help(const std::vector<std::string>& lines) = 0;
    // The window changed size or fullscreen state: rebuild the swapchain.
    virtual void target_resized() = 0;
    // Queues a draw of the current state and its present; reads the image back
    // when asked (then waits for that draw). Waits only when `frames_in_flight`
    // draws are queued, and for a swapchain image at most a few milliseconds
    // (presented false: try again).
    virtual Result<DrawResult> draw(bool readback) = 0;

    [[nodiscard]] virtual CopyPath copy_path() const = 0;
    [[nodiscard]] virtual std::uint64_t cpu_bytes_copied() const = 0;  // frame pixels, by the CPU
    [[nodiscard]] virtual std::uint64_t gpu_bytes_copied() const = 0;  // frame pixels, by the GPU
    [[nodiscard]] virtual PresentMode present_mode() const = 0;        // the one in use
    [[nodiscard]] virtual std::string device_name() const = 0;
    [[nodiscard]] virtual std::uint64_t frame_serial() const = 0;  // frame in the texture (0: none)
};

}  // namespace porthole::client
