#pragma once
// Internal to the renderer: the Vulkan device and small RAII helpers around
// buffers, images and one-shot command submission. Vulkan-Hpp's RAII handles
// own every object; errors surface as vk::SystemError and are turned into
// porthole::Error at the renderer's boundary.

#include <vulkan/vulkan_raii.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "porthole/protocol/format.hpp"
#include "porthole/util/result.hpp"
#include "render/surface_provider.hpp"

namespace porthole::client::vkr {

struct Gpu {
    vk::raii::Context context;
    vk::raii::Instance instance{nullptr};
    vk::raii::SurfaceKHR surface{nullptr};  // null when headless
    vk::raii::PhysicalDevice physical{nullptr};
    vk::raii::Device device{nullptr};
    vk::raii::Queue queue{nullptr};
    std::uint32_t queue_family = 0;
    bool host_import = false;  // VK_EXT_external_memory_host enabled
    vk::DeviceSize import_alignment = 0;
    vk::PhysicalDeviceMemoryProperties memory{};
    std::string name;

    // A memory type among `bits` with every property in `want`.
    [[nodiscard]] std::optional<std::uint32_t> memory_type(std::uint32_t bits,
                                                           vk::MemoryPropertyFlags want) const;
};

// Instance, surface (when a window is given), the best device that can draw
// (and present to the surface), one graphics queue.
Result<std::unique_ptr<Gpu>> create_gpu(SurfaceProvider* window);

// A host-visible, coherent buffer, persistently mapped.
struct HostBuffer {
    vk::raii::DeviceMemory memory{nullptr};
    vk::raii::Buffer buffer{nullptr};
    std::byte* mapped = nullptr;
    vk::DeviceSize size = 0;
};
HostBuffer create_host_buffer(const Gpu& gpu, vk::DeviceSize size, vk::BufferUsageFlags usage);

// A 2D device-local image with a view; `layout` tracks its current layout.
struct GpuImage {
    vk::raii::DeviceMemory memory{nullptr};
    vk::raii::Image image{nullptr};
    vk::raii::ImageView view{nullptr};
    vk::Format format = vk::Format::eUndefined;
    std::uint32_t width = 0, height = 0;
    vk::ImageLayout layout = vk::ImageLayout::eUndefined;
};
GpuImage create_image(const Gpu& gpu, std::uint32_t width, std::uint32_t height, vk::Format format,
                      vk::ImageUsageFlags usage);

// Moves `image` to `to`, making prior writes of `src` visible to `dst` accesses.
void transition(const vk::raii::CommandBuffer& cmd, GpuImage& image, vk::ImageLayout to,
                vk::AccessFlags src_access, vk::PipelineStageFlags src_stage,
                vk::AccessFlags dst_access, vk::PipelineStageFlags dst_stage);
void transition(const vk::raii::CommandBuffer& cmd, vk::Image image, vk::ImageLayout from,
                vk::ImageLayout to, vk::AccessFlags src_access, vk::PipelineStageFlags src_stage,
                vk::AccessFlags dst_access, vk::PipelineStageFlags dst_stage);

// Records commands into a reusable buffer, submits them and waits.
class OneShot {
  public:
    explicit OneShot(const Gpu& gpu);
    const vk::raii::CommandBuffer& begin();
    void submit_and_wait();

  private:
    const Gpu* gpu_;
    vk::raii::CommandPool pool_;
    vk::raii::CommandBuffers buffers_;
    vk::raii::Fence fence_;
};

// The texture format that holds a guest pixel format bit for bit.
vk::Format texture_format(protocol::PixelFormat f);

}  // namespace porthole::client::vkr
