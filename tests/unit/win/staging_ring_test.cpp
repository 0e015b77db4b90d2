// The DXGI capture loop's staging ring against a fake duplication and device
// context: a small desktop of frame numbers, copies done on a fake "GPU"
// that can stay busy for a number of DO_NOT_WAIT maps, and a log of every
// call. Each frame handed out is compared with the desktop as it was when
// that frame was captured, pixel by pixel.
#include <gtest/gtest.h>

#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include "capture/win/staging_ring.hpp"

using namespace porthole::agent;
using namespace porthole::agent::win;
using namespace std::chrono_literals;
using porthole::protocol::DamageList;
using porthole::protocol::Rect;
using Kind = DuplicationPort::Acquired::Kind;

namespace {

class FakeDuplication final : public DuplicationPort {
  public:
    // One scripted AcquireNextFrame result; an image writes `id` into its damage.
    struct Step {
        Kind kind = Kind::image;
        std::uint32_t width = 8, height = 4;
        std::vector<Rect> damage;  // empty: the whole desktop
        bool damage_known = true;
    };
    std::deque<Step> script;  // an empty script times out
    int busy_maps = 0;        // DO_NOT_WAIT maps of a fresh copy that find it still drawing
    std::uint32_t max_width = 1u << 20;  // make_staging refuses wider desktops (unfit)
    bool fail_maps = false;
    std::vector<std::string> log;

    // The desktop after each captured frame (index: frame id).
    std::vector<std::vector<std::uint32_t>> history{{}};
    std::vector<std::uint32_t> desktop;
    std::uint32_t width = 0, height = 0;

    Acquired acquire(std::chrono::milliseconds timeout) override {
        log.push_back("acquire " + std::to_string(timeout.count()));
        EXPECT_FALSE(held_) << "AcquireNextFrame before ReleaseFrame";
        Acquired a;
        if (script.empty()) return a;
        Step s = script.front();
        script.pop_front();
        a.kind = s.kind;
        if (s.kind == Kind::lost || s.kind == Kind::failed) {
            a.why = "access lost";
            return a;
        }
        held_ = true;
        if (s.kind != Kind::image) return a;
        const auto id = static_cast<std::uint32_t>(history.size());
        if (s.width != width || s.height != height) {
            width = s.width;
            height = s.height;
            desktop.assign(std::size_t{width} * height, 0);
            s.damage.clear();
        }
        if (s.damage.empty()) s.damage.push_back(Rect{0, 0, width, height});
        for (const Rect& r : s.damage)
            for (std::uint32_t y = r.y; y < r.y + r.h; ++y)
                for (std::uint32_t x = r.x; x < r.x + r.w; ++x)
                    desktop[std::size_t{y} * width + x] = id;
        history.push_back(desktop);
        a.layout = StagingLayout{width, height, 87};
        for (const Rect& r : s.damage)
            a.damage.add(r);
        a.damage_known = s.damage_known;
        a.capture_time_ns = id;  // which frame, for the test
        return a;
    }
    void release_frame() override {
        log.push_back("release");
        held_ = false;
    }
    porthole::Status make_staging(const StagingLayout& layout, std::size_t slots) override {
        log.push_back("staging " + std::to_string(layout.width) + "x" +
                      std::to_string(layout.height));
        if (layout.width > max_width) return porthole::Error::make("too wide for the region");
        textures_.assign(slots, Texture{});
        for (auto& t : textures_)
            t.pixels.assign(std::size_t{layout.width} * layout.height, 0xDEAD);
        return {};
    }
    void copy(std::size_t slot, std::span<const Rect> rects) override {
        std::string line = "copy " + std::to_string(slot);
        EXPECT_TRUE(held_) << "copy from a released desktop frame";
        Texture& t = textures_.at(slot);
        EXPECT_FALSE(t.mapped) << "copy into a mapped slot " << slot;
        EXPECT_FALSE(t.unread) << "copy over a frame not yet handed out, slot " << slot;
        for (const Rect& r : rects) {
            line += " " + std::to_string(r.x) + "," + std::to_string(r.y) + "," +
                    std::to_string(r.w) + "x" + std::to_string(r.h);
            for (std::uint32_t y = r.y; y < r.y + r.h; ++y)
                for (std::uint32_t x = r.x; x < r.x + r.w; ++x)
                    t.pixels[std::size_t{y} * width + x] = desktop[std::size_t{y} * width + x];
        }
        t.busy = busy_maps;
        t.unread = true;
        log.push_back(line);
    }
    MapResult map(std::size_t slot, bool wait, MappedSlot& out) override {
        log.push_back("map " + std::to_string(slot) + (wait ? " wait" : " nowait"));
        Texture& t = textures_.at(slot);
        EXPECT_FALSE(t.mapped);
        if (fail_maps) return MapResult::failed;
        if (!wait && t.busy > 0) {
            --t.busy;
            return MapResult::still_drawing;
        }
        t.busy = 0;
        t.mapped = true;
        t.unread = false;
        out.data = reinterpret_cast<const std::byte*>(t.pixels.data());
        out.row_pitch = width * 4;
        return MapResult::ok;
    }
    void unmap(std::size_t slot) override {
        log.push_back("unmap " + std::to_string(slot));
        EXPECT_TRUE(textures_.at(slot).mapped);
        textures_.at(slot).mapped = false;
    }

    [[nodiscard]] int mapped_count() const {
        int n = 0;
        for (const auto& t : textures_)
            n += t.mapped ? 1 : 0;
        return n;
    }
    void add_frames(int n, std::vector<Rect> damage = {}) {
        for (int i = 0; i < n; ++i)
            script.push_back(
                Step{Kind::image, width == 0 ? 8 : width, height == 0 ? 4 : height, damage});
    }

  private:
    struct Texture {
        std::vector<std::uint32_t> pixels;
        int busy = 0;
        bool mapped = false;
        bool unread = false;  // copied, not yet mapped
    };
    std::vector<Texture> textures_;
    bool held_ = false;
};

// The frame's image is exactly the desktop as it was when it was captured.
void expect_whole_desktop(const FakeDuplication& fake, const RingFrame& f) {
    ASSERT_EQ(f.status, CaptureStatus::ok);
    const auto id = static_cast<std::size_t>(f.capture_time_ns);
    ASSERT_LT(id, fake.history.size());
    const auto& want = fake.history[id];
    ASSERT_EQ(want.size(), std::size_t{f.layout.width} * f.layout.height);
    for (std::uint32_t y = 0; y < f.layout.height; ++y) {
        std::vector<std::uint32_t> row(f.layout.width);
        std::memcpy(row.data(), f.map.data + std::size_t{y} * f.map.row_pitch, row.size() * 4);
        for (std::uint32_t x = 0; x < f.layout.width; ++x)
            ASSERT_EQ(row[x], want[std::size_t{y} * f.layout.width + x])
                << "frame " << id << " pixel " << x << "," << y;
    }
}

bool has(const std::vector<std::string>& log, const std::string& line) {
    return std::find(log.begin(), log.end(), line) != log.end();
}

}  // namespace

TEST(StagingRing, FramesComeOutInOrderEachTheWholeDesktopAsCaptured) {
    FakeDuplication fake;
    fake.busy_maps = 1;
    // Small damage in different places: each slot must catch up with what it missed.
    const std::vector<std::vector<Rect>> damage = {{},
                                                   {{0, 0, 2, 2}},
                                                   {{6, 2, 2, 2}},
                                                   {{3, 1, 1, 1}, {0, 3, 8, 1}},
                                                   {{1, 1, 2, 1}},
                                                   {{7, 0, 1, 4}},
                                                   {{2, 2, 3, 2}},
                                                   {{0, 0, 1, 1}}};
    for (const auto& d : damage)
        fake.script.push_back({Kind::image, 8, 4, d});
    StagingRing ring;
    std::uint64_t last = 0;
    for (int calls = 0; calls < 40 && last < damage.size(); ++calls) {
        const RingFrame f = ring.next(fake, 16ms);
        if (f.status == CaptureStatus::timeout) continue;
        ASSERT_EQ(f.capture_time_ns, last + 1) << "a frame skipped or out of order";
        last = f.capture_time_ns;
        expect_whole_desktop(fake, f);
        // What changed since the frame before: exactly that frame's damage.
        DamageList want;
        if (last == 1)
            want.set_full(8, 4);
        else
            want.add(damage[last - 1]);
        ASSERT_EQ(f.damage.size(), want.size());
        for (std::size_t i = 0; i < want.size(); ++i)
            EXPECT_EQ(f.damage.rects()[i], want.rects()[i]);
        EXPECT_EQ(fake.mapped_count(), 1);
    }
    EXPECT_EQ(last, damage.size());
    EXPECT_EQ(ring.next(fake, 16ms).status, CaptureStatus::timeout);
    EXPECT_EQ(fake.mapped_count(), 0);
}

TEST(StagingRing, ACopyStillDrawingLetsNewerFramesInBeforeItIsWaitedFor) {
    FakeDuplication fake;
    fake.busy_maps = 1000;  // DO_NOT_WAIT never finds a copy done
    fake.add_frames(5);
    StagingRing ring(3);
    RingFrame f = ring.next(fake, 16ms);
    ASSERT_EQ(f.status, CaptureStatus::ok);
    EXPECT_EQ(f.capture_time_ns, 1u);
    // Three frames copied into the three slots (the first acquire waits, the
    // others do not) before the oldest is mapped with a wait.
    const std::vector<std::string> want = {
        "acquire 16",     "staging 8x4",    "copy 0 0,0,8x4", "release",      "map 0 nowait",
        "acquire 0",      "copy 1 0,0,8x4", "release",        "map 0 nowait", "acquire 0",
        "copy 2 0,0,8x4", "release",        "map 0 nowait",   "map 0 wait"};
    EXPECT_EQ(fake.log, want);
    EXPECT_EQ(ring.in_flight(), 2u);
    // The mapped slot is not written while handed out; the next call frees it first.
    fake.log.clear();
    f = ring.next(fake, 16ms);
    EXPECT_EQ(f.capture_time_ns, 2u);
    ASSERT_GE(fake.log.size(), 3u);
    EXPECT_EQ(fake.log[0], "unmap 0");
    EXPECT_TRUE(has(fake.log, "copy 0 0,0,8x4")) << "frame 4 into the freed slot";
    expect_whole_desktop(fake, f);
}

TEST(StagingRing, TheNextFrameIsCopiedWhileTheCallerPublishes) {
    FakeDuplication fake;
    fake.busy_maps = 0;
    fake.add_frames(2, {{1, 1, 2, 2}});
    StagingRing ring;
    RingFrame f = ring.next(fake, 16ms);
    ASSERT_EQ(f.capture_time_ns, 1u);
    // Frame 2 was taken and its copy queued before frame 1 was handed out.
    EXPECT_EQ(fake.log.back(), "release");
    EXPECT_TRUE(has(fake.log, "copy 1 0,0,8x4"));
    EXPECT_EQ(ring.in_flight(), 1u);
    fake.log.clear();
    f = ring.next(fake, 16ms);
    EXPECT_EQ(f.capture_time_ns, 2u);
    EXPECT_EQ(fake.log.front(), "unmap 0");
    EXPECT_EQ(fake.log[1], "map 1 nowait");
    expect_whole_desktop(fake, f);
}

TEST(StagingRing, WaitTimeoutWithNothingInFlightIsATimeoutAfterTheCallersWait) {
    FakeDuplication fake;
    StagingRing ring;
    EXPECT_EQ(ring.next(fake, 25ms).status, CaptureStatus::timeout);
    EXPECT_EQ(fake.log, std::vector<std::string>{"acquire 25"});
}

TEST(StagingRing, PointerOnlyUpdateCopiesNothingAndReleasesTheFrame) {
    FakeDuplication fake;
    fake.add_frames(1);
    StagingRing ring;
    ASSERT_EQ(ring.next(fake, 16ms).status, CaptureStatus::ok);
    fake.script.push_back(FakeDuplication::Step{Kind::pointer_only, 8, 4, {}, true});
    fake.log.clear();
    EXPECT_EQ(ring.next(fake, 16ms).status, CaptureStatus::timeout);
    for (const auto& line : fake.log)
        EXPECT_EQ(line.rfind("copy", 0), std::string::npos) << line;
    EXPECT_TRUE(has(fake.log, "release"));
    // The next image after it is whole and in order.
    fake.add_frames(1, {{2, 0, 1, 1}});
    const RingFrame f = ring.next(fake, 16ms);
    EXPECT_EQ(f.capture_time_ns, 2u);
    expect_whole_desktop(fake, f);
}

TEST(StagingRing, AccessLostHandsOutFramesAlreadyCopiedThenAsksForReinit) {
    FakeDuplication fake;
    fake.busy_maps = 1;
    fake.add_frames(1);
    fake.script.push_back(FakeDuplication::Step{Kind::lost, 8, 4, {}, true});
    StagingRing ring;
    RingFrame f = ring.next(fake, 16ms);
    ASSERT_EQ(f.status, CaptureStatus::ok);
    EXPECT_EQ(f.capture_time_ns, 1u);
    f = ring.next(fake, 16ms);
    EXPECT_EQ(f.status, CaptureStatus::reinit);
    EXPECT_EQ(f.why, "access lost");
    EXPECT_EQ(fake.mapped_count(), 0);
    // The duplication is re-created: new textures, and a whole first frame.
    ring.reset(fake);
    fake.log.clear();
    fake.add_frames(1, {{0, 0, 1, 1}});
    f = ring.next(fake, 16ms);
    ASSERT_EQ(f.status, CaptureStatus::ok);
    EXPECT_TRUE(has(fake.log, "staging 8x4"));
    EXPECT_TRUE(has(fake.log, "copy 0 0,0,8x4"));
    ASSERT_EQ(f.damage.size(), 1u);
    EXPECT_EQ(f.damage.rects()[0], (Rect{0, 0, 8, 4}));
    expect_whole_desktop(fake, f);
}

TEST(StagingRing, UnknownDamageCopiesAndReportsTheWholeDesktop) {
    FakeDuplication fake;
    fake.add_frames(1);
    StagingRing ring;
    ASSERT_EQ(ring.next(fake, 16ms).status, CaptureStatus::ok);
    fake.script.push_back({Kind::image, 8, 4, {{0, 0, 1, 1}}, false});
    fake.log.clear();
    const RingFrame f = ring.next(fake, 16ms);
    ASSERT_EQ(f.status, CaptureStatus::ok);
    EXPECT_TRUE(has(fake.log, "copy 1 0,0,8x4"));
    EXPECT_EQ(f.damage.rects()[0], (Rect{0, 0, 8, 4}));
}

TEST(StagingRing, ADesktopSizeChangeWaitsForTheFramesInFlightThenMakesNewTextures) {
    FakeDuplication fake;
    fake.busy_maps = 0;
    fake.add_frames(1);
    fake.script.push_back({Kind::image, 16, 8, {}});
    StagingRing ring;
    RingFrame f = ring.next(fake, 16ms);
    ASSERT_EQ(f.capture_time_ns, 1u);
    // The 16x8 frame was taken while slot 0 is mapped: held, not yet released.
    EXPECT_EQ(fake.log.back(), "acquire 0");
    fake.log.clear();
    f = ring.next(fake, 16ms);
    ASSERT_EQ(f.status, CaptureStatus::ok);
    EXPECT_EQ(f.capture_time_ns, 2u);
    EXPECT_EQ(fake.log[0], "unmap 0");
    EXPECT_EQ(fake.log[1], "staging 16x8");
    EXPECT_EQ(f.layout.width, 16u);
    EXPECT_EQ(f.damage.rects()[0], (Rect{0, 0, 16, 8}));
    expect_whole_desktop(fake, f);
}

TEST(StagingRing, ADesktopTooLargeForTheRegionIsUnfitAndNotFatal) {
    FakeDuplication fake;
    fake.max_width = 10;
    fake.script.push_back({Kind::image, 16, 8, {}});
    StagingRing ring;
    RingFrame f = ring.next(fake, 16ms);
    EXPECT_EQ(f.status, CaptureStatus::unfit);
    EXPECT_EQ(f.why, "too wide for the region");
    EXPECT_EQ(fake.log.back(), "release");
    // The mode changes back to one that fits.
    fake.script.push_back({Kind::image, 8, 4, {}});
    f = ring.next(fake, 16ms);
    ASSERT_EQ(f.status, CaptureStatus::ok);
    expect_whole_desktop(fake, f);
}

TEST(StagingRing, AMapThatFailsAsksForReinit) {
    FakeDuplication fake;
    fake.fail_maps = true;
    fake.add_frames(1);
    StagingRing ring;
    const RingFrame f = ring.next(fake, 16ms);
    EXPECT_EQ(f.status, CaptureStatus::reinit);
    EXPECT_EQ(ring.in_flight(), 0u);
}
