#pragma once
// Internal to the renderer: what it draws to. Two implementations of one
// interface, chosen when the renderer is created: a window's swapchain, and
// an offscreen image (headless: tests, benches, --headless). The renderer
// records the same draw for both; only acquiring, handing the image over and
// reading it back differ.
//
// Threads: the renderer's (the render thread), like every renderer operation.

#include <cstdint>
#include <memory>
#include <vector>

#include "render/render_types.hpp"
#include "render/surface_provider.hpp"
#include "render/vk_common.hpp"

namespace porthole::client::vkr {

// One image of a target with what drawing to it needs.
struct TargetImage {
    vk::Image image;
    vk::raii::ImageView view{nullptr};
    vk::raii::Framebuffer framebuffer{nullptr};
    vk::raii::Semaphore rendered{nullptr};  // the draw is done: the present may start
};

struct Acquired {
    TargetImage* image = nullptr;  // null: nothing to draw on now (busy, out of date, minimised)
    std::uint32_t index = 0;
    bool rebuilt = false;  // the images were made again (size, density): sized state is stale
};

class RenderTarget {
  public:
    virtual ~RenderTarget() = default;
    [[nodiscard]] virtual vk::Format format() const = 0;
    // The target encodes sRGB on write (the shader then writes linear values).
    [[nodiscard]] virtual bool srgb() const = 0;
    // The layout a draw leaves its image in: ready to present, or to read back.
    [[nodiscard]] virtual vk::ImageLayout final_layout() const = 0;
    // Draws wait for the acquire's semaphore before writing (a swapchain's image
    // may still be on screen); an offscreen image is free once the previous draw is.
    [[nodiscard]] virtual bool waits_for_acquire() const = 0;
    // The render pass the images' framebuffers are made for; before the first acquire.
    virtual void set_render_pass(vk::RenderPass pass) = 0;
    // An image to draw to, made again first when resized or its size no longer
    // fits (`frame`: the guest frame's size, which an offscreen target may
    // follow). `signal` is signalled once the image may be written. Waits at
    // most a few milliseconds.
    virtual Acquired acquire(vk::Semaphore signal, vk::Extent2D frame) = 0;
    // Hands a drawn image over: presents it once `rendered` is signalled
    // (swapchain), or keeps it for reading back (offscreen).
    virtual void present(const Acquired& image) = 0;
    // The window changed size or fullscreen state.
    virtual void resized() = 0;
    [[nodiscard]] virtual vk::Extent2D extent() const = 0;
    // The frame may reach the image by a copy (the target takes transfers and
    // ignores the alpha byte the copy keeps).
    [[nodiscard]] virtual bool can_copy() const = 0;
    // Records a copy of the drawn image into `buffer` (4 bytes a pixel, rows
    // packed); false when the target cannot be read.
    virtual bool record_readback(const vk::raii::CommandBuffer& cmd, const Acquired& image,
                                 vk::Buffer buffer) = 0;
    // Window pixels per unit, for text (1 offscreen).
    [[nodiscard]] virtual float pixel_density() const = 0;
    // The present mode in use: the one asked for, or fifo when the surface lacks it.
    [[nodiscard]] virtual PresentMode present_mode() const = 0;
};

// A swapchain on the window's surface (gpu.surface) with `mode`, or fifo with
// a warning when the surface does not offer it.
std::unique_ptr<RenderTarget> make_swapchain_target(Gpu& gpu, SurfaceProvider& window,
                                                    PresentMode mode);
// One offscreen image of width x height, or of the frame's size when 0 x 0.
std::unique_ptr<RenderTarget> make_offscreen_target(Gpu& gpu, std::uint32_t width,
                                                    std::uint32_t height);

}  // namespace porthole::client::vkr
