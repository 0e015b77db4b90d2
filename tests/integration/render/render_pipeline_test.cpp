// The renderer's frames in flight, driven through its own interface headless
// on the real Vulkan device (lavapipe in CI), with the agent's real session
// and frame channel in an in-memory region: draws are queued while a frame's
// copy is pending, and every shown image is read back and checked pixel by
// pixel against the test pattern. The end-to-end client tests (render_test)
// cover the same pipeline through the program, headless and windowed.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "porthole/protocol/layout.hpp"
#include "porthole/protocol/session.hpp"
#include "porthole/protocol/test_pattern.hpp"
#include "porthole/util/adaptive_wait.hpp"
#include "render/renderer.hpp"
#include "support/aligned_region.hpp"

namespace {

using porthole::monotonic_ns;
using porthole::client::CopyPath;
using porthole::client::UploadState;
namespace protocol = porthole::protocol;
namespace pattern = porthole::protocol::pattern;

constexpr std::uint32_t kMaxW = 1024, kMaxH = 768;

// An agent publishing the test pattern, a host session and the renderer, on one region.
class Rig {
  public:
    explicit Rig(bool staging, porthole::client::RendererConfig cfg = {})
        : memory_(static_cast<std::size_t>(
              protocol::required_region_size(kMaxW, kMaxH, protocol::PixelFormat::bgra8))),
          host_(memory_.bytes(), 0, "test") {
        cfg.force_staging = staging;
        cfg.draw_cursor = false;
        auto r = porthole::client::Renderer::create(cfg, nullptr, memory_.bytes());
        if (r) renderer_ = std::move(*r);
        error_ = r ? "" : r.error().message;
    }

    // (Re)starts the agent's session on the region and attaches to it, as the
    // client does when the agent restarts.
    ::testing::AssertionResult start_agent() {
        channels_.reset();
        agent_.reset();
        auto a = protocol::AgentSession::create(memory_.bytes(), {}, protocol::cap::frames, "test",
                                                monotonic_ns());
        if (!a) return ::testing::AssertionFailure() << a.error().message;
        agent_.emplace(std::move(*a));
        have_geometry_ = false;
        const auto until = monotonic_ns() + 5'000'000'000ULL;
        while (monotonic_ns() < until) {
            agent_->tick(monotonic_ns());
            if (host_.poll(monotonic_ns()).new_session) {
                auto c = host_.attach_channels();
                if (!c) return ::testing::AssertionFailure() << c.error().message;
                channels_.emplace(std::move(*c));
                return ::testing::AssertionSuccess();
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        return ::testing::AssertionFailure() << "the host never saw the agent's session";
    }

    // Publishes pattern n, damaging what pattern::damage says when the geometry is unchanged.
    std::uint64_t publish(std::uint64_t n, std::uint32_t w, std::uint32_t h,
                          protocol::PixelFormat f = protocol::PixelFormat::bgra8) {
        const std::uint32_t stride = w * protocol::bytes_per_pixel(f);
        protocol::DamageList d;
        if (!have_geometry_ || w != w_ || h != h_ || f != format_) {
            image_.assign(std::size_t{stride} * h, std::byte{0});
            pattern::render_full(n, w, h, f, image_, stride);
            d.set_full(w, h);
            w_ = w, h_ = h, format_ = f, have_geometry_ = true;
        } else {
            d = pattern::damage(n, w, h);
            pattern::render(n, w, h, f, image_, stride, d.rects());
        }
        const protocol::FrameSource src{w, h, stride, f, image_.data()};
        auto s = agent_->channels().frames.publish(src, d, monotonic_ns());
        EXPECT_TRUE(s.has_value());
        return s ? *s : 0;
    }

    // Announces pattern n as a progressive whole frame; rows follow with write_rows.
    std::uint64_t begin(std::uint64_t n, std::uint32_t w, std::uint32_t h) {
        const auto f = protocol::PixelFormat::bgra8;
        const std::uint32_t stride = w * protocol::bytes_per_pixel(f);
        image_.assign(std::size_t{stride} * h, std::byte{0});
        pattern::render_full(n, w, h, f, image_, stride);
        w_ = w, h_ = h, format_ = f, have_geometry_ = true;
        auto s = writer().begin_frame(protocol::FrameSource{w, h, stride, f, image_.data()},
                                      monotonic_ns());
        EXPECT_TRUE(s.has_value());
        return s ? *s : 0;
    }
    protocol::FrameWriter& writer() { return agent_->channels().frames; }

    std::optional<protocol::FrameView> poll_progressive() {
        auto v = channels_->frames.poll_progressive(monotonic_ns());
        EXPECT_TRUE(v.has_value()) << v.error().message;
        return v ? *v : std::nullopt;
    }

    std::optional<protocol::FrameView> poll() {
        auto v = channels_->frames.poll();
        EXPECT_TRUE(v.has_value()) << v.error().message;
        return v ? *v : std::nullopt;
    }

    // Takes the view as the client does: draws keep being queued while the
    // copy is pending and the fence is checked without waiting.
    UploadState take(const protocol::FrameView& view) {
        auto up = renderer_->upload_frame(view, channels_->frames);
        EXPECT_TRUE(up.has_value()) << up.error().message;
        if (!up) return UploadState::dropped;
        auto state = *up;
        const auto until = monotonic_ns() + 10'000'000'000ULL;
        while (state == UploadState::pending && monotonic_ns() < until) {
            EXPECT_TRUE(renderer_->draw(false).has_value());
            state = renderer_->finish_upload(channels_->frames);
        }
        return state;
    }

    // Queues draws without waiting for them: the frames in flight.
    void queue_draws(int n) {
        for (int i = 0; i < n; ++i)
            ASSERT_TRUE(renderer_->draw(false).has_value());
    }

    // The drawn image is pattern n at 1:1, pixel for pixel.
    ::testing::AssertionResult shows(std::uint64_t n, std::uint32_t w, std::uint32_t h) {
        auto d = renderer_->draw(true);
        if (!d) return ::testing::AssertionFailure() << d.error().message;
        if (!d->presented || !d->readback) return ::testing::AssertionFailure() << "no read-back";
        const auto& img = *d->readback;
        const porthole::client::PixelRect want{0, 0, w, h};
        if (img.frame_rect != want || img.width != w || img.height != h) {
            return ::testing::AssertionFailure()
                   << "frame drawn at " << img.frame_rect.x << "," << img.frame_rect.y << " "
                   << img.frame_rect.w << "x" << img.frame_rect.h << " on " << img.width << "x"
                   << img.height << ", want " << w << "x" << h;
        }
        const auto f = protocol::PixelFormat::bgra8;  // the target holds 8 bits a channel
        const auto counter = pattern::read_counter(f, img.bgra, img.stride, w, h);
        const auto mm = pattern::verify(n, w, h, f, img.bgra, img.stride);
        if (counter != n || mm.count != 0) {
            return ::testing::AssertionFailure()
                   << "shown: pattern " << counter << ", want " << n << "; " << mm.count
                   << " pixels differ (first at " << mm.first_x << "," << mm.first_y << ")";
        }
        return ::testing::AssertionSuccess();
    }

    porthole::client::Renderer& renderer() { return *renderer_; }
    protocol::FrameReader& reader() { return channels_->frames; }
    [[nodiscard]] bool ok() const { return renderer_ != nullptr; }
    [[nodiscard]] const std::string& error() const { return error_; }
    [[nodiscard]] std::uint32_t slots() const { return agent_->layout().frame_slots; }

  private:
    porthole::testing::AlignedRegion memory_;
    protocol::HostSession host_;
    std::optional<protocol::AgentSession> agent_;
    std::optional<protocol::HostChannels> channels_;
    std::unique_ptr<porthole::client::Renderer> renderer_;
    std::string error_;
    std::vector<std::byte> image_;
    std::uint32_t w_ = 0, h_ = 0;
    protocol::PixelFormat format_ = protocol::PixelFormat::bgra8;
    bool have_geometry_ = false;
};

// Both copy paths: the GPU copying from the imported region (pending until
// its fence) and the CPU copying through staging buffers.
class RenderPipeline : public ::testing::TestWithParam<bool> {
  protected:
    void SetUp() override {
        rig_ = std::make_unique<Rig>(GetParam());
        ASSERT_TRUE(rig_->ok()) << rig_->error();
        ASSERT_TRUE(rig_->start_agent());
        ASSERT_EQ(rig_->renderer().copy_path(),
                  GetParam() ? CopyPath::staging : CopyPath::host_import);
    }
    std::unique_ptr<Rig> rig_;
};

TEST_P(RenderPipeline, FramesArePixelExactWithDrawsInFlight) {
    auto& r = *rig_;
    const std::uint32_t w = 640, h = 360;
    std::uint64_t n = 0;
    for (int round = 0; round < 24; ++round, ++n) {
        // Every third round the agent publishes twice before the host looks:
        // damage accumulates over a skipped frame, and the back texture (one
        // accepted frame behind) must take the union of both.
        if (round % 3 == 2) r.publish(n++, w, h);
        const auto serial = r.publish(n, w, h);
        const auto view = r.poll();
        ASSERT_TRUE(view.has_value());
        ASSERT_EQ(view->meta.serial, serial);
        auto up = r.renderer().upload_frame(*view, r.reader());
        ASSERT_TRUE(up.has_value()) << up.error().message;
        if (*up == UploadState::pending) {
            // Draws queued behind the pending copy still show the previous frame.
            r.queue_draws(2);
            if (round > 0) {
                ASSERT_TRUE(r.shows(n - 1 - (round % 3 == 2 ? 1 : 0), w, h));
            }
            up = r.renderer().finish_upload(r.reader(), true);
        }
        ASSERT_EQ(*up, UploadState::accepted) << "round " << round;
        EXPECT_EQ(r.renderer().frame_serial(), serial);
        r.queue_draws(2);
        ASSERT_TRUE(r.shows(n, w, h)) << "round " << round;
    }
    EXPECT_EQ(r.reader().stats().torn, 0U);
}

TEST_P(RenderPipeline, ATornCopyIsNeverShown) {
    auto& r = *rig_;
    const std::uint32_t w = 640, h = 360;
    const auto first = r.publish(1, w, h);
    const auto v1 = r.poll();
    ASSERT_TRUE(v1.has_value());
    ASSERT_EQ(r.take(*v1), UploadState::accepted);
    ASSERT_TRUE(r.shows(1, w, h));

    // The host has taken frame 2's view; before its copy completes the guest
    // goes round every slot and rewrites frame 2's with another picture.
    r.publish(2, w, h);
    const auto v2 = r.poll();
    ASSERT_TRUE(v2.has_value());
    std::uint64_t n = 3;
    for (std::uint32_t i = 0; i < r.slots(); ++i)
        r.publish(n++, w, h);
    r.queue_draws(2);
    EXPECT_EQ(r.take(*v2), UploadState::dropped);
    EXPECT_EQ(r.reader().stats().torn, 1U);
    EXPECT_EQ(r.renderer().frame_serial(), first);
    r.queue_draws(2);
    ASSERT_TRUE(r.shows(1, w, h)) << "a torn frame reached the screen";

    // The newest frame arrives whole and is shown exactly.
    const auto v = r.poll();
    ASSERT_TRUE(v.has_value());
    EXPECT_TRUE(v->full);
    ASSERT_EQ(r.take(*v), UploadState::accepted);
    ASSERT_TRUE(r.shows(n - 1, w, h));
    // And the stream goes on from there (the import path back from its staging detour).
    for (int i = 0; i < 4; ++i, ++n) {
        r.publish(n, w, h);
        const auto next = r.poll();
        ASSERT_TRUE(next.has_value());
        ASSERT_EQ(r.take(*next), UploadState::accepted);
        ASSERT_TRUE(r.shows(n, w, h));
    }
}

TEST_P(RenderPipeline, ResizesAndFormatChangesWhileFramesAreInFlight) {
    auto& r = *rig_;
    struct Step {
        std::uint32_t w, h;
        protocol::PixelFormat f;
    };
    const Step steps[] = {{640, 360, protocol::PixelFormat::bgra8},
                          {1024, 768, protocol::PixelFormat::bgra8},
                          {1024, 768, protocol::PixelFormat::rgb10a2},
                          {320, 200, protocol::PixelFormat::rgb10a2},
                          {640, 360, protocol::PixelFormat::bgra8}};
    std::uint64_t n = 0;
    for (const auto& s : steps) {
        for (int i = 0; i < 3; ++i, ++n) {
            r.publish(n, s.w, s.h, s.f);
            const auto view = r.poll();
            ASSERT_TRUE(view.has_value());
            r.queue_draws(3);  // the change lands with earlier frames still queued
            ASSERT_EQ(r.take(*view), UploadState::accepted) << s.w << "x" << s.h;
            r.queue_draws(2);
            ASSERT_TRUE(r.shows(n, s.w, s.h)) << s.w << "x" << s.h << " frame " << i;
        }
    }
}

TEST_P(RenderPipeline, AgentRestartWithACopyInFlight) {
    auto& r = *rig_;
    const std::uint32_t w = 640, h = 360;
    for (std::uint64_t n = 0; n < 3; ++n) {
        r.publish(n, w, h);
        const auto v = r.poll();
        ASSERT_TRUE(v.has_value());
        ASSERT_EQ(r.take(*v), UploadState::accepted);
    }
    ASSERT_TRUE(r.shows(2, w, h));
    // Frame 3's copy is queued (and pending on the import path) when the agent goes away.
    r.publish(3, w, h);
    const auto v3 = r.poll();
    ASSERT_TRUE(v3.has_value());
    auto up = r.renderer().upload_frame(*v3, r.reader());
    ASSERT_TRUE(up.has_value());
    r.queue_draws(2);
    r.renderer().forget_frame();
    EXPECT_FALSE(r.renderer().upload_pending());
    EXPECT_EQ(r.renderer().frame_serial(), 0U);

    // The new session's serials start again from 1: nothing of the old one may show.
    ASSERT_TRUE(r.start_agent());
    for (std::uint64_t n = 100; n < 104; ++n) {
        const auto serial = r.publish(n, w, h);
        const auto v = r.poll();
        ASSERT_TRUE(v.has_value());
        ASSERT_EQ(r.take(*v), UploadState::accepted);
        EXPECT_EQ(r.renderer().frame_serial(), serial);
        r.queue_draws(2);
        ASSERT_TRUE(r.shows(n, w, h)) << "pattern " << n;
    }
}

// A 1:1 frame in the target's format is copied in rather than drawn: the
// rest of the target stays black and the overlay is still drawn over it.
TEST(RenderPipelineCopy, CopiedFrameKeepsTheBorderBlackAndTheOverlayOnTop) {
    porthole::client::RendererConfig cfg;
    cfg.headless_width = 800;
    cfg.headless_height = 600;
    cfg.scale = porthole::client::ScaleMode::integer;
    Rig r(false, cfg);
    ASSERT_TRUE(r.ok()) << r.error();
    ASSERT_TRUE(r.start_agent());
    const std::uint32_t w = 640, h = 360;
    r.publish(7, w, h);
    const auto v = r.poll();
    ASSERT_TRUE(v.has_value());
    ASSERT_EQ(r.take(*v), UploadState::accepted);
    const auto f = protocol::PixelFormat::bgra8;
    for (bool overlay : {false, true}) {
        if (overlay) r.renderer().set_overlay({"OVERLAY"});
        auto d = r.renderer().draw(true);
        ASSERT_TRUE(d && d->readback);
        const auto& img = *d->readback;
        const porthole::client::PixelRect at{80, 120, w, h};
        ASSERT_EQ(img.frame_rect, at);
        const auto frame = std::span<const std::byte>(img.bgra).subspan(
            std::size_t{120} * img.stride + std::size_t{80} * 4);
        const auto mm = pattern::verify(7, w, h, f, frame, img.stride);
        EXPECT_EQ(mm.count, 0U) << "first at " << mm.first_x << "," << mm.first_y;
        std::uint64_t lit_border = 0, lit_overlay = 0;
        for (std::uint32_t y = 0; y < img.height; ++y) {
            for (std::uint32_t x = 0; x < img.width; ++x) {
                const auto* p = img.bgra.data() + std::size_t{y} * img.stride + std::size_t{x} * 4;
                const bool in_frame = x >= 80 && x < 80 + w && y >= 120 && y < 120 + h;
                if (in_frame) continue;
                const bool lit = p[0] != std::byte{0} || p[1] != std::byte{0} ||
                                 p[2] != std::byte{0} || p[3] != std::byte{0xFF};
                (x < 80 && y < 120 ? lit_overlay : lit_border) += lit ? 1 : 0;
            }
        }
        EXPECT_EQ(lit_border, 0U);
        if (overlay) {
            EXPECT_GT(lit_overlay, 0U) << "the overlay is missing over the copied frame";
        } else {
            EXPECT_EQ(lit_overlay, 0U);
        }
    }
}

// Bytes of frame pixels the path in use has copied so far.
std::uint64_t copied(porthole::client::Renderer& r) {
    return r.copy_path() == CopyPath::staging ? r.cpu_bytes_copied() : r.gpu_bytes_copied();
}

// A progressive frame's rows are copied (staging) or their GPU copy submitted
// (import) while the guest still writes the frame; it is shown only once every
// row is in, pixel-exact, and until then draws keep the previous frame.
TEST_P(RenderPipeline, ProgressiveFrameRowsAreCopiedBeforeTheGuestEndsIt) {
    auto& r = *rig_;
    const std::uint32_t w = kMaxW, h = kMaxH, row = w * 4;
    const auto first = r.publish(1, w, h);
    const auto v1 = r.poll();
    ASSERT_TRUE(v1.has_value());
    ASSERT_EQ(r.take(*v1), UploadState::accepted);

    for (std::uint64_t n = 2; n < 6; ++n) {
        const auto serial = r.begin(n, w, h);
        ASSERT_TRUE(r.writer().write_rows(h * 3 / 4).has_value());
        const auto view = r.poll_progressive();
        ASSERT_TRUE(view.has_value());
        ASSERT_TRUE(view->in_progress);
        const auto before = copied(r.renderer());
        auto up = r.renderer().upload_frame(*view, r.reader());
        ASSERT_TRUE(up.has_value()) << up.error().message;
        ASSERT_EQ(*up, UploadState::pending) << "a frame shown before the guest ended it";
        EXPECT_EQ(r.renderer().finish_upload(r.reader()), UploadState::pending);
        // Three quarters of the rows are in before end_frame (the import path
        // submits at least kImportChunkBytes at a time, here 128 rows).
        EXPECT_GE(copied(r.renderer()) - before, std::uint64_t{h / 2} * row) << "frame " << n;
        EXPECT_LE(copied(r.renderer()) - before, std::uint64_t{h * 3 / 4} * row);
        r.queue_draws(2);
        ASSERT_TRUE(r.shows(n - 1, w, h)) << "a partly copied frame was drawn";
        EXPECT_NE(r.renderer().frame_serial(), serial);

        ASSERT_TRUE(r.writer().end_frame().has_value());
        const auto state = r.renderer().finish_upload(r.reader(), true);
        ASSERT_EQ(state, UploadState::accepted) << "frame " << n;
        EXPECT_EQ(copied(r.renderer()) - before, std::uint64_t{h} * row);
        EXPECT_EQ(r.renderer().frame_serial(), serial);
        r.queue_draws(2);
        ASSERT_TRUE(r.shows(n, w, h)) << "frame " << n;
    }
    EXPECT_NE(first, 0U);
    EXPECT_EQ(r.reader().stats().torn, 0U);
    EXPECT_EQ(r.reader().stats().dropped, 0U);
}

// The host follows the guest chunk by chunk, as the client's loop does.
TEST_P(RenderPipeline, ProgressiveFramesFollowedChunkByChunkArePixelExact) {
    auto& r = *rig_;
    const std::uint32_t w = kMaxW, h = kMaxH;
    for (std::uint64_t n = 10; n < 16; ++n) {
        const auto serial = r.begin(n, w, h);
        const auto view = r.poll_progressive();
        ASSERT_TRUE(view.has_value());
        auto up = r.renderer().upload_frame(*view, r.reader());
        ASSERT_TRUE(up.has_value()) << up.error().message;
        auto state = *up;
        for (std::uint32_t rows = 0; rows < h;) {
            ASSERT_EQ(state, UploadState::pending) << "frame " << n << " at row " << rows;
            ASSERT_TRUE(r.writer().write_rows(h / 16).has_value());
            rows += h / 16;
            state = r.renderer().finish_upload(r.reader());
            if (n % 2 == 0) r.queue_draws(1);
        }
        ASSERT_TRUE(r.writer().end_frame().has_value());
        // Every row is in: staging may have accepted it on the last step.
        if (state == UploadState::pending) state = r.renderer().finish_upload(r.reader(), true);
        ASSERT_EQ(state, UploadState::accepted) << "frame " << n;
        EXPECT_EQ(r.renderer().frame_serial(), serial);
        r.queue_draws(2);
        ASSERT_TRUE(r.shows(n, w, h)) << "frame " << n;
    }
    EXPECT_EQ(r.reader().stats().torn, 0U);
}

// The guest reuses the slot of a progressive frame the host is copying: the
// frame is torn and never shown, and the newest frame follows whole.
TEST_P(RenderPipeline, ProgressiveFrameWhoseSlotIsReusedMidCopyIsNeverShown) {
    auto& r = *rig_;
    const std::uint32_t w = kMaxW, h = kMaxH;
    r.publish(1, w, h);
    const auto v1 = r.poll();
    ASSERT_TRUE(v1.has_value());
    ASSERT_EQ(r.take(*v1), UploadState::accepted);

    r.begin(2, w, h);
    ASSERT_TRUE(r.writer().write_rows(h / 2).has_value());
    const auto v2 = r.poll_progressive();
    ASSERT_TRUE(v2.has_value());
    ASSERT_TRUE(v2->in_progress);
    auto up = r.renderer().upload_frame(*v2, r.reader());
    ASSERT_TRUE(up.has_value());
    ASSERT_EQ(*up, UploadState::pending);
    // Every slot is rewritten (frame 2's too) while its copy is under way.
    std::uint64_t n = 3;
    for (std::uint32_t i = 0; i < r.slots(); ++i)
        r.publish(n++, w, h);
    r.queue_draws(2);
    EXPECT_EQ(r.renderer().finish_upload(r.reader(), true), UploadState::dropped);
    EXPECT_EQ(r.reader().stats().torn, 1U);
    EXPECT_FALSE(r.renderer().upload_pending());
    r.queue_draws(2);
    ASSERT_TRUE(r.shows(1, w, h)) << "a torn frame reached the screen";

    const auto v = r.poll();
    ASSERT_TRUE(v.has_value());
    ASSERT_EQ(r.take(*v), UploadState::accepted);
    ASSERT_TRUE(r.shows(n - 1, w, h));
}

// A frame the guest abandons, and one that stops advancing, are dropped
// without holding back the frame after them.
TEST_P(RenderPipeline, AbandonedOrStalledProgressiveFramesDoNotHoldBackTheNext) {
    auto& r = *rig_;
    const std::uint32_t w = kMaxW, h = kMaxH;
    r.publish(1, w, h);
    const auto v1 = r.poll();
    ASSERT_TRUE(v1.has_value());
    ASSERT_EQ(r.take(*v1), UploadState::accepted);

    // Abandoned: the guest starts frame 3 with frame 2's rows part written.
    r.begin(2, w, h);
    ASSERT_TRUE(r.writer().write_rows(h / 2).has_value());
    auto v2 = r.poll_progressive();
    ASSERT_TRUE(v2.has_value());
    auto up = r.renderer().upload_frame(*v2, r.reader());
    ASSERT_TRUE(up.has_value());
    ASSERT_EQ(*up, UploadState::pending);
    const auto serial3 = r.begin(3, w, h);
    const auto t0 = monotonic_ns();
    EXPECT_EQ(r.renderer().finish_upload(r.reader()), UploadState::dropped);
    EXPECT_LT(monotonic_ns() - t0, 50'000'000U) << "the abandoned frame was waited for";
    EXPECT_EQ(r.reader().stats().dropped, 1U);
    ASSERT_TRUE(r.shows(1, w, h));
    auto v3 = r.poll_progressive();
    ASSERT_TRUE(v3.has_value());
    EXPECT_EQ(v3->meta.serial, serial3);
    up = r.renderer().upload_frame(*v3, r.reader());
    ASSERT_TRUE(up.has_value());
    ASSERT_TRUE(r.writer().end_frame().has_value());
    ASSERT_EQ(r.renderer().finish_upload(r.reader(), true), UploadState::accepted);
    ASSERT_TRUE(r.shows(3, w, h));

    // Stalled: rows stop short and nothing newer comes; the reader's timeout drops it.
    r.reader().set_progress_timeout(20'000'000);
    r.begin(4, w, h);
    ASSERT_TRUE(r.writer().write_rows(h / 3).has_value());
    auto v4 = r.poll_progressive();
    ASSERT_TRUE(v4.has_value());
    up = r.renderer().upload_frame(*v4, r.reader());
    ASSERT_TRUE(up.has_value());
    ASSERT_EQ(*up, UploadState::pending);
    EXPECT_EQ(r.renderer().finish_upload(r.reader(), true), UploadState::dropped);
    EXPECT_EQ(r.reader().stats().dropped, 2U);
    r.queue_draws(2);
    ASSERT_TRUE(r.shows(3, w, h)) << "a stalled frame reached the screen";
    // The guest comes back with a new frame: shown exactly.
    r.publish(5, w, h);
    const auto v5 = r.poll_progressive();
    ASSERT_TRUE(v5.has_value());
    ASSERT_EQ(r.take(*v5), UploadState::accepted);
    ASSERT_TRUE(r.shows(5, w, h));
}

INSTANTIATE_TEST_SUITE_P(CopyPaths, RenderPipeline, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& p) {
                             return p.param ? "Staging" : "Import";
                         });

}  // namespace
