// The Vulkan renderer behind render/renderer.hpp.
#include "render/renderer.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "porthole/util/adaptive_wait.hpp"
#include "render/cursor_image.hpp"
#include "render/frame_texture.hpp"
#include "render/scaling.hpp"
#include "render/text_image.hpp"
#include "render/vk_common.hpp"

namespace porthole::client {

namespace {

constexpr std::uint32_t kQuadVert[] = {
#include "quad.vert.spv.inc"
};
constexpr std::uint32_t kTexturedFrag[] = {
#include "textured.frag.spv.inc"
};

struct PushConstants {
    std::uint32_t mode = 0;  // 0 as is, 1 opaque frame, 2 HDR frame
    std::uint32_t srgb_target = 0;
};

enum class Blend { none, alpha, invert };

// A sampled BGRA8 image drawn over the frame (cursor, text), with its set.
struct Sprite {
    std::optional<vkr::GpuImage> image;
    vk::raii::DescriptorSet set{nullptr};
    // Text sprites: their lines and font size at density 1, rasterised again
    // when the window's pixel density changes.
    std::vector<std::string> lines;
    std::uint32_t base_px = 0;
};

// How long draw() waits for a swapchain image before giving the loop back
// (VK_TIMEOUT: try again on the next round, like an out-of-date swapchain).
constexpr std::uint64_t kAcquireTimeoutNs = 2'000'000;

// One draw in flight: its own commands, fence and acquire semaphore.
struct InFlight {
    vk::raii::CommandBuffer cmd{nullptr};
    vk::raii::Fence fence{nullptr};
    vk::raii::Semaphore acquired{nullptr};
};

// One presentable image of the target with what drawing to it needs.
struct TargetImage {
    vk::Image image;
    vk::raii::ImageView view{nullptr};
    vk::raii::Framebuffer framebuffer{nullptr};
    vk::raii::Semaphore rendered{nullptr};
};

class VulkanRenderer final : public Renderer {
  public:
    VulkanRenderer(const RendererConfig& config, SurfaceProvider* window,
                   std::span<std::byte> region, std::unique_ptr<vkr::Gpu> gpu)
        : config_(config),
          window_(window),
          gpu_(std::move(gpu)),
          frame_(*gpu_, region, config.force_staging, std::max(config.frames_in_flight, 1U)),
          uploads_(*gpu_) {
        choose_target_format();
        create_pipelines();
        auto pool = vk::raii::CommandPool(
            gpu_->device,
            vk::CommandPoolCreateInfo(vk::CommandPoolCreateFlagBits::eResetCommandBuffer,
                                      gpu_->queue_family));
        cmd_pool_ = std::move(pool);
        vk::raii::CommandBuffers cmds(
            gpu_->device,
            vk::CommandBufferAllocateInfo(*cmd_pool_, vk::CommandBufferLevel::ePrimary,
                                          std::max(config.frames_in_flight, 1U)));
        for (auto& cmd : cmds) {
            InFlight f;
            f.cmd = std::move(cmd);
            f.fence = vk::raii::Fence(gpu_->device,
                                      vk::FenceCreateInfo(vk::FenceCreateFlagBits::eSignaled));
            f.acquired = vk::raii::Semaphore(gpu_->device, vk::SemaphoreCreateInfo());
            inflight_.push_back(std::move(f));
        }
        if (window_) choose_present_mode();
    }

    ~VulkanRenderer() override {
        if (*gpu_->device) gpu_->device.waitIdle();
    }

    Result<UploadState> upload_frame(const protocol::FrameView& view,
                                     protocol::FrameReader& reader) override {
        auto ok = frame_.upload(view, reader);
        // A recreated texture (after waitIdle) gets its descriptor rewritten
        // before any draw can use it.
        for (std::uint32_t i = 0; i < frame_sets_.size(); ++i) {
            if (const auto* img = frame_.image(i);
                img != nullptr && frame_.generation(i) != bound_generation_[i]) {
                bind_texture(frame_sets_[i], *img->view, config_.filter == Filter::nearest);
                bound_generation_[i] = frame_.generation(i);
            }
        }
        return ok;
    }

    UploadState finish_upload(protocol::FrameReader& reader, bool wait) override {
        return frame_.finish(reader, wait);
    }
    [[nodiscard]] bool upload_pending() const override { return frame_.pending(); }

    void forget_frame() override { frame_.forget(); }

    void set_cursor_shape(const protocol::CursorShape& shape) override {
        cursor_ = convert_cursor(shape);
        wait_frames();
        upload_sprite(cursor_blend_, cursor_.width, cursor_.height, cursor_.blend);
        upload_sprite(cursor_invert_, cursor_.width, cursor_.height, cursor_.invert);
    }
    void set_cursor_state(const protocol::CursorState& state) override { cursor_state_ = state; }

    void set_overlay(const std::vector<std::string>& lines,
                     std::span<const float> frame_ms) override {
        overlay_graph_.assign(frame_ms.begin(), frame_ms.end());
        set_text(overlay_, lines, kOverlayTextPx);
    }
    void set_message(const std::vector<std::string>& lines) override {
        set_text(message_, lines, kMessageTextPx);
    }
    void set_help(const std::vector<std::string>& lines) override {
        set_text(help_, lines, kOverlayTextPx);
    }

    void target_resized() override { rebuild_target_ = true; }

    Result<DrawResult> draw(bool readback) override try {
        DrawResult out;
        auto& frame = inflight_[next_inflight_];
        // The bound on draws in flight: this slot's previous draw, frames_in_flight draws ago.
        (void)gpu_->device.waitForFences(*frame.fence, VK_TRUE, UINT64_MAX);
        std::uint32_t index = 0;
        if (window_) {
            if (rebuild_target_ || !swapchain_.has_value()) {
                if (!rebuild_swapchain()) return out;  // minimised: nothing to draw on
            }
            try {
                auto [res, i] = swapchain_->acquireNextImage(kAcquireTimeoutNs, *frame.acquired);
                if (res == vk::Result::eTimeout || res == vk::Result::eNotReady) return out;
                if (res == vk::Result::eSuboptimalKHR) rebuild_target_ = true;
                index = i;
            } catch (const vk::OutOfDateKHRError&) {
                rebuild_target_ = true;
                return out;
            }
        } else {
            ensure_offscreen();
        }
        auto& target = targets_[index];
        const auto& cmd = frame.cmd;
        cmd.reset();
        cmd.begin(vk::CommandBufferBeginInfo(vk::CommandBufferUsageFlagBits::eOneTimeSubmit));
        record(cmd, target);
        if (readback) record_readback(cmd, target);
        cmd.end();

        gpu_->device.resetFences(*frame.fence);
        // The frame may reach the image by a copy (transfer stage) before the render pass.
        const vk::PipelineStageFlags wait_stage =
            vk::PipelineStageFlagBits::eColorAttachmentOutput |
            vk::PipelineStageFlagBits::eTransfer;
        const vk::CommandBuffer cb = *cmd;
        vk::SubmitInfo submit;
        submit.setCommandBuffers(cb);
        const vk::Semaphore wait_sem = *frame.acquired;
        const vk::Semaphore done_sem = *target.rendered;
        if (window_) {
            submit.setWaitSemaphores(wait_sem);
            submit.setWaitDstStageMask(wait_stage);
            submit.setSignalSemaphores(done_sem);
        }
        gpu_->queue.submit(submit, *frame.fence);
        next_inflight_ = (next_inflight_ + 1) % inflight_.size();
        if (window_) {
            const vk::SwapchainKHR sc = **swapchain_;
            vk::PresentInfoKHR present(done_sem, sc, index);
            try {
                if (gpu_->queue.presentKHR(present) == vk::Result::eSuboptimalKHR)
                    rebuild_target_ = true;
            } catch (const vk::OutOfDateKHRError&) {
                rebuild_target_ = true;
            }
        }
        out.present_ns = monotonic_ns();
        out.presented = true;
        if (readback) {
            (void)gpu_->device.waitForFences(*frame.fence, VK_TRUE, UINT64_MAX);
            out.readback = take_readback();
        }
        return out;
    } catch (const vk::SystemError& e) {
        return Error::make(std::string("drawing failed: ") + e.what());
    }

    [[nodiscard]] CopyPath copy_path() const override { return frame_.path(); }
    [[nodiscard]] std::uint64_t cpu_bytes_copied() const override { return frame_.cpu_bytes(); }
    [[nodiscard]] std::uint64_t gpu_bytes_copied() const override { return frame_.gpu_bytes(); }
    [[nodiscard]] PresentMode present_mode() const override { return present_mode_; }
    [[nodiscard]] std::string device_name() const override { return gpu_->name; }
    [[nodiscard]] std::uint64_t frame_serial() const override {
        return frame_.front() != nullptr ? frame_.front_serial() : 0;
    }

  private:
    // Every queued draw done: before replacing an image they may sample.
    void wait_frames() {
        for (const auto& f : inflight_)
            (void)gpu_->device.waitForFences(*f.fence, VK_TRUE, UINT64_MAX);
    }

    void choose_target_format() {
        if (!window_) {
            target_format_ = vk::Format::eB8G8R8A8Unorm;
            return;
        }
        const auto formats = gpu_->physical.getSurfaceFormatsKHR(*gpu_->surface);
        auto pick = formats.front();
        for (auto want : {vk::Format::eB8G8R8A8Unorm, vk::Format::eR8G8B8A8Unorm}) {
            auto it = std::find_if(formats.begin(), formats.end(), [&](const auto& f) {
                return f.format == want && f.colorSpace == vk::ColorSpaceKHR::eSrgbNonlinear;
            });
            if (it != formats.end()) {
                pick = *it;
                break;
            }
        }
        target_format_ = pick.format;
        color_space_ = pick.colorSpace;
        srgb_target_ =
            pick.format == vk::Format::eB8G8R8A8Srgb || pick.format == vk::Format::eR8G8B8A8Srgb;
        if (pick.format != vk::Format::eB8G8R8A8Unorm &&
            pick.format != vk::Format::eR8G8B8A8Unorm && !srgb_target_) {
            spdlog::warn("the window offers no 8-bit BGRA/RGBA format; using {}",
                         vk::to_string(pick.format));
        }
    }

    void choose_present_mode() {
        const auto modes = gpu_->physical.getSurfacePresentModesKHR(*gpu_->surface);
        const vk::PresentModeKHR want =
            config_.present_mode == PresentMode::mailbox     ? vk::PresentModeKHR::eMailbox
            : config_.present_mode == PresentMode::immediate ? vk::PresentModeKHR::eImmediate
                                                             : vk::PresentModeKHR::eFifo;
        if (std::find(modes.begin(), modes.end(), want) != modes.end()) {
            vk_present_mode_ = want;
            present_mode_ = config_.present_mode;
        } else {
            spdlog::warn("present mode {} is not supported by {} here; using fifo",
                         to_string(config_.present_mode), gpu_->name);
            vk_present_mode_ = vk::PresentModeKHR::eFifo;
            present_mode_ = PresentMode::fifo;
        }
    }

    vk::raii::ShaderModule shader(std::span<const std::uint32_t> code) {
        return vk::raii::ShaderModule(
            gpu_->device, vk::ShaderModuleCreateInfo({}, code.size_bytes(), code.data()));
    }

    void create_pipelines() {
        const bool present = window_ != nullptr;
        vk::AttachmentDescription color(
            {}, target_format_, vk::SampleCountFlagBits::e1, vk::AttachmentLoadOp::eClear,
            vk::AttachmentStoreOp::eStore, vk::AttachmentLoadOp::eDontCare,
            vk::AttachmentStoreOp::eDontCare, vk::ImageLayout::eUndefined,
            present ? vk::ImageLayout::ePresentSrcKHR : vk::ImageLayout::eTransferSrcOptimal);
        vk::AttachmentReference ref(0, vk::ImageLayout::eColorAttachmentOptimal);
        vk::SubpassDescription subpass({}, vk::PipelineBindPoint::eGraphics, {}, ref);
        const std::array deps = {
            // In: the previous frame in flight wrote (and may have read back) the
            // same offscreen image; a copied frame was written by a transfer.
            vk::SubpassDependency(VK_SUBPASS_EXTERNAL, 0,
                                  vk::PipelineStageFlagBits::eColorAttachmentOutput |
                                      vk::PipelineStageFlagBits::eTransfer,
                                  vk::PipelineStageFlagBits::eColorAttachmentOutput,
                                  vk::AccessFlagBits::eTransferRead |
                                      vk::AccessFlagBits::eTransferWrite |
                                      vk::AccessFlagBits::eColorAttachmentWrite,
                                  vk::AccessFlagBits::eColorAttachmentWrite |
                                      vk::AccessFlagBits::eColorAttachmentRead),
            // Out: the read-back copies the image after the final layout transition.
            vk::SubpassDependency(
                0, VK_SUBPASS_EXTERNAL, vk::PipelineStageFlagBits::eColorAttachmentOutput,
                vk::PipelineStageFlagBits::eTransfer, vk::AccessFlagBits::eColorAttachmentWrite,
                vk::AccessFlagBits::eTransferRead)};
        render_pass_ =
            vk::raii::RenderPass(gpu_->device, vk::RenderPassCreateInfo({}, color, subpass, deps));
        // The same pass over a frame already copied in (compatible with every
        // pipeline and framebuffer: only the load op and initial layout differ).
        color.loadOp = vk::AttachmentLoadOp::eLoad;
        color.initialLayout = vk::ImageLayout::eColorAttachmentOptimal;
        load_pass_ =
            vk::raii::RenderPass(gpu_->device, vk::RenderPassCreateInfo({}, color, subpass, deps));

        vk::DescriptorSetLayoutBinding binding(0, vk::DescriptorType::eCombinedImageSampler, 1,
                                               vk::ShaderStageFlagBits::eFragment);
        set_layout_ = vk::raii::DescriptorSetLayout(gpu_->device,
                                                    vk::DescriptorSetLayoutCreateInfo({}, binding));
        vk::PushConstantRange range(vk::ShaderStageFlagBits::eFragment, 0, sizeof(PushConstants));
        const vk::DescriptorSetLayout sl = *set_layout_;
        pipeline_layout_ =
            vk::raii::PipelineLayout(gpu_->device, vk::PipelineLayoutCreateInfo({}, sl, range));

        auto vert = shader(kQuadVert);
        auto frag = shader(kTexturedFrag);
        std::array stages = {
            vk::PipelineShaderStageCreateInfo({}, vk::ShaderStageFlagBits::eVertex, *vert, "main"),
            vk::PipelineShaderStageCreateInfo({}, vk::ShaderStageFlagBits::eFragment, *frag,
                                              "main")};
        vk::PipelineVertexInputStateCreateInfo vertex_input;
        vk::PipelineInputAssemblyStateCreateInfo assembly({},
                                                          vk::PrimitiveTopology::eTriangleStrip);
        vk::PipelineViewportStateCreateInfo viewport({}, 1, nullptr, 1, nullptr);
        vk::PipelineRasterizationStateCreateInfo raster(
            {}, VK_FALSE, VK_FALSE, vk::PolygonMode::eFill, vk::CullModeFlagBits::eNone,
            vk::FrontFace::eCounterClockwise, VK_FALSE, 0, 0, 0, 1.0F);
        vk::PipelineMultisampleStateCreateInfo multisample;
        std::array dynamic = {vk::DynamicState::eViewport, vk::DynamicState::eScissor};
        vk::PipelineDynamicStateCreateInfo dyn({}, dynamic);
        const auto all = vk::ColorComponentFlagBits::eR | vk::ColorComponentFlagBits::eG |
                         vk::ColorComponentFlagBits::eB | vk::ColorComponentFlagBits::eA;
        auto make = [&](Blend b) {
            vk::PipelineColorBlendAttachmentState att;
            att.colorWriteMask = all;
            if (b == Blend::alpha) {
                att.setBlendEnable(VK_TRUE)
                    .setSrcColorBlendFactor(vk::BlendFactor::eSrcAlpha)
                    .setDstColorBlendFactor(vk::BlendFactor::eOneMinusSrcAlpha)
                    .setColorBlendOp(vk::BlendOp::eAdd)
                    .setSrcAlphaBlendFactor(vk::BlendFactor::eZero)
                    .setDstAlphaBlendFactor(vk::BlendFactor::eOne)
                    .setAlphaBlendOp(vk::BlendOp::eAdd);
            } else if (b == Blend::invert) {
                att.setBlendEnable(VK_TRUE)
                    .setSrcColorBlendFactor(vk::BlendFactor::eOneMinusDstColor)
                    .setDstColorBlendFactor(vk::BlendFactor::eOneMinusSrcColor)
                    .setColorBlendOp(vk::BlendOp::eAdd)
                    .setSrcAlphaBlendFactor(vk::BlendFactor::eZero)
                    .setDstAlphaBlendFactor(vk::BlendFactor::eOne)
                    .setAlphaBlendOp(vk::BlendOp::eAdd);
            }
            vk::PipelineColorBlendStateCreateInfo blend({}, VK_FALSE, vk::LogicOp::eCopy, att);
            vk::GraphicsPipelineCreateInfo info({}, stages, &vertex_input, &assembly, nullptr,
                                                &viewport, &raster, &multisample, nullptr, &blend,
                                                &dyn, *pipeline_layout_, *render_pass_, 0);
            return vk::raii::Pipeline(gpu_->device, nullptr, info);
        };
        opaque_ = make(Blend::none);
        alpha_ = make(Blend::alpha);
        invert_ = make(Blend::invert);

        nearest_ = vk::raii::Sampler(gpu_->device, sampler_info(vk::Filter::eNearest));
        linear_ = vk::raii::Sampler(gpu_->device, sampler_info(vk::Filter::eLinear));
        vk::DescriptorPoolSize size(vk::DescriptorType::eCombinedImageSampler, 8);
        pool_ = vk::raii::DescriptorPool(
            gpu_->device, vk::DescriptorPoolCreateInfo(
                              vk::DescriptorPoolCreateFlagBits::eFreeDescriptorSet, 8, size));
        for (auto* set : {&frame_sets_[0], &frame_sets_[1], &cursor_blend_.set, &cursor_invert_.set,
                          &overlay_.set, &message_.set, &help_.set}) {
            vk::raii::DescriptorSets sets(gpu_->device, vk::DescriptorSetAllocateInfo(*pool_, sl));
            *set = std::move(sets[0]);
        }
    }

    static vk::SamplerCreateInfo sampler_info(vk::Filter f) {
        vk::SamplerCreateInfo s;
        s.magFilter = s.minFilter = f;
        s.mipmapMode = vk::SamplerMipmapMode::eNearest;
        s.addressModeU = s.addressModeV = s.addressModeW = vk::SamplerAddressMode::eClampToEdge;
        s.maxLod = 0;
        return s;
    }

    void bind_texture(vk::raii::DescriptorSet& set, vk::ImageView view, bool nearest) {
        vk::DescriptorImageInfo info(nearest ? *nearest_ : *linear_, view,
                                     vk::ImageLayout::eShaderReadOnlyOptimal);
        vk::WriteDescriptorSet write(*set, 0, 0, vk::DescriptorType::eCombinedImageSampler, info);
        gpu_->device.updateDescriptorSets(write, {});
    }

    void upload_sprite(Sprite& sprite, std::uint32_t w, std::uint32_t h,
                       std::span<const std::byte> bgra) {
        if (w == 0 || h == 0) {
            sprite.image.reset();
            return;
        }
        if (!sprite.image || sprite.image->width != w || sprite.image->height != h) {
            sprite.image = vkr::create_image(
                *gpu_, w, h, vk::Format::eB8G8R8A8Unorm,
                vk::ImageUsageFlagBits::eSampled | vk::ImageUsageFlagBits::eTransferDst);
            bind_texture(sprite.set, *sprite.image->view, true);
        }
        auto staging =
            vkr::create_host_buffer(*gpu_, bgra.size(), vk::BufferUsageFlagBits::eTransferSrc);
        std::memcpy(staging.mapped, bgra.data(), bgra.size());
        const auto& cmd = uploads_.begin();
        vkr::transition(cmd, *sprite.image, vk::ImageLayout::eTransferDstOptimal,
                        vk::AccessFlagBits::eShaderRead, vk::PipelineStageFlagBits::eFragmentShader,
                        vk::AccessFlagBits::eTransferWrite, vk::PipelineStageFlagBits::eTransfer);
        vk::BufferImageCopy region(
            0, 0, 0, vk::ImageSubresourceLayers(vk::ImageAspectFlagBits::eColor, 0, 0, 1), {},
            vk::Extent3D(w, h, 1));
        cmd.copyBufferToImage(*staging.buffer, *sprite.image->image,
                              vk::ImageLayout::eTransferDstOptimal, region);
        vkr::transition(cmd, *sprite.image, vk::ImageLayout::eShaderReadOnlyOptimal,
                        vk::AccessFlagBits::eTransferWrite, vk::PipelineStageFlagBits::eTransfer,
                        vk::AccessFlagBits::eShaderRead,
                        vk::PipelineStageFlagBits::eFragmentShader);
        uploads_.submit_and_wait();
    }

    void set_text(Sprite& sprite, const std::vector<std::string>& lines, std::uint32_t base_px) {
        wait_frames();
        sprite.lines = lines;
        sprite.base_px = base_px;
        const auto px = text_pixel_size(base_px, density_);
        // The help panel is centred over everything: in a narrow window its
        // text gets smaller instead of being cut at the edges.
        constexpr std::uint32_t kMargin = 8;
        const auto img =
            &sprite == &overlay_ ? render_overlay(lines, overlay_graph_, px)
            : &sprite == &help_ && extent_.width > 2 * kMargin && extent_.height > 2 * kMargin
                ? render_text_fitting(lines, px, extent_.width - 2 * kMargin,
                                      extent_.height - 2 * kMargin)
                : render_text(lines, px);
        try {
            upload_sprite(sprite, img.width, img.height, img.bgra);
        } catch (const vk::SystemError& e) {
            spdlog::warn("cannot upload text: {}", e.what());
            sprite.image.reset();
        }
    }

    bool rebuild_swapchain() {
        gpu_->device.waitIdle();
        rebuild_target_ = false;
        const auto caps = gpu_->physical.getSurfaceCapabilitiesKHR(*gpu_->surface);
        vk::Extent2D extent = caps.currentExtent;
        if (extent.width == UINT32_MAX) {
            const auto [w, h] = window_->drawable_size();
            extent.width = std::clamp(w, caps.minImageExtent.width, caps.maxImageExtent.width);
            extent.height = std::clamp(h, caps.minImageExtent.height, caps.maxImageExtent.height);
        }
        if (extent.width == 0 || extent.height == 0) return false;
        std::uint32_t count = std::max(caps.minImageCount + 1, 2U);
        if (caps.maxImageCount != 0) count = std::min(count, caps.maxImageCount);
        vk::ImageUsageFlags usage = vk::ImageUsageFlagBits::eColorAttachment;
        readback_supported_ =
            static_cast<bool>(caps.supportedUsageFlags & vk::ImageUsageFlagBits::eTransferSrc);
        if (readback_supported_) usage |= vk::ImageUsageFlagBits::eTransferSrc;
        auto alpha = vk::CompositeAlphaFlagBitsKHR::eOpaque;
        if (!(caps.supportedCompositeAlpha & alpha))
            alpha = vk::CompositeAlphaFlagBitsKHR::eInherit;
        // The copy carries the guest's alpha byte: only where the compositor ignores it.
        copy_supported_ =
            static_cast<bool>(caps.supportedUsageFlags & vk::ImageUsageFlagBits::eTransferDst) &&
            alpha == vk::CompositeAlphaFlagBitsKHR::eOpaque;
        if (copy_supported_) usage |= vk::ImageUsageFlagBits::eTransferDst;
        vk::SwapchainCreateInfoKHR sci({}, *gpu_->surface, count, target_format_, color_space_,
                                       extent, 1, usage, vk::SharingMode::eExclusive, {},
                                       caps.currentTransform, alpha, vk_present_mode_, VK_TRUE,
                                       swapchain_ ? **swapchain_ : vk::SwapchainKHR{});
        vk::raii::SwapchainKHR next(gpu_->device, sci);
        targets_.clear();
        swapchain_ = std::move(next);
        const bool resized = extent.width != extent_.width || extent.height != extent_.height;
        extent_ = extent;
        // Text at the window's pixel density (HiDPI: more pixels per window unit).
        if (const float d = window_->pixel_density(); d != density_) {
            density_ = d;
            for (Sprite* t : {&overlay_, &message_, &help_})
                if (!t->lines.empty()) set_text(*t, std::vector<std::string>(t->lines), t->base_px);
        } else if (resized && !help_.lines.empty()) {  // the help panel fits the new size
            set_text(help_, std::vector<std::string>(help_.lines), help_.base_px);
        }
        for (auto image : swapchain_->getImages())
            targets_.push_back(make_target(image));
        spdlog::debug("swapchain {}x{}, {} images, {}", extent.width, extent.height,
                      targets_.size(), vk::to_string(vk_present_mode_));
        return true;
    }

    TargetImage make_target(vk::Image image) {
        TargetImage t;
        t.image = image;
        t.view = vk::raii::ImageView(
            gpu_->device,
            vk::ImageViewCreateInfo(
                {}, image, vk::ImageViewType::e2D, target_format_, {},
                vk::ImageSubresourceRange(vk::ImageAspectFlagBits::eColor, 0, 1, 0, 1)));
        const vk::ImageView v = *t.view;
        t.framebuffer = vk::raii::Framebuffer(
            gpu_->device,
            vk::FramebufferCreateInfo({}, *render_pass_, v, extent_.width, extent_.height, 1));
        t.rendered = vk::raii::Semaphore(gpu_->device, vk::SemaphoreCreateInfo());
        return t;
    }

    void ensure_offscreen() {
        std::uint32_t w = config_.headless_width, h = config_.headless_height;
        if (w == 0 || h == 0) {
            const auto* img = frame_.front();
            w = img ? img->width : 640;
            h = img ? img->height : 360;
        }
        if (offscreen_ && offscreen_->width == w && offscreen_->height == h) return;
        gpu_->device.waitIdle();  // a resize: queued draws still render to the old image
        targets_.clear();
        offscreen_ = vkr::create_image(*gpu_, w, h, target_format_,
                                       vk::ImageUsageFlagBits::eColorAttachment |
                                           vk::ImageUsageFlagBits::eTransferSrc |
                                           vk::ImageUsageFlagBits::eTransferDst);
        extent_ = vk::Extent2D(w, h);
        readback_supported_ = true;
        copy_supported_ = true;
        targets_.push_back(make_target(*offscreen_->image));
    }

    void draw_quad(const vk::raii::CommandBuffer& cmd, const PixelRect& r,
                   const vk::Rect2D& scissor, const vk::raii::Pipeline& pipeline,
                   const vk::raii::DescriptorSet& set, std::uint32_t mode) {
        cmd.setViewport(0,
                        vk::Viewport(static_cast<float>(r.x), static_cast<float>(r.y),
                                     static_cast<float>(r.w), static_cast<float>(r.h), 0.0F, 1.0F));
        cmd.setScissor(0, scissor);
        cmd.bindPipeline(vk::PipelineBindPoint::eGraphics, *pipeline);
        cmd.bindDescriptorSets(vk::PipelineBindPoint::eGraphics, *pipeline_layout_, 0, {*set}, {});
        const PushConstants pc{mode, srgb_target_ ? 1U : 0U};
        cmd.pushConstants<PushConstants>(*pipeline_layout_, vk::ShaderStageFlagBits::eFragment, 0,
                                         pc);
        cmd.draw(4, 1, 0, 0);
    }

    static vk::Rect2D clip(const PixelRect& r, vk::Extent2D extent) {
        const std::int64_t x0 = std::max<std::int64_t>(r.x, 0), y0 = std::max<std::int64_t>(r.y, 0);
        const std::int64_t x1 = std::min<std::int64_t>(std::int64_t{r.x} + r.w, extent.width);
        const std::int64_t y1 = std::min<std::int64_t>(std::int64_t{r.y} + r.h, extent.height);
        if (x1 <= x0 || y1 <= y0) return vk::Rect2D({0, 0}, {0, 0});
        return vk::Rect2D(
            {static_cast<std::int32_t>(x0), static_cast<std::int32_t>(y0)},
            {static_cast<std::uint32_t>(x1 - x0), static_cast<std::uint32_t>(y1 - y0)});
    }

    // A frame shown 1:1, whole, in the target's own format needs no shading:
    // a copy moves the same bits for a fraction of the cost (on lavapipe a
    // full-screen textured quad costs some 190 memcpys of the frame).
    [[nodiscard]] bool copies_frame(const vkr::GpuImage& img, const PixelRect& r) const {
        return copy_supported_ && !srgb_target_ && img.format == target_format_ &&
               r.w == img.width && r.h == img.height && r.x >= 0 && r.y >= 0 &&
               std::uint64_t{static_cast<std::uint32_t>(r.x)} + r.w <= extent_.width &&
               std::uint64_t{static_cast<std::uint32_t>(r.y)} + r.h <= extent_.height;
    }

    void copy_frame(const vk::raii::CommandBuffer& cmd, const vkr::GpuImage& img,
                    const PixelRect& r, vk::Image target) {
        using S = vk::PipelineStageFlagBits;
        using A = vk::AccessFlagBits;
        // After the acquire (waited for at transfer too) or the previous draw to this image.
        vkr::transition(cmd, target, vk::ImageLayout::eUndefined,
                        vk::ImageLayout::eTransferDstOptimal,
                        A::eColorAttachmentWrite | A::eTransferWrite,
                        S::eColorAttachmentOutput | S::eTransfer, A::eTransferWrite, S::eTransfer);
        if (r.w != extent_.width || r.h != extent_.height) {
            const vk::ClearColorValue black(std::array<float, 4>{0.0F, 0.0F, 0.0F, 1.0F});
            const vk::ImageSubresourceRange all(vk::ImageAspectFlagBits::eColor, 0, 1, 0, 1);
            cmd.clearColorImage(target, vk::ImageLayout::eTransferDstOptimal, black, all);
            vkr::transition(cmd, target, vk::ImageLayout::eTransferDstOptimal,
                            vk::ImageLayout::eTransferDstOptimal, A::eTransferWrite, S::eTransfer,
                            A::eTransferWrite, S::eTransfer);
        }
        // The texture's last writer (an upload) made it visible to fragment shaders; chain on that.
        vkr::transition(cmd, *img.image, vk::ImageLayout::eShaderReadOnlyOptimal,
                        vk::ImageLayout::eTransferSrcOptimal, {}, S::eFragmentShader,
                        A::eTransferRead, S::eTransfer);
        const vk::ImageSubresourceLayers layer(vk::ImageAspectFlagBits::eColor, 0, 0, 1);
        cmd.copyImage(
            *img.image, vk::ImageLayout::eTransferSrcOptimal, target,
            vk::ImageLayout::eTransferDstOptimal,
            vk::ImageCopy(layer, {}, layer, vk::Offset3D(r.x, r.y, 0), vk::Extent3D(r.w, r.h, 1)));
        vkr::transition(cmd, *img.image, vk::ImageLayout::eTransferSrcOptimal,
                        vk::ImageLayout::eShaderReadOnlyOptimal, {}, S::eTransfer, A::eShaderRead,
                        S::eFragmentShader);
        vkr::transition(cmd, target, vk::ImageLayout::eTransferDstOptimal,
                        vk::ImageLayout::eColorAttachmentOptimal, A::eTransferWrite, S::eTransfer,
                        A::eColorAttachmentRead | A::eColorAttachmentWrite,
                        S::eColorAttachmentOutput);
    }

    void record(const vk::raii::CommandBuffer& cmd, TargetImage& target) {
        last_frame_rect_ = {};
        frame_copied_ = false;
        const auto* img = frame_.front();
        PixelRect rect{};
        if (img) {
            rect =
                place_frame(config_.scale, img->width, img->height, extent_.width, extent_.height);
            frame_copied_ = copies_frame(*img, rect);
            if (frame_copied_) copy_frame(cmd, *img, rect, target.image);
        }
        vk::ClearValue clear(vk::ClearColorValue(std::array<float, 4>{0.0F, 0.0F, 0.0F, 1.0F}));
        cmd.beginRenderPass(
            vk::RenderPassBeginInfo(frame_copied_ ? *load_pass_ : *render_pass_,
                                    *target.framebuffer, vk::Rect2D({0, 0}, extent_), clear),
            vk::SubpassContents::eInline);
        if (img) {
            last_frame_rect_ = rect;
            const std::uint32_t mode = frame_.format() == protocol::PixelFormat::rgba16f ? 2U : 1U;
            const auto scissor = clip(rect, extent_);
            if (scissor.extent.width != 0 && !frame_copied_)
                draw_quad(cmd, rect, scissor, opaque_, frame_sets_[frame_.front_index()], mode);
            if (config_.draw_cursor && cursor_state_.visible && cursor_blend_.image &&
                scissor.extent.width != 0) {
                const PixelRect c = place_cursor(rect, img->width, img->height, cursor_state_.x,
                                                 cursor_state_.y, cursor_.hotspot_x,
                                                 cursor_.hotspot_y, cursor_.width, cursor_.height);
                if (c.w != 0 && c.h != 0) {
                    draw_quad(cmd, c, scissor, alpha_, cursor_blend_.set, 0);
                    if (cursor_.has_invert && cursor_invert_.image)
                        draw_quad(cmd, c, scissor, invert_, cursor_invert_.set, 0);
                }
            }
        }
        const vk::Rect2D full({0, 0}, extent_);
        if (message_.image) {
            const auto& m = *message_.image;
            PixelRect r{static_cast<std::int32_t>((std::int64_t{extent_.width} - m.width) / 2),
                        static_cast<std::int32_t>((std::int64_t{extent_.height} - m.height) / 2),
                        m.width, m.height};
            draw_quad(cmd, r, full, alpha_, message_.set, 0);
        }
        if (overlay_.image) {
            PixelRect r{8, 8, overlay_.image->width, overlay_.image->height};
            draw_quad(cmd, r, full, alpha_, overlay_.set, 0);
        }
        if (help_.image) {  // over everything: shown only while the escape key is held
            const auto& m = *help_.image;
            PixelRect r{static_cast<std::int32_t>((std::int64_t{extent_.width} - m.width) / 2),
                        static_cast<std::int32_t>((std::int64_t{extent_.height} - m.height) / 2),
                        m.width, m.height};
            draw_quad(cmd, r, full, alpha_, help_.set, 0);
        }
        cmd.endRenderPass();
    }

    void record_readback(const vk::raii::CommandBuffer& cmd, TargetImage& target) {
        if (!readback_supported_) return;
        const vk::DeviceSize size = vk::DeviceSize{extent_.width} * extent_.height * 4;
        if (!readback_ || readback_->size < size) {
            readback_.reset();
            readback_ = vkr::create_host_buffer(*gpu_, size, vk::BufferUsageFlagBits::eTransferDst);
        }
        const auto final_layout =
            window_ ? vk::ImageLayout::ePresentSrcKHR : vk::ImageLayout::eTransferSrcOptimal;
        if (window_) {
            vkr::transition(cmd, target.image, final_layout, vk::ImageLayout::eTransferSrcOptimal,
                            vk::AccessFlagBits::eColorAttachmentWrite,
                            vk::PipelineStageFlagBits::eColorAttachmentOutput,
                            vk::AccessFlagBits::eTransferRead,
                            vk::PipelineStageFlagBits::eTransfer);
        } else {
            vkr::transition(cmd, target.image, final_layout, final_layout,
                            vk::AccessFlagBits::eColorAttachmentWrite,
                            vk::PipelineStageFlagBits::eColorAttachmentOutput,
                            vk::AccessFlagBits::eTransferRead,
                            vk::PipelineStageFlagBits::eTransfer);
        }
        vk::BufferImageCopy region(
            0, 0, 0, vk::ImageSubresourceLayers(vk::ImageAspectFlagBits::eColor, 0, 0, 1), {},
            vk::Extent3D(extent_.width, extent_.height, 1));
        cmd.copyImageToBuffer(target.image, vk::ImageLayout::eTransferSrcOptimal,
                              *readback_->buffer, region);
        vkr::transition(cmd, target.image, vk::ImageLayout::eTransferSrcOptimal, final_layout,
                        vk::AccessFlagBits::eTransferRead, vk::PipelineStageFlagBits::eTransfer, {},
                        vk::PipelineStageFlagBits::eBottomOfPipe);
        readback_pending_ = true;
    }

    std::optional<ReadbackImage> take_readback() {
        if (!readback_pending_) return std::nullopt;
        readback_pending_ = false;
        ReadbackImage img;
        img.width = extent_.width;
        img.height = extent_.height;
        img.stride = img.width * 4;
        img.frame_rect = last_frame_rect_;
        img.frame_serial = frame_serial();
        if (const auto* f = frame_.front()) {
            img.frame_width = f->width;
            img.frame_height = f->height;
        }
        img.bgra.assign(readback_->mapped,
                        readback_->mapped + std::size_t{img.stride} * img.height);
        if (frame_copied_) {  // the copy kept the guest's alpha byte; the shader writes it opaque
            for (std::size_t i = 3; i < img.bgra.size(); i += 4)
                img.bgra[i] = std::byte{0xFF};
        }
        if (target_format_ == vk::Format::eR8G8B8A8Unorm ||
            target_format_ == vk::Format::eR8G8B8A8Srgb) {
            for (std::size_t i = 0; i + 3 < img.bgra.size(); i += 4)
                std::swap(img.bgra[i], img.bgra[i + 2]);
        }
        return img;
    }

    RendererConfig config_;
    SurfaceProvider* window_;
    std::unique_ptr<vkr::Gpu> gpu_;
    vkr::FrameTexture frame_;
    vkr::OneShot uploads_;
    vk::Format target_format_ = vk::Format::eB8G8R8A8Unorm;
    vk::ColorSpaceKHR color_space_ = vk::ColorSpaceKHR::eSrgbNonlinear;
    bool srgb_target_ = false;
    vk::PresentModeKHR vk_present_mode_ = vk::PresentModeKHR::eFifo;
    PresentMode present_mode_ = PresentMode::fifo;

    vk::raii::RenderPass render_pass_{nullptr}, load_pass_{nullptr};
    vk::raii::DescriptorSetLayout set_layout_{nullptr};
    vk::raii::PipelineLayout pipeline_layout_{nullptr};
    vk::raii::Pipeline opaque_{nullptr}, alpha_{nullptr}, invert_{nullptr};
    vk::raii::Sampler nearest_{nullptr}, linear_{nullptr};
    vk::raii::DescriptorPool pool_{nullptr};
    std::array<vk::raii::DescriptorSet, 2> frame_sets_{nullptr, nullptr};  // one a frame texture
    std::array<std::uint64_t, 2> bound_generation_{};
    Sprite cursor_blend_, cursor_invert_, overlay_, message_, help_;
    float density_ = 1.0F;              // the window's drawable pixels per window unit
    std::vector<float> overlay_graph_;  // frame times (ms) drawn under the overlay's lines
    CursorImages cursor_;
    protocol::CursorState cursor_state_{};

    vk::raii::CommandPool cmd_pool_{nullptr};
    std::vector<InFlight> inflight_;
    std::size_t next_inflight_ = 0;

    std::optional<vk::raii::SwapchainKHR> swapchain_;
    std::optional<vkr::GpuImage> offscreen_;
    std::vector<TargetImage> targets_;
    vk::Extent2D extent_{};
    bool rebuild_target_ = false;
    bool readback_supported_ = false;
    bool copy_supported_ = false;  // the target can take the frame by a copy
    std::optional<vkr::HostBuffer> readback_;
    bool readback_pending_ = false;
    PixelRect last_frame_rect_{};
    bool frame_copied_ = false;  // the last recorded draw copied the frame in
};

}  // namespace

Result<std::unique_ptr<Renderer>> Renderer::create(const RendererConfig& config,
                                                   SurfaceProvider* window,
                                                   std::span<std::byte> region) try {
    auto gpu = vkr::create_gpu(window);
    if (!gpu) return gpu.error();
    spdlog::info("Vulkan device: {}", (*gpu)->name);
    std::unique_ptr<Renderer> r =
        std::make_unique<VulkanRenderer>(config, window, region, std::move(*gpu));
    return r;
} catch (const vk::SystemError& e) {
    return Error::make(std::string("cannot set up the renderer: ") + e.what());
}

}  // namespace porthole::client
