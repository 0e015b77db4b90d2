// DxgiSource's decisions against a fake duplication and adapter behind its
// DxgiBackend (the real DXGI duplication cannot run under Wine): which output
// is chosen, which formats are asked, HDR in a small region, a frame that does
// not fit, access lost, timeouts, pointer-only updates, no display yet. The
// fake speaks DXGI's HRESULTs and keeps a desktop of pixels, so each frame
// handed out is compared with the desktop the fake showed.
#include <gtest/gtest.h>

#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "capture/win/dxgi.hpp"
#include "capture/win/dxgi_backend.hpp"
#include "capture/win/hdr.hpp"

using namespace porthole::agent;
using namespace porthole::agent::win;
using namespace std::chrono_literals;
using porthole::Result;
using porthole::Status;
using porthole::protocol::PixelFormat;
using porthole::protocol::Rect;

namespace {

OutputInfo output(std::uint32_t adapter, std::string name, std::uint32_t vendor,
                  std::uint32_t device_id, std::string display, std::int32_t left,
                  std::int32_t width = 8, std::int32_t height = 4) {
    OutputInfo o;
    o.adapter_index = adapter;
    o.adapter = std::move(name);
    o.vendor_id = vendor;
    o.device_id = device_id;
    o.device = std::move(display);
    o.attached = true;
    o.left = left;
    o.right = left + width;
    o.bottom = height;
    return o;
}
OutputInfo qxl() {
    return output(0, "Red Hat QXL controller", 0x1b36, 0x0100, "\\\\.\\DISPLAY1", 0);
}
OutputInfo gpu(std::string display = "\\\\.\\DISPLAY2", std::int32_t left = 8) {
    return output(1, "NVIDIA GeForce RTX 3080", 0x10de, 0x2206, std::move(display), left);
}

std::uint32_t bpp_of(std::uint32_t format) {
    return format == DXGI_FORMAT_R16G16B16A16_FLOAT ? 8U : 4U;
}

class FakeDxgi final : public DxgiBackend {
  public:
    // One scripted AcquireNextFrame.
    struct Step {
        HRESULT hr = S_OK;
        bool present = true;  // LastPresentTime != 0
        // A new duplication's first frame: the desktop image with no present
        // time and no metadata (DXGI may give it so).
        bool first_of_duplication = false;
        std::uint32_t width = 8, height = 4;
        std::vector<RECT> dirty;       // empty: the whole desktop
        std::optional<POINT> pointer;  // a mouse update to this position (visible)
        bool shape = false;            // a new 2x2 colour pointer shape, hotspot 1,1
    };
    std::vector<OutputInfo> outs;
    std::deque<Step> script;   // empty: DXGI_ERROR_WAIT_TIMEOUT
    bool hdr = false;          // the desktop is composed in FP16
    bool fp16_always = false;  // hdr: textures come FP16 even when not asked (else RGB10A2)
    bool converter_available = true;
    // What DxgiSource asked for.
    std::vector<std::size_t> opened;
    std::vector<std::vector<DXGI_FORMAT>> formats_asked;
    std::vector<StagingLayout> staging_made;
    int converts = 0;
    // The desktop after each image frame (a frame paints its damage with its number).
    std::vector<std::vector<std::byte>> history;
    StagingLayout desktop_layout;

    Result<std::vector<OutputInfo>> outputs() override { return outs; }

    Result<Duplication> open(std::size_t index, std::span<const DXGI_FORMAT> formats) override {
        EXPECT_LT(index, outs.size());
        EXPECT_FALSE(open_) << "open() over an open duplication";
        opened.push_back(index);
        formats_asked.emplace_back(formats.begin(), formats.end());
        open_ = true;
        lost_ = false;
        const bool fp16_asked = std::find(formats.begin(), formats.end(),
                                          DXGI_FORMAT_R16G16B16A16_FLOAT) != formats.end();
        format_ = !hdr                        ? DXGI_FORMAT_B8G8R8A8_UNORM
                  : fp16_asked || fp16_always ? DXGI_FORMAT_R16G16B16A16_FLOAT
                                              : DXGI_FORMAT_R10G10B10A2_UNORM;
        const auto& o = outs[index];
        return Duplication{format_, static_cast<std::uint32_t>(o.right - o.left),
                           static_cast<std::uint32_t>(o.bottom - o.top), Rotation::identity};
    }
    void close() override {
        EXPECT_FALSE(held_) << "close() with a frame held";
        open_ = false;
        staging_.clear();
    }

    HRESULT acquire_frame(std::chrono::milliseconds, DXGI_OUTDUPL_FRAME_INFO& info,
                          std::optional<StagingLayout>& texture) override {
        EXPECT_TRUE(open_) << "AcquireNextFrame without a duplication";
        EXPECT_FALSE(held_) << "AcquireNextFrame before ReleaseFrame";
        texture.reset();
        info = {};
        if (lost_) return DXGI_ERROR_ACCESS_LOST;  // until re-created, as DXGI does
        if (script.empty()) return DXGI_ERROR_WAIT_TIMEOUT;
        step_ = script.front();
        script.pop_front();
        if (step_.hr == DXGI_ERROR_ACCESS_LOST) lost_ = true;
        if (FAILED(step_.hr)) return step_.hr;
        held_ = true;
        if (step_.pointer) {
            info.LastMouseUpdateTime.QuadPart = 1;
            info.PointerPosition.Visible = TRUE;
            info.PointerPosition.Position = *step_.pointer;
        }
        if (step_.shape) info.PointerShapeBufferSize = 16;
        const StagingLayout layout{step_.width, step_.height, static_cast<std::uint32_t>(format_)};
        texture = layout;
        if (!step_.present && !step_.first_of_duplication) return S_OK;
        if (!step_.first_of_duplication) {
            info.LastPresentTime.QuadPart = 1;
            info.TotalMetadataBufferSize = static_cast<UINT>(step_.dirty.size() * sizeof(RECT));
        }
        if (layout != desktop_layout) {
            desktop_layout = layout;
            desktop_.assign(std::size_t{layout.width} * layout.height * bpp_of(layout.format),
                            std::byte{0});
            step_.dirty.clear();
        }
        if (step_.dirty.empty())
            step_.dirty.push_back(
                RECT{0, 0, static_cast<LONG>(layout.width), static_cast<LONG>(layout.height)});
        paint(static_cast<std::uint16_t>(history.size() + 1));
        history.push_back(desktop_);
        return S_OK;
    }
    HRESULT move_rects(std::span<DXGI_OUTDUPL_MOVE_RECT>, UINT& used) override {
        EXPECT_TRUE(held_);
        EXPECT_TRUE(step_.present && !step_.first_of_duplication)
            << "metadata read of a frame without a present";
        used = 0;
        return S_OK;
    }
    HRESULT dirty_rects(std::span<RECT> buffer, UINT& used) override {
        EXPECT_TRUE(held_);
        EXPECT_TRUE(step_.present && !step_.first_of_duplication)
            << "metadata read of a frame without a present";
        used = 0;
        if (!step_.present || step_.first_of_duplication) return S_OK;
        used = static_cast<UINT>(step_.dirty.size() * sizeof(RECT));
        if (buffer.size() < step_.dirty.size()) return DXGI_ERROR_MORE_DATA;
        std::copy(step_.dirty.begin(), step_.dirty.end(), buffer.begin());
        return S_OK;
    }
    HRESULT pointer_shape(std::span<std::byte> buffer, UINT& used,
                          DXGI_OUTDUPL_POINTER_SHAPE_INFO& info) override {
        EXPECT_TRUE(held_);
        used = 16;
        if (buffer.size() < 16) return DXGI_ERROR_MORE_DATA;
        info = {};
        info.Type = DXGI_OUTDUPL_POINTER_SHAPE_TYPE_COLOR;
        info.Width = 2;
        info.Height = 2;
        info.Pitch = 8;
        info.HotSpot = POINT{1, 1};
        std::fill(buffer.begin(), buffer.begin() + 16, std::byte{0xFF});
        return S_OK;
    }
    void release_frame() override {
        EXPECT_TRUE(held_) << "ReleaseFrame without a frame";
        held_ = false;
    }

    Status create_staging(const StagingLayout& layout, std::size_t slots) override {
        EXPECT_TRUE(open_);
        staging_made.push_back(layout);
        staging_layout_ = layout;
        staging_.assign(slots, std::vector<std::byte>(std::size_t{layout.width} * layout.height *
                                                      bpp_of(layout.format)));
        mapped_.assign(slots, false);
        return {};
    }
    Status create_converter(std::uint32_t width, std::uint32_t height) override {
        if (!converter_available) return porthole::Error::make("no shader compiler");
        converted_.assign(std::size_t{width} * height * 4, std::byte{0});
        return {};
    }
    void convert(std::span<const Rect> rects) override {
        EXPECT_TRUE(held_);
        EXPECT_EQ(format_, DXGI_FORMAT_R16G16B16A16_FLOAT);
        ++converts;
        const std::uint32_t w = desktop_layout.width;
        for (const Rect& r : rects)
            for (std::uint32_t y = r.y; y < r.y + r.h; ++y)
                for (std::uint32_t x = r.x; x < r.x + r.w; ++x) {
                    std::uint16_t half[4];
                    std::memcpy(half, &desktop_[(std::size_t{y} * w + x) * 8], 8);
                    const std::uint32_t v = scrgb_to_rgb10a2(half);
                    std::memcpy(&converted_[(std::size_t{y} * w + x) * 4], &v, 4);
                }
    }
    void copy(std::size_t slot, std::span<const Rect> rects, bool from_converter) override {
        EXPECT_TRUE(held_) << "copy from a released desktop frame";
        EXPECT_FALSE(mapped_.at(slot)) << "copy into a mapped slot";
        const auto& from = from_converter ? converted_ : desktop_;
        const std::uint32_t bpp = from_converter ? 4U : bpp_of(format_);
        if (bpp != bpp_of(staging_layout_.format)) {
            ADD_FAILURE() << "copy between formats of " << bpp << " and "
                          << bpp_of(staging_layout_.format) << " bytes a pixel";
            return;
        }
        const std::uint32_t w = desktop_layout.width;
        for (const Rect& r : rects)
            for (std::uint32_t y = r.y; y < r.y + r.h; ++y)
                std::memcpy(&staging_[slot][(std::size_t{y} * w + r.x) * bpp],
                            &from[(std::size_t{y} * w + r.x) * bpp], std::size_t{r.w} * bpp);
    }
    MapResult map(std::size_t slot, bool, MappedSlot& out) override {
        EXPECT_FALSE(mapped_.at(slot));
        mapped_[slot] = true;
        out.data = staging_[slot].data();
        out.row_pitch = staging_layout_.width * bpp_of(staging_layout_.format);
        return MapResult::ok;
    }
    void unmap(std::size_t slot) override {
        EXPECT_TRUE(mapped_.at(slot));
        mapped_.at(slot) = false;
    }

    [[nodiscard]] bool is_open() const { return open_; }
    void add_frames(int n, std::vector<RECT> dirty = {}, std::uint32_t width = 8,
                    std::uint32_t height = 4) {
        for (int i = 0; i < n; ++i) {
            Step s;
            s.dirty = dirty;
            s.width = width;
            s.height = height;
            script.push_back(s);
        }
    }

  private:
    // Paints the step's dirty rects with frame n: BGRA/RGB10A2 pixels hold n,
    // FP16 pixels n/8 in red, 0.25 green, 1.0 alpha.
    void paint(std::uint16_t n) {
        const std::uint32_t bpp = bpp_of(desktop_layout.format);
        for (const RECT& r : step_.dirty)
            for (auto y = static_cast<std::size_t>(r.top); y < static_cast<std::size_t>(r.bottom);
                 ++y)
                for (auto x = static_cast<std::size_t>(r.left);
                     x < static_cast<std::size_t>(r.right); ++x) {
                    std::byte* p = &desktop_[(y * desktop_layout.width + x) * bpp];
                    if (bpp == 4) {
                        const std::uint32_t v = n;
                        std::memcpy(p, &v, 4);
                    } else {
                        // n/8 as a half: exact for small n.
                        const float f = static_cast<float>(n) / 8.0F;
                        std::uint32_t bits = 0;
                        std::memcpy(&bits, &f, 4);
                        const auto h = static_cast<std::uint16_t>(
                            ((bits >> 16) & 0x8000U) |
                            ((((bits >> 23) & 0xFFU) - 127U + 15U) << 10) |
                            ((bits >> 13) & 0x3FFU));
                        const std::uint16_t px[4] = {h, 0x3400, 0, 0x3C00};
                        std::memcpy(p, px, 8);
                    }
                }
    }

    bool open_ = false, lost_ = false, held_ = false;
    DXGI_FORMAT format_ = DXGI_FORMAT_B8G8R8A8_UNORM;
    Step step_;
    std::vector<std::byte> desktop_, converted_;
    StagingLayout staging_layout_;
    std::vector<std::vector<std::byte>> staging_;
    std::vector<bool> mapped_;
};

FakeDxgi::Step access_lost() {
    FakeDxgi::Step s;
    s.hr = DXGI_ERROR_ACCESS_LOST;
    return s;
}

struct Made {
    std::unique_ptr<DxgiSource> source;
    FakeDxgi* fake = nullptr;  // owned by source
};

Made make(std::unique_ptr<FakeDxgi> fake, CaptureOptions options = {}) {
    FakeDxgi* raw = fake.get();
    auto s = DxgiSource::create(options, std::move(fake));
    EXPECT_TRUE(s) << (s ? "" : s.error().message);
    if (!s) return {};
    return {std::move(*s), raw};
}

// The image expected for history entry `id` in the region's format.
std::vector<std::byte> expected_image(const FakeDxgi& fake, std::size_t id, PixelFormat format) {
    const auto& desk = fake.history.at(id);
    if (!(bpp_of(fake.desktop_layout.format) == 8 && format == PixelFormat::rgb10a2)) return desk;
    std::vector<std::byte> out(desk.size() / 2);
    for (std::size_t i = 0; i < out.size() / 4; ++i) {
        std::uint16_t half[4];
        std::memcpy(half, &desk[i * 8], 8);
        const std::uint32_t v = scrgb_to_rgb10a2(half);
        std::memcpy(&out[i * 4], &v, 4);
    }
    return out;
}

// Which desktop the frame shows (index into fake.history), or -1 if none.
int shown_desktop(const FakeDxgi& fake, const CapturedFrame& f) {
    const std::uint32_t bpp = porthole::protocol::bytes_per_pixel(f.image.format);
    for (int id = static_cast<int>(fake.history.size()) - 1; id >= 0; --id) {
        const auto want = expected_image(fake, static_cast<std::size_t>(id), f.image.format);
        if (want.size() != std::size_t{f.image.width} * f.image.height * bpp) continue;
        bool same = true;
        for (std::uint32_t y = 0; y < f.image.height && same; ++y)
            same = std::memcmp(f.image.pixels + std::size_t{y} * f.image.stride,
                               &want[std::size_t{y} * f.image.width * bpp],
                               std::size_t{f.image.width} * bpp) == 0;
        if (same) return id;
    }
    return -1;
}

// Frames until a timeout (at most `limit` calls); the desktops they showed.
std::vector<int> drain(Made& m, int limit = 20) {
    std::vector<int> shown;
    for (int i = 0; i < limit; ++i) {
        CapturedFrame f;
        const auto st = m.source->next_frame(1ms, f);
        if (st == CaptureStatus::timeout) break;
        EXPECT_EQ(st, CaptureStatus::ok) << m.source->last_error();
        if (st == CaptureStatus::ok) shown.push_back(shown_desktop(*m.fake, f));
    }
    return shown;
}

bool asked_fp16(const std::vector<DXGI_FORMAT>& formats) {
    return std::find(formats.begin(), formats.end(), DXGI_FORMAT_R16G16B16A16_FLOAT) !=
           formats.end();
}

// Captures spdlog's messages for the test's lifetime.
class LogCapture {
  public:
    LogCapture()
        : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(256)),
          previous_(spdlog::default_logger()) {
        spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink_));
    }
    ~LogCapture() { spdlog::set_default_logger(previous_); }
    LogCapture(const LogCapture&) = delete;
    LogCapture& operator=(const LogCapture&) = delete;
    [[nodiscard]] int count(std::string_view text) const {
        int n = 0;
        for (const auto& line : sink_->last_formatted())
            n += line.find(text) != std::string::npos ? 1 : 0;
        return n;
    }

  private:
    std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
    std::shared_ptr<spdlog::logger> previous_;
};

}  // namespace

TEST(DxgiSourceFake, EmulatedAdapterListedFirstIsSkipped) {
    auto fake = std::make_unique<FakeDxgi>();
    fake->outs = {qxl(), gpu()};
    fake->add_frames(1);
    auto m = make(std::move(fake));
    ASSERT_TRUE(m.source);
    EXPECT_EQ(m.fake->opened, (std::vector<std::size_t>{1}));
    const auto r = m.source->desktop_rect();
    EXPECT_EQ(r.left, 8);
    EXPECT_EQ(r.right, 16);
    EXPECT_EQ(drain(m), (std::vector<int>{0}));
}

TEST(DxgiSourceFake, TwoMonitorsSecondChosenByOutputOption) {
    CaptureOptions by_number;
    by_number.output = "1";
    CaptureOptions by_name;
    by_name.output = "\\\\.\\DISPLAY3";
    for (const auto& options : {by_number, by_name}) {
        auto fake = std::make_unique<FakeDxgi>();
        fake->outs = {gpu("\\\\.\\DISPLAY2", 0), gpu("\\\\.\\DISPLAY3", 8)};
        fake->outs[1].output_index = 1;
        auto m = make(std::move(fake), options);
        ASSERT_TRUE(m.source);
        EXPECT_EQ(m.fake->opened, (std::vector<std::size_t>{1})) << options.output;
        EXPECT_EQ(m.source->desktop_rect().left, 8) << options.output;
    }
    // Without the option the first real GPU's output is captured.
    auto fake = std::make_unique<FakeDxgi>();
    fake->outs = {gpu("\\\\.\\DISPLAY2", 0), gpu("\\\\.\\DISPLAY3", 8)};
    auto m = make(std::move(fake));
    ASSERT_TRUE(m.source);
    EXPECT_EQ(m.fake->opened, (std::vector<std::size_t>{0}));
    EXPECT_EQ(m.source->desktop_rect().left, 0);
}

TEST(DxgiSourceFake, HdrDesktopInSmallRegionAsksWithoutFp16AndConverts) {
    LogCapture log;
    auto fake = std::make_unique<FakeDxgi>();
    fake->outs = {gpu()};
    fake->hdr = true;
    fake->fp16_always = true;  // a driver that gives FP16 anyway
    fake->add_frames(1);
    fake->add_frames(1, {RECT{2, 1, 5, 3}});
    fake->script.push_back(access_lost());
    fake->add_frames(1);
    CaptureOptions options;
    options.max_frame_bytes = 8 * 4 * 4;  // fits 4 bytes a pixel, not FP16's 8
    auto m = make(std::move(fake), options);
    ASSERT_TRUE(m.source);
    ASSERT_EQ(m.fake->formats_asked.size(), 1U);
    EXPECT_FALSE(asked_fp16(m.fake->formats_asked[0]));

    // Converted on the "GPU" into RGB10A2 staging textures, each frame the
    // desktop shown, no frame refused.
    std::vector<int> shown;
    for (int i = 0; i < 10; ++i) {
        CapturedFrame f;
        const auto st = m.source->next_frame(1ms, f);
        if (st == CaptureStatus::timeout) break;
        ASSERT_NE(st, CaptureStatus::unfit) << m.source->last_error();
        if (st != CaptureStatus::ok) continue;  // the re-init after access lost
        EXPECT_EQ(f.image.format, PixelFormat::rgb10a2);
        shown.push_back(shown_desktop(*m.fake, f));
    }
    EXPECT_EQ(shown, (std::vector<int>{0, 1, 2}));
    for (const auto& s : m.fake->staging_made)
        EXPECT_EQ(s.format, static_cast<std::uint32_t>(DXGI_FORMAT_R10G10B10A2_UNORM));
    EXPECT_EQ(m.fake->staging_made.size(), 2U);  // before and after the re-init
    EXPECT_EQ(m.fake->converts, 3);
    // The region size full FP16 needs is said once, not on every re-init.
    EXPECT_EQ(log.count("full FP16 needs a region of"), 1);
}

TEST(DxgiSourceFake, HdrDesktopWithoutShaderCompilerConvertsOnCpu) {
    auto fake = std::make_unique<FakeDxgi>();
    fake->outs = {gpu()};
    fake->hdr = true;
    fake->fp16_always = true;
    fake->converter_available = false;
    fake->add_frames(1);
    fake->add_frames(1, {RECT{0, 0, 3, 2}});
    CaptureOptions options;
    options.max_frame_bytes = 8 * 4 * 4;
    auto m = make(std::move(fake), options);
    ASSERT_TRUE(m.source);
    EXPECT_EQ(drain(m), (std::vector<int>{0, 1}));
    ASSERT_EQ(m.fake->staging_made.size(), 1U);
    EXPECT_EQ(m.fake->staging_made[0].format,
              static_cast<std::uint32_t>(DXGI_FORMAT_R16G16B16A16_FLOAT));
    EXPECT_EQ(m.fake->converts, 0);
}

TEST(DxgiSourceFake, HdrDesktopThatFitsIsAskedForFp16AndCarriedAsIs) {
    auto fake = std::make_unique<FakeDxgi>();
    fake->outs = {gpu()};
    fake->hdr = true;
    fake->add_frames(1);
    CaptureOptions options;
    options.max_frame_bytes = 8 * 4 * 8;
    auto m = make(std::move(fake), options);
    ASSERT_TRUE(m.source);
    ASSERT_EQ(m.fake->formats_asked.size(), 1U);
    EXPECT_TRUE(asked_fp16(m.fake->formats_asked[0]));
    CapturedFrame f;
    ASSERT_EQ(m.source->next_frame(1ms, f), CaptureStatus::ok);
    EXPECT_EQ(f.image.format, PixelFormat::rgba16f);
    EXPECT_EQ(shown_desktop(*m.fake, f), 0);
    EXPECT_EQ(m.fake->converts, 0);
}

TEST(DxgiSourceFake, FrameTooLargeIsSkippedNotFatal) {
    auto fake = std::make_unique<FakeDxgi>();
    fake->outs = {gpu()};
    fake->add_frames(1, {}, 8, 4);  // 128 bytes
    fake->add_frames(1, {}, 4, 4);  // a mode change to 64 bytes
    CaptureOptions options;
    options.max_frame_bytes = 64;
    auto m = make(std::move(fake), options);
    ASSERT_TRUE(m.source);
    CapturedFrame f;
    EXPECT_EQ(m.source->next_frame(1ms, f), CaptureStatus::unfit);
    EXPECT_NE(m.source->last_error().find("enlarge the IVSHMEM region"), std::string::npos)
        << m.source->last_error();
    EXPECT_TRUE(m.fake->is_open()) << "the duplication is kept";
    ASSERT_EQ(m.source->next_frame(1ms, f), CaptureStatus::ok) << m.source->last_error();
    EXPECT_EQ(f.image.width, 4U);
    EXPECT_EQ(shown_desktop(*m.fake, f), 1);
    EXPECT_EQ(m.fake->opened.size(), 1U);
}

TEST(DxgiSourceFake, AccessLostReinitialisesAndCaptureGoesOn) {
    auto fake = std::make_unique<FakeDxgi>();
    fake->outs = {qxl(), gpu()};
    fake->add_frames(1);
    fake->script.push_back(access_lost());
    FakeDxgi::Step first;  // the new duplication's first frame
    first.first_of_duplication = true;
    first.dirty = {RECT{1, 1, 2, 2}};
    fake->script.push_back(first);
    fake->add_frames(1, {RECT{3, 0, 4, 1}});
    auto m = make(std::move(fake));
    ASSERT_TRUE(m.source);
    CapturedFrame f;
    ASSERT_EQ(m.source->next_frame(1ms, f), CaptureStatus::ok);
    EXPECT_EQ(m.source->next_frame(1ms, f), CaptureStatus::reinit);
    EXPECT_NE(m.source->last_error().find("lost"), std::string::npos) << m.source->last_error();
    ASSERT_EQ(m.source->next_frame(1ms, f), CaptureStatus::ok) << m.source->last_error();
    EXPECT_EQ(m.fake->opened, (std::vector<std::size_t>{1, 1}));
    // A new duplication's first frame is the whole desktop, whatever its dirty rects say.
    ASSERT_EQ(f.damage.rects().size(), 1U);
    EXPECT_EQ(f.damage.rects()[0], (Rect{0, 0, 8, 4}));
    EXPECT_EQ(shown_desktop(*m.fake, f), 1);
    ASSERT_EQ(m.source->next_frame(1ms, f), CaptureStatus::ok);
    ASSERT_EQ(f.damage.rects().size(), 1U);
    EXPECT_EQ(f.damage.rects()[0], (Rect{3, 0, 1, 1}));
    EXPECT_EQ(shown_desktop(*m.fake, f), 2);
}

TEST(DxgiSourceFake, TimeoutGivesNoFrame) {
    auto fake = std::make_unique<FakeDxgi>();
    fake->outs = {gpu()};
    fake->add_frames(1);
    auto m = make(std::move(fake));
    ASSERT_TRUE(m.source);
    CapturedFrame f;
    ASSERT_EQ(m.source->next_frame(1ms, f), CaptureStatus::ok);
    EXPECT_EQ(m.source->next_frame(1ms, f), CaptureStatus::timeout);
    EXPECT_EQ(m.source->next_frame(1ms, f), CaptureStatus::timeout);
    EXPECT_FALSE(m.source->cursor());
    EXPECT_EQ(m.fake->opened.size(), 1U) << "a timeout re-created the duplication";
}

TEST(DxgiSourceFake, PointerOnlyUpdateGivesCursorNoFrame) {
    auto fake = std::make_unique<FakeDxgi>();
    fake->outs = {gpu()};
    fake->add_frames(1);
    FakeDxgi::Step pointer;
    pointer.present = false;
    pointer.pointer = POINT{5, 2};
    pointer.shape = true;
    fake->script.push_back(pointer);
    auto m = make(std::move(fake));
    ASSERT_TRUE(m.source);
    CapturedFrame f;
    ASSERT_EQ(m.source->next_frame(1ms, f), CaptureStatus::ok);
    EXPECT_EQ(m.source->next_frame(1ms, f), CaptureStatus::timeout);
    const auto c = m.source->cursor();
    ASSERT_TRUE(c);
    EXPECT_TRUE(c->visible);
    EXPECT_EQ(c->x, 6);  // DXGI's top-left of the shape plus the hotspot
    EXPECT_EQ(c->y, 3);
    ASSERT_TRUE(c->shape);
    EXPECT_EQ(c->shape->width, 2U);
    EXPECT_EQ(m.fake->history.size(), 1U);
    EXPECT_FALSE(m.source->cursor()) << "the same update handed out twice";
}

TEST(DxgiSourceFake, NoDisplayWaitsThenCapturesWhenOneAppears) {
    auto fake = std::make_unique<FakeDxgi>();
    fake->outs = {qxl()};
    fake->add_frames(1);
    auto m = make(std::move(fake));
    ASSERT_TRUE(m.source) << "no display must not fail the agent";
    CapturedFrame f;
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(m.source->next_frame(1ms, f), CaptureStatus::no_output);
        EXPECT_NE(m.source->last_error().find("dummy"), std::string::npos)
            << m.source->last_error();
    }
    EXPECT_TRUE(m.fake->opened.empty());
    m.fake->outs.push_back(gpu());  // a dummy plug in the GPU
    ASSERT_EQ(m.source->next_frame(1ms, f), CaptureStatus::ok) << m.source->last_error();
    EXPECT_EQ(m.fake->opened, (std::vector<std::size_t>{1}));
    EXPECT_EQ(shown_desktop(*m.fake, f), 0);
}
