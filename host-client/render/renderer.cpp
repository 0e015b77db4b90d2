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
#include "render/target.hpp"
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

// One draw in flight: its own commands, fence and acquire semaphore.
struct InFlight {
    vk::raii::CommandBuffer cmd{nullptr};
    vk::raii::Fence fence{nullptr};
    vk::raii::Semaphore acquired{nullptr};
};

class VulkanRenderer final : public Renderer {
  public:
    VulkanRenderer(const RendererConfig& config, SurfaceProvider* window,
                   std::span<std::byte> region, std::unique_ptr<vkr::Gpu> gpu)
        : config_(config),
          gpu_(std::move(gpu)),
          frame_(*gpu_, region, config.force_staging, std::max(config.frames_in_flight, 1U)),
          uploads_(*gpu_),
          target_(window != nullptr
                      ? vkr::make_swapchain_target(*gpu_, *window, config.present_mode)
                      : vkr::make_offscreen_target(*gpu_, config.headless_width,
                                                   config.headless_height)) {
        target_format_ = target_->format();
        srgb_target_ = target_->srgb();
        create_pipelines();
        target_->set_render_pass(*render_pass_);
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

    void target_resized() override { target_->resized(); }

    Result<DrawResult> draw(bool readback) override try {
        DrawResult out;
        auto& frame = inflight_[next_inflight_];
        // The bound on draws in flight: this slot's previous draw, frames_in_flight draws ago.
        (void)gpu_->device.waitForFences(*frame.fence, VK_TRUE, UINT64_MAX);
        const auto* img = frame_.front();
        const auto acquired = target_->acquire(
            *frame.acquired, img ? vk::Extent2D(img->width, img->height) : vk::Extent2D());
        if (acquired.image == nullptr) return out;  // minimised, busy or out of date
        if (acquired.rebuilt) target_rebuilt();
        auto& target = *acquired.image;
        const auto& cmd = frame.cmd;
        cmd.reset();
        cmd.begin(vk::CommandBufferBeginInfo(vk::CommandBufferUsageFlagBits::eOneTimeSubmit));
        record(cmd, target);
        if (readback) record_readback(cmd, acquired);
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
        if (target_->waits_for_acquire()) {
            submit.setWaitSemaphores(wait_sem);
            submit.setWaitDstStageMask(wait_stage);
            submit.setSignalSemaphores(done_sem);
        }
        gpu_->queue.submit(submit, *frame.fence);
        next_inflight_ = (next_inflight_ + 1) % inflight_.size();
        target_->present(acquired);
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
    [[nodiscard]] PresentMode present_mode() const override { return target_->present_mode(); }
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

    vk::raii::ShaderModule shader(std::span<const std::uint32_t> code) {
        return vk::raii::ShaderModule(
            gpu_->device, vk::ShaderModuleCreateInfo({}, code.size_bytes(), code.data()));
    }

    void create_pipelines() {
        vk::AttachmentDescription color(
            {}, target_format_, vk::SampleCountFlagBits::e1, vk::AttachmentLoadOp::eClear,
            vk::AttachmentStoreOp::eStore, vk::AttachmentLoadOp::eDontCare,
            vk::AttachmentStoreOp::eDontCare, vk::ImageLayout::eUndefined, target_->final_layout());
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

    // The target made its images again: text follows the window's pixel
    // density (HiDPI), and the help panel fits the new size.
    void target_rebuilt() {
        const auto extent = target_->extent();
        const bool resized = extent.width != extent_.width || extent.height != extent_.height;
        extent_ = extent;
        if (const float d = target_->pixel_density(); d != density_) {
            density_ = d;
            for (Sprite* t : {&overlay_, &message_, &help_})
                if (!t->lines.empty()) set_text(*t, std::vector<std::string>(t->lines), t->base_px);
        } else if (resized && !help_.lines.empty()) {
            set_text(help_, std::vector<std::string>(help_.lines), help_.base_px);
        }
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
        return target_->can_copy() && !srgb_target_ && img.format == target_format_ &&
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

    void record(const vk::raii::CommandBuffer& cmd, vkr::TargetImage& target) {
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

    void record_readback(const vk::raii::CommandBuffer& cmd, const vkr::Acquired& target) {
        const vk::DeviceSize size = vk::DeviceSize{extent_.width} * extent_.height * 4;
        if (!readback_ || readback_->size < size) {
            readback_.reset();
            readback_ = vkr::create_host_buffer(*gpu_, size, vk::BufferUsageFlagBits::eTransferDst);
        }
        readback_pending_ = target_->record_readback(cmd, target, *readback_->buffer);
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
    std::unique_ptr<vkr::Gpu> gpu_;
    vkr::FrameTexture frame_;
    vkr::OneShot uploads_;
    std::unique_ptr<vkr::RenderTarget> target_;  // the window's swapchain, or offscreen
    vk::Format target_format_ = vk::Format::eB8G8R8A8Unorm;
    bool srgb_target_ = false;

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

    vk::Extent2D extent_{};  // the target's, as of its last rebuild
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
