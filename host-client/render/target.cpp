// The renderer's two targets behind render/target.hpp.
#include "render/target.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

namespace porthole::client::vkr {

namespace {

// How long acquire() waits for a swapchain image before giving the loop back
// (VK_TIMEOUT: try again on the next round, like an out-of-date swapchain).
constexpr std::uint64_t kAcquireTimeoutNs = 2'000'000;

TargetImage make_image(const Gpu& gpu, vk::Image image, vk::Format format, vk::Extent2D extent,
                       vk::RenderPass pass) {
    TargetImage t;
    t.image = image;
    t.view = vk::raii::ImageView(
        gpu.device, vk::ImageViewCreateInfo(
                        {}, image, vk::ImageViewType::e2D, format, {},
                        vk::ImageSubresourceRange(vk::ImageAspectFlagBits::eColor, 0, 1, 0, 1)));
    const vk::ImageView v = *t.view;
    t.framebuffer = vk::raii::Framebuffer(
        gpu.device, vk::FramebufferCreateInfo({}, pass, v, extent.width, extent.height, 1));
    t.rendered = vk::raii::Semaphore(gpu.device, vk::SemaphoreCreateInfo());
    return t;
}

// The image from `layout` to a transfer source, copied whole into `buffer`, and back.
void record_copy_out(const vk::raii::CommandBuffer& cmd, vk::Image image, vk::ImageLayout layout,
                     vk::Extent2D extent, vk::Buffer buffer) {
    vkr::transition(cmd, image, layout, vk::ImageLayout::eTransferSrcOptimal,
                    vk::AccessFlagBits::eColorAttachmentWrite,
                    vk::PipelineStageFlagBits::eColorAttachmentOutput,
                    vk::AccessFlagBits::eTransferRead, vk::PipelineStageFlagBits::eTransfer);
    vk::BufferImageCopy region(0, 0, 0,
                               vk::ImageSubresourceLayers(vk::ImageAspectFlagBits::eColor, 0, 0, 1),
                               {}, vk::Extent3D(extent.width, extent.height, 1));
    cmd.copyImageToBuffer(image, vk::ImageLayout::eTransferSrcOptimal, buffer, region);
    vkr::transition(cmd, image, vk::ImageLayout::eTransferSrcOptimal, layout,
                    vk::AccessFlagBits::eTransferRead, vk::PipelineStageFlagBits::eTransfer, {},
                    vk::PipelineStageFlagBits::eBottomOfPipe);
}

class SwapchainTarget final : public RenderTarget {
  public:
    SwapchainTarget(Gpu& gpu, SurfaceProvider& window, PresentMode mode)
        : gpu_(gpu), window_(window) {
        choose_format();
        choose_present_mode(mode);
    }

    [[nodiscard]] vk::Format format() const override { return format_; }
    [[nodiscard]] bool srgb() const override { return srgb_; }
    [[nodiscard]] vk::ImageLayout final_layout() const override {
        return vk::ImageLayout::ePresentSrcKHR;
    }
    [[nodiscard]] bool waits_for_acquire() const override { return true; }
    void set_render_pass(vk::RenderPass pass) override { pass_ = pass; }

    Acquired acquire(vk::Semaphore signal, vk::Extent2D /*frame*/) override {
        Acquired a;
        if (rebuild_ || !swapchain_.has_value()) {
            if (!rebuild()) return a;  // minimised: nothing to draw on
            a.rebuilt = true;
        }
        try {
            auto [res, i] = swapchain_->acquireNextImage(kAcquireTimeoutNs, signal);
            if (res == vk::Result::eTimeout || res == vk::Result::eNotReady) return a;
            if (res == vk::Result::eSuboptimalKHR) rebuild_ = true;
            a.index = i;
            a.image = &images_[i];
        } catch (const vk::OutOfDateKHRError&) {
            rebuild_ = true;
        }
        return a;
    }

    void present(const Acquired& image) override {
        const vk::SwapchainKHR sc = **swapchain_;
        const vk::Semaphore done = *image.image->rendered;
        vk::PresentInfoKHR present(done, sc, image.index);
        try {
            if (gpu_.queue.presentKHR(present) == vk::Result::eSuboptimalKHR) rebuild_ = true;
        } catch (const vk::OutOfDateKHRError&) {
            rebuild_ = true;
        }
    }

    void resized() override { rebuild_ = true; }
    [[nodiscard]] vk::Extent2D extent() const override { return extent_; }
    [[nodiscard]] bool can_copy() const override { return copy_supported_; }

    bool record_readback(const vk::raii::CommandBuffer& cmd, const Acquired& image,
                         vk::Buffer buffer) override {
        if (!readback_supported_) return false;
        record_copy_out(cmd, image.image->image, vk::ImageLayout::ePresentSrcKHR, extent_, buffer);
        return true;
    }

    [[nodiscard]] float pixel_density() const override { return window_.pixel_density(); }
    [[nodiscard]] PresentMode present_mode() const override { return present_mode_; }

  private:
    void choose_format() {
        const auto formats = gpu_.physical.getSurfaceFormatsKHR(*gpu_.surface);
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
        format_ = pick.format;
        color_space_ = pick.colorSpace;
        srgb_ =
            pick.format == vk::Format::eB8G8R8A8Srgb || pick.format == vk::Format::eR8G8B8A8Srgb;
        if (pick.format != vk::Format::eB8G8R8A8Unorm &&
            pick.format != vk::Format::eR8G8B8A8Unorm && !srgb_) {
            spdlog::warn("the window offers no 8-bit BGRA/RGBA format; using {}",
                         vk::to_string(pick.format));
        }
    }

    void choose_present_mode(PresentMode mode) {
        const auto modes = gpu_.physical.getSurfacePresentModesKHR(*gpu_.surface);
        const vk::PresentModeKHR want = mode == PresentMode::mailbox ? vk::PresentModeKHR::eMailbox
                                        : mode == PresentMode::immediate
                                            ? vk::PresentModeKHR::eImmediate
                                            : vk::PresentModeKHR::eFifo;
        if (std::find(modes.begin(), modes.end(), want) != modes.end()) {
            vk_present_mode_ = want;
            present_mode_ = mode;
        } else {
            spdlog::warn("present mode {} is not supported by {} here; using fifo", to_string(mode),
                         gpu_.name);
            vk_present_mode_ = vk::PresentModeKHR::eFifo;
            present_mode_ = PresentMode::fifo;
        }
    }

    bool rebuild() {
        gpu_.device.waitIdle();
        rebuild_ = false;
        const auto caps = gpu_.physical.getSurfaceCapabilitiesKHR(*gpu_.surface);
        vk::Extent2D extent = caps.currentExtent;
        if (extent.width == UINT32_MAX) {
            const auto [w, h] = window_.drawable_size();
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
        vk::SwapchainCreateInfoKHR sci({}, *gpu_.surface, count, format_, color_space_, extent, 1,
                                       usage, vk::SharingMode::eExclusive, {},
                                       caps.currentTransform, alpha, vk_present_mode_, VK_TRUE,
                                       swapchain_ ? **swapchain_ : vk::SwapchainKHR{});
        vk::raii::SwapchainKHR next(gpu_.device, sci);
        images_.clear();
        swapchain_ = std::move(next);
        extent_ = extent;
        for (auto image : swapchain_->getImages())
            images_.push_back(make_image(gpu_, image, format_, extent_, pass_));
        spdlog::debug("swapchain {}x{}, {} images, {}", extent.width, extent.height, images_.size(),
                      vk::to_string(vk_present_mode_));
        return true;
    }

    Gpu& gpu_;
    SurfaceProvider& window_;
    vk::RenderPass pass_;
    vk::Format format_ = vk::Format::eB8G8R8A8Unorm;
    vk::ColorSpaceKHR color_space_ = vk::ColorSpaceKHR::eSrgbNonlinear;
    bool srgb_ = false;
    vk::PresentModeKHR vk_present_mode_ = vk::PresentModeKHR::eFifo;
    PresentMode present_mode_ = PresentMode::fifo;
    std::optional<vk::raii::SwapchainKHR> swapchain_;
    std::vector<TargetImage> images_;
    vk::Extent2D extent_{};
    bool rebuild_ = false;
    bool readback_supported_ = false;
    bool copy_supported_ = false;
};

class OffscreenTarget final : public RenderTarget {
  public:
    OffscreenTarget(Gpu& gpu, std::uint32_t width, std::uint32_t height)
        : gpu_(gpu), width_(width), height_(height) {}

    [[nodiscard]] vk::Format format() const override { return vk::Format::eB8G8R8A8Unorm; }
    [[nodiscard]] bool srgb() const override { return false; }
    [[nodiscard]] vk::ImageLayout final_layout() const override {
        return vk::ImageLayout::eTransferSrcOptimal;
    }
    [[nodiscard]] bool waits_for_acquire() const override { return false; }
    void set_render_pass(vk::RenderPass pass) override { pass_ = pass; }

    Acquired acquire(vk::Semaphore /*signal*/, vk::Extent2D frame) override {
        std::uint32_t w = width_, h = height_;
        if (w == 0 || h == 0) {
            w = frame.width != 0 ? frame.width : 640;
            h = frame.height != 0 ? frame.height : 360;
        }
        Acquired a;
        if (!image_ || image_->width != w || image_->height != h) {
            gpu_.device.waitIdle();  // a resize: queued draws still render to the old image
            target_.reset();
            image_.reset();
            image_ = vkr::create_image(gpu_, w, h, format(),
                                       vk::ImageUsageFlagBits::eColorAttachment |
                                           vk::ImageUsageFlagBits::eTransferSrc |
                                           vk::ImageUsageFlagBits::eTransferDst);
            target_ = make_image(gpu_, *image_->image, format(), extent(), pass_);
            a.rebuilt = true;
        }
        a.image = &*target_;
        return a;
    }

    // Nothing to hand over: the draw's fence says when the image is complete.
    void present(const Acquired& /*image*/) override {}
    void resized() override {}
    [[nodiscard]] vk::Extent2D extent() const override {
        return image_ ? vk::Extent2D(image_->width, image_->height) : vk::Extent2D();
    }
    [[nodiscard]] bool can_copy() const override { return true; }

    bool record_readback(const vk::raii::CommandBuffer& cmd, const Acquired& image,
                         vk::Buffer buffer) override {
        record_copy_out(cmd, image.image->image, final_layout(), extent(), buffer);
        return true;
    }

    [[nodiscard]] float pixel_density() const override { return 1.0F; }
    // No presentation engine: every draw is complete when its fence signals.
    [[nodiscard]] PresentMode present_mode() const override { return PresentMode::fifo; }

  private:
    Gpu& gpu_;
    std::uint32_t width_, height_;
    vk::RenderPass pass_;
    std::optional<GpuImage> image_;
    std::optional<TargetImage> target_;
};

}  // namespace

std::unique_ptr<RenderTarget> make_swapchain_target(Gpu& gpu, SurfaceProvider& window,
                                                    PresentMode mode) {
    return std::make_unique<SwapchainTarget>(gpu, window, mode);
}

std::unique_ptr<RenderTarget> make_offscreen_target(Gpu& gpu, std::uint32_t width,
                                                    std::uint32_t height) {
    return std::make_unique<OffscreenTarget>(gpu, width, height);
}

}  // namespace porthole::client::vkr
