#include "render/vk_common.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace porthole::client::vkr {

std::optional<std::uint32_t> Gpu::memory_type(std::uint32_t bits,
                                              vk::MemoryPropertyFlags want) const {
    for (std::uint32_t i = 0; i < memory.memoryTypeCount; ++i) {
        if ((bits & (1U << i)) != 0 && (memory.memoryTypes[i].propertyFlags & want) == want)
            return i;
    }
    return std::nullopt;
}

namespace {

bool has_extension(const std::vector<vk::ExtensionProperties>& exts, const char* name) {
    return std::any_of(exts.begin(), exts.end(),
                       [&](const auto& e) { return std::strcmp(e.extensionName, name) == 0; });
}

int device_rank(vk::PhysicalDeviceType t) {
    switch (t) {
        case vk::PhysicalDeviceType::eDiscreteGpu:
            return 4;
        case vk::PhysicalDeviceType::eIntegratedGpu:
            return 3;
        case vk::PhysicalDeviceType::eVirtualGpu:
            return 2;
        case vk::PhysicalDeviceType::eCpu:
            return 1;
        default:
            return 0;
    }
}

}  // namespace

Result<std::unique_ptr<Gpu>> create_gpu(SurfaceProvider* window) try {
    auto gpu = std::make_unique<Gpu>();
    std::vector<std::string> names;
    if (window) names = window->vulkan_instance_extensions();
    std::vector<const char*> exts;
    for (const auto& n : names)
        exts.push_back(n.c_str());
    vk::ApplicationInfo app("porthole", 1, "porthole", 1, VK_API_VERSION_1_2);
    vk::InstanceCreateInfo ici({}, &app, {}, exts);
    gpu->instance = vk::raii::Instance(gpu->context, ici);
    if (window) {
        auto raw = window->create_vulkan_surface(*gpu->instance);
        if (!raw) return raw.error();
        gpu->surface = vk::raii::SurfaceKHR(gpu->instance, *raw);
    }

    vk::raii::PhysicalDevices devices(gpu->instance);
    int best_rank = -1;
    std::string rejected;
    for (auto& pd : devices) {
        const auto props = pd.getProperties();
        const std::string name = props.deviceName.data();
        if (props.apiVersion < VK_API_VERSION_1_2) {
            rejected += " " + name + " (Vulkan < 1.2)";
            continue;
        }
        const auto families = pd.getQueueFamilyProperties();
        std::optional<std::uint32_t> family;
        for (std::uint32_t i = 0; i < families.size(); ++i) {
            if (!(families[i].queueFlags & vk::QueueFlagBits::eGraphics)) continue;
            if (window && pd.getSurfaceSupportKHR(i, *gpu->surface) == VK_FALSE) continue;
            family = i;
            break;
        }
        if (!family) {
            rejected += " " + name + " (no queue that draws" + (window ? " and presents)" : ")");
            continue;
        }
        const int rank = device_rank(props.deviceType);
        if (rank > best_rank) {
            best_rank = rank;
            gpu->physical = pd;
            gpu->queue_family = *family;
            gpu->name = name;
        }
    }
    if (best_rank < 0) {
        return Error::make("no usable Vulkan device:" +
                           (rejected.empty() ? std::string(" none found") : rejected) +
                           "; install a Vulkan driver (mesa-vulkan-drivers gives lavapipe)");
    }

    const auto exts_available = gpu->physical.enumerateDeviceExtensionProperties();
    std::vector<const char*> dev_exts;
    if (window) dev_exts.push_back(VK_KHR_SWAPCHAIN_EXTENSION_NAME);
    if (has_extension(exts_available, VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME)) {
        dev_exts.push_back(VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME);
        gpu->host_import = true;
        const auto chain =
            gpu->physical.getProperties2<vk::PhysicalDeviceProperties2,
                                         vk::PhysicalDeviceExternalMemoryHostPropertiesEXT>();
        gpu->import_alignment = chain.get<vk::PhysicalDeviceExternalMemoryHostPropertiesEXT>()
                                    .minImportedHostPointerAlignment;
    }
    const float priority = 1.0F;
    vk::DeviceQueueCreateInfo qci({}, gpu->queue_family, 1, &priority);
    vk::DeviceCreateInfo dci({}, qci, {}, dev_exts);
    gpu->device = vk::raii::Device(gpu->physical, dci);
    gpu->queue = vk::raii::Queue(gpu->device, gpu->queue_family, 0);
    gpu->memory = gpu->physical.getMemoryProperties();
    return gpu;
} catch (const vk::SystemError& e) {
    return Error::make(
        std::string("cannot initialise Vulkan: ") + e.what() +
        " (check the Vulkan driver; `vulkaninfo` from vulkan-tools lists what is installed)");
}

HostBuffer create_host_buffer(const Gpu& gpu, vk::DeviceSize size, vk::BufferUsageFlags usage) {
    HostBuffer b;
    b.size = size;
    b.buffer = vk::raii::Buffer(gpu.device, vk::BufferCreateInfo({}, size, usage));
    const auto req = b.buffer.getMemoryRequirements();
    const auto type =
        gpu.memory_type(req.memoryTypeBits, vk::MemoryPropertyFlagBits::eHostVisible |
                                                vk::MemoryPropertyFlagBits::eHostCoherent);
    if (!type)
        throw vk::SystemError(vk::make_error_code(vk::Result::eErrorFeatureNotPresent),
                              "no host-visible coherent memory type");
    b.memory = vk::raii::DeviceMemory(gpu.device, vk::MemoryAllocateInfo(req.size, *type));
    b.buffer.bindMemory(*b.memory, 0);
    b.mapped = static_cast<std::byte*>(b.memory.mapMemory(0, VK_WHOLE_SIZE));
    return b;
}

GpuImage create_image(const Gpu& gpu, std::uint32_t width, std::uint32_t height, vk::Format format,
                      vk::ImageUsageFlags usage) {
    GpuImage img;
    img.format = format;
    img.width = width;
    img.height = height;
    vk::ImageCreateInfo ici({}, vk::ImageType::e2D, format, vk::Extent3D(width, height, 1), 1, 1,
                            vk::SampleCountFlagBits::e1, vk::ImageTiling::eOptimal, usage);
    img.image = vk::raii::Image(gpu.device, ici);
    const auto req = img.image.getMemoryRequirements();
    auto type = gpu.memory_type(req.memoryTypeBits, vk::MemoryPropertyFlagBits::eDeviceLocal);
    if (!type) type = gpu.memory_type(req.memoryTypeBits, {});
    if (!type)
        throw vk::SystemError(vk::make_error_code(vk::Result::eErrorFeatureNotPresent),
                              "no memory type for an image");
    img.memory = vk::raii::DeviceMemory(gpu.device, vk::MemoryAllocateInfo(req.size, *type));
    img.image.bindMemory(*img.memory, 0);
    img.view = vk::raii::ImageView(
        gpu.device, vk::ImageViewCreateInfo(
                        {}, *img.image, vk::ImageViewType::e2D, format, {},
                        vk::ImageSubresourceRange(vk::ImageAspectFlagBits::eColor, 0, 1, 0, 1)));
    return img;
}

void transition(const vk::raii::CommandBuffer& cmd, vk::Image image, vk::ImageLayout from,
                vk::ImageLayout to, vk::AccessFlags src_access, vk::PipelineStageFlags src_stage,
                vk::AccessFlags dst_access, vk::PipelineStageFlags dst_stage) {
    vk::ImageMemoryBarrier b(
        src_access, dst_access, from, to, VK_QUEUE_FAMILY_IGNORED, VK_QUEUE_FAMILY_IGNORED, image,
        vk::ImageSubresourceRange(vk::ImageAspectFlagBits::eColor, 0, 1, 0, 1));
    cmd.pipelineBarrier(src_stage, dst_stage, {}, {}, {}, b);
}

void transition(const vk::raii::CommandBuffer& cmd, GpuImage& image, vk::ImageLayout to,
                vk::AccessFlags src_access, vk::PipelineStageFlags src_stage,
                vk::AccessFlags dst_access, vk::PipelineStageFlags dst_stage) {
    transition(cmd, *image.image, image.layout, to, src_access, src_stage, dst_access, dst_stage);
    image.layout = to;
}

OneShot::OneShot(const Gpu& gpu)
    : gpu_(&gpu),
      pool_(gpu.device, vk::CommandPoolCreateInfo(
                            vk::CommandPoolCreateFlagBits::eResetCommandBuffer, gpu.queue_family)),
      buffers_(gpu.device,
               vk::CommandBufferAllocateInfo(*pool_, vk::CommandBufferLevel::ePrimary, 1)),
      fence_(gpu.device, vk::FenceCreateInfo()) {}

const vk::raii::CommandBuffer& OneShot::begin() {
    buffers_[0].reset();
    buffers_[0].begin(vk::CommandBufferBeginInfo(vk::CommandBufferUsageFlagBits::eOneTimeSubmit));
    return buffers_[0];
}

void OneShot::submit_and_wait() {
    buffers_[0].end();
    const vk::CommandBuffer cb = *buffers_[0];
    gpu_->device.resetFences(*fence_);
    gpu_->queue.submit(vk::SubmitInfo({}, {}, cb), *fence_);
    (void)gpu_->device.waitForFences(*fence_, VK_TRUE, UINT64_MAX);
}

vk::Format texture_format(protocol::PixelFormat f) {
    switch (f) {
        case protocol::PixelFormat::bgra8:
            return vk::Format::eB8G8R8A8Unorm;
        // R in bits 0-9 ... A in 30-31 is Vulkan's A2B10G10R10 (named from the top bit).
        case protocol::PixelFormat::rgb10a2:
            return vk::Format::eA2B10G10R10UnormPack32;
        case protocol::PixelFormat::rgba16f:
            return vk::Format::eR16G16B16A16Sfloat;
    }
    return vk::Format::eUndefined;
}

}  // namespace porthole::client::vkr
