// The renderer's two targets (render/target.hpp) through their own interface
// on the real Vulkan device (lavapipe in CI): the offscreen image headless,
// the swapchain on a window under a private Xvfb. Each test draws a cleared
// image with a render pass made for the target, as the renderer does, and
// reads it back.
#include <gtest/gtest.h>

#include <SDL.h>

#include <array>
#include <cstdlib>
#include <memory>

#include "display/sdl_window.hpp"
#include "process.hpp"
#include "render/target.hpp"
#include "render/vk_common.hpp"

namespace {

namespace vkr = porthole::client::vkr;
using porthole::client::PresentMode;

// A render pass that clears the target's image and leaves it in its final layout.
vk::raii::RenderPass clear_pass(const vkr::Gpu& gpu, const vkr::RenderTarget& t) {
    vk::AttachmentDescription color(
        {}, t.format(), vk::SampleCountFlagBits::e1, vk::AttachmentLoadOp::eClear,
        vk::AttachmentStoreOp::eStore, vk::AttachmentLoadOp::eDontCare,
        vk::AttachmentStoreOp::eDontCare, vk::ImageLayout::eUndefined, t.final_layout());
    vk::AttachmentReference ref(0, vk::ImageLayout::eColorAttachmentOptimal);
    vk::SubpassDescription subpass({}, vk::PipelineBindPoint::eGraphics, {}, ref);
    vk::SubpassDependency out(
        0, VK_SUBPASS_EXTERNAL, vk::PipelineStageFlagBits::eColorAttachmentOutput,
        vk::PipelineStageFlagBits::eTransfer, vk::AccessFlagBits::eColorAttachmentWrite,
        vk::AccessFlagBits::eTransferRead);
    return vk::raii::RenderPass(gpu.device, vk::RenderPassCreateInfo({}, color, subpass, out));
}

// Draws `target`'s acquired image cleared to `bgra`, reads it back, hands it
// over, and returns the first pixel read (B, G, R, A), or all zero when the
// target cannot be read.
std::array<std::uint8_t, 4> draw_clear(vkr::Gpu& gpu, vkr::RenderTarget& target,
                                       const vk::raii::RenderPass& pass,
                                       const vk::raii::Semaphore& acquired_sem,
                                       const vkr::Acquired& a, std::array<float, 4> rgba) {
    const auto extent = target.extent();
    auto buffer = vkr::create_host_buffer(gpu, vk::DeviceSize{extent.width} * extent.height * 4,
                                          vk::BufferUsageFlagBits::eTransferDst);
    vk::raii::CommandPool pool(gpu.device, vk::CommandPoolCreateInfo({}, gpu.queue_family));
    vk::raii::CommandBuffers cmds(
        gpu.device, vk::CommandBufferAllocateInfo(*pool, vk::CommandBufferLevel::ePrimary, 1));
    const auto& cmd = cmds[0];
    cmd.begin(vk::CommandBufferBeginInfo(vk::CommandBufferUsageFlagBits::eOneTimeSubmit));
    const vk::ClearValue clear{vk::ClearColorValue(rgba)};
    cmd.beginRenderPass(
        vk::RenderPassBeginInfo(*pass, *a.image->framebuffer, vk::Rect2D({0, 0}, extent), clear),
        vk::SubpassContents::eInline);
    cmd.endRenderPass();
    const bool readable = target.record_readback(cmd, a, *buffer.buffer);
    cmd.end();
    vk::raii::Fence fence(gpu.device, vk::FenceCreateInfo());
    const vk::CommandBuffer cb = *cmd;
    vk::SubmitInfo submit;
    submit.setCommandBuffers(cb);
    const vk::Semaphore wait = *acquired_sem;
    const vk::Semaphore done = *a.image->rendered;
    const vk::PipelineStageFlags stage = vk::PipelineStageFlagBits::eColorAttachmentOutput;
    if (target.waits_for_acquire()) {
        submit.setWaitSemaphores(wait);
        submit.setWaitDstStageMask(stage);
        submit.setSignalSemaphores(done);
    }
    gpu.queue.submit(submit, *fence);
    target.present(a);
    (void)gpu.device.waitForFences(*fence, VK_TRUE, UINT64_MAX);
    gpu.device.waitIdle();
    std::array<std::uint8_t, 4> px{};
    if (!readable) return px;
    for (std::size_t i = 0; i < 4; ++i)
        px[i] = static_cast<std::uint8_t>(buffer.mapped[i]);
    if (target.format() == vk::Format::eR8G8B8A8Unorm) std::swap(px[0], px[2]);
    return px;
}

// Acquires until the target gives an image (a swapchain may be busy a moment).
vkr::Acquired acquire(vkr::RenderTarget& t, const vk::raii::Semaphore& sem, vk::Extent2D frame) {
    for (int i = 0; i < 500; ++i) {
        auto a = t.acquire(*sem, frame);
        if (a.image != nullptr) return a;
        SDL_Delay(2);
    }
    return {};
}

TEST(RenderTargetOffscreen, FollowsTheFrameSizeAndIsMadeAgainOnlyWhenItChanges) {
    auto gpu = vkr::create_gpu(nullptr);
    ASSERT_TRUE(gpu.has_value()) << gpu.error().message;
    auto t = vkr::make_offscreen_target(**gpu, 0, 0);
    auto pass = clear_pass(**gpu, *t);
    t->set_render_pass(*pass);
    vk::raii::Semaphore sem((*gpu)->device, vk::SemaphoreCreateInfo());
    EXPECT_FALSE(t->waits_for_acquire());
    EXPECT_EQ(t->final_layout(), vk::ImageLayout::eTransferSrcOptimal);

    auto a = t->acquire(*sem, vk::Extent2D(320, 200));
    ASSERT_NE(a.image, nullptr);
    EXPECT_TRUE(a.rebuilt);
    EXPECT_EQ(t->extent(), vk::Extent2D(320, 200));
    auto b = t->acquire(*sem, vk::Extent2D(320, 200));
    ASSERT_NE(b.image, nullptr);
    EXPECT_FALSE(b.rebuilt);
    auto c = t->acquire(*sem, vk::Extent2D(64, 48));
    EXPECT_TRUE(c.rebuilt);
    EXPECT_EQ(t->extent(), vk::Extent2D(64, 48));
    // No frame yet: a default size to show the state message on.
    auto none = vkr::make_offscreen_target(**gpu, 0, 0);
    none->set_render_pass(*pass);
    ASSERT_NE(none->acquire(*sem, vk::Extent2D()).image, nullptr);
    EXPECT_EQ(none->extent(), vk::Extent2D(640, 360));
}

TEST(RenderTargetOffscreen, AGivenSizeIgnoresTheFrameAndReadsBackWhatWasDrawn) {
    auto gpu = vkr::create_gpu(nullptr);
    ASSERT_TRUE(gpu.has_value()) << gpu.error().message;
    auto t = vkr::make_offscreen_target(**gpu, 200, 100);
    auto pass = clear_pass(**gpu, *t);
    t->set_render_pass(*pass);
    vk::raii::Semaphore sem((*gpu)->device, vk::SemaphoreCreateInfo());
    auto a = t->acquire(*sem, vk::Extent2D(1920, 1080));
    ASSERT_NE(a.image, nullptr);
    EXPECT_EQ(t->extent(), vk::Extent2D(200, 100));
    const auto px = draw_clear(**gpu, *t, pass, sem, a, {1.0F, 0.0F, 0.0F, 1.0F});
    EXPECT_EQ(px, (std::array<std::uint8_t, 4>{0, 0, 255, 255}));  // red, as B G R A
    const auto again = draw_clear(**gpu, *t, pass, sem, t->acquire(*sem, vk::Extent2D(8, 8)),
                                  {0.0F, 1.0F, 0.0F, 1.0F});
    EXPECT_EQ(again, (std::array<std::uint8_t, 4>{0, 255, 0, 255}));
}

class RenderTargetSwapchain : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        xvfb_ = std::make_unique<porthole::test::Xvfb>();
        ::setenv("DISPLAY", xvfb_->display().c_str(), 1);
        ::setenv("SDL_VIDEODRIVER", "x11", 1);
        sdl_up_ = SDL_InitSubSystem(SDL_INIT_VIDEO) == 0;
    }
    static void TearDownTestSuite() {
        if (sdl_up_) SDL_QuitSubSystem(SDL_INIT_VIDEO);
        xvfb_.reset();
    }
    void SetUp() override {
        ASSERT_FALSE(xvfb_->display().empty()) << "Xvfb did not start (package xvfb)";
        ASSERT_TRUE(sdl_up_) << SDL_GetError();
    }
    static inline std::unique_ptr<porthole::test::Xvfb> xvfb_;
    static inline bool sdl_up_ = false;
};

TEST_F(RenderTargetSwapchain, FollowsTheWindowPresentsAndReadsBack) {
    porthole::client::WindowConfig wc;
    wc.width = 320;
    wc.height = 240;
    auto window = porthole::client::SdlWindow::create(wc);
    ASSERT_TRUE(window.has_value()) << window.error().message;
    (*window)->poll_events();
    auto gpu = vkr::create_gpu(window->get());
    ASSERT_TRUE(gpu.has_value()) << gpu.error().message;
    auto t = vkr::make_swapchain_target(**gpu, **window, PresentMode::fifo);
    EXPECT_EQ(t->present_mode(), PresentMode::fifo);
    EXPECT_TRUE(t->waits_for_acquire());
    EXPECT_EQ(t->final_layout(), vk::ImageLayout::ePresentSrcKHR);
    auto pass = clear_pass(**gpu, *t);
    t->set_render_pass(*pass);
    vk::raii::Semaphore sem((*gpu)->device, vk::SemaphoreCreateInfo());

    auto a = acquire(*t, sem, vk::Extent2D(1920, 1080));  // the frame's size does not matter
    ASSERT_NE(a.image, nullptr);
    EXPECT_TRUE(a.rebuilt);
    EXPECT_EQ(t->extent(), vk::Extent2D(320, 240));
    const auto px = draw_clear(**gpu, *t, pass, sem, a, {0.0F, 0.0F, 1.0F, 1.0F});
    EXPECT_EQ(px, (std::array<std::uint8_t, 4>{255, 0, 0, 255}));  // blue, as B G R A

    // A resize makes the swapchain again at the window's new size.
    SDL_SetWindowSize((*window)->sdl_window(), 400, 300);
    (*window)->poll_events();
    t->resized();
    vk::raii::Semaphore sem2((*gpu)->device, vk::SemaphoreCreateInfo());
    auto b = acquire(*t, sem2, vk::Extent2D());
    ASSERT_NE(b.image, nullptr);
    EXPECT_TRUE(b.rebuilt);
    EXPECT_EQ(t->extent(), vk::Extent2D(400, 300));
    const auto px2 = draw_clear(**gpu, *t, pass, sem2, b, {0.0F, 1.0F, 0.0F, 1.0F});
    EXPECT_EQ(px2, (std::array<std::uint8_t, 4>{0, 255, 0, 255}));
}

}  // namespace
