#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "porthole/protocol/frame_channel.hpp"
#include "porthole/protocol/layout.hpp"
#include "porthole/protocol/shared_memory.hpp"
#include "porthole/protocol/test_pattern.hpp"
#include "support/aligned_region.hpp"

using namespace porthole::protocol;
using porthole::testing::AlignedRegion;

namespace {

// Frame n of the test pattern at a given size, kept as a full image.
struct PatternImage {
    std::uint32_t w, h;
    PixelFormat fmt = PixelFormat::bgra8;
    std::vector<std::byte> pixels;
    std::uint64_t n = 0;

    PatternImage(std::uint32_t width, std::uint32_t height, PixelFormat f = PixelFormat::bgra8)
        : w(width), h(height), fmt(f), pixels(std::size_t{width} * height * bytes_per_pixel(f)) {}
    std::uint32_t stride() const { return w * bytes_per_pixel(fmt); }
    // Draws frame n and returns what changed since frame n-1.
    DamageList draw(std::uint64_t frame) {
        n = frame;
        DamageList d = pattern::damage(frame, w, h);
        pattern::render(frame, w, h, fmt, pixels, stride(), d.rects());
        return d;
    }
    FrameSource source() const { return FrameSource{w, h, stride(), fmt, pixels.data()}; }
};

// The host: a persistent copy updated from accepted views.
struct HostCopy {
    std::vector<std::byte> pixels;
    std::uint32_t w = 0, h = 0, stride = 0;
    PixelFormat fmt = PixelFormat::bgra8;
    std::uint64_t bytes = 0;

    // Returns the accepted serial, 0 for nothing, -1 for torn.
    std::int64_t take(FrameReader& r) {
        auto v = r.poll();
        EXPECT_TRUE(v) << (v ? "" : v.error().message);
        if (!v || !*v) return 0;
        const FrameView& view = **v;
        if (view.meta.width != w || view.meta.height != h || view.format != fmt) {
            w = view.meta.width;
            h = view.meta.height;
            fmt = view.format;
            stride = w * bytes_per_pixel(fmt);
            pixels.assign(std::size_t{stride} * h, std::byte{0xEE});
        }
        copy_frame_rects(view, pixels, stride);
        for (const auto& rc : view.copy_rects.rects())
            bytes += rc.area() * bytes_per_pixel(fmt);
        return r.finish(view) ? static_cast<std::int64_t>(view.meta.serial) : -1;
    }
    bool matches(std::uint64_t n) const {
        return pattern::verify(n, w, h, fmt, pixels, stride).count == 0;
    }
};

struct Channel {
    AlignedRegion mem;
    explicit Channel(std::uint64_t frame_bytes, std::uint32_t slots = 3)
        : mem(frames_overhead() + slots * (kPageSize + frame_bytes + kPageSize)) {}
};

}  // namespace

TEST(FrameChannel, HostReceivesPublishedFramePixelExact) {
    Channel ch(320 * 200 * 4);
    auto w = FrameWriter::create(ch.mem.bytes(), 3);
    ASSERT_TRUE(w) << w.error().message;
    auto r = FrameReader::attach(ch.mem.bytes());
    ASSERT_TRUE(r) << r.error().message;
    PatternImage img(320, 200);
    HostCopy host;
    EXPECT_EQ(host.take(*r), 0);  // nothing published yet
    auto d = img.draw(0);
    ASSERT_TRUE(w->publish(img.source(), d, 123));
    EXPECT_EQ(host.take(*r), 1);
    EXPECT_TRUE(host.matches(0));
    EXPECT_EQ(host.take(*r), 0);  // the same frame is not delivered twice
}

TEST(FrameChannel, PartialUpdatesCopyOnlyDamageAndStayExact) {
    Channel ch(640 * 360 * 4);
    auto w = FrameWriter::create(ch.mem.bytes(), 3);
    auto r = FrameReader::attach(ch.mem.bytes());
    ASSERT_TRUE(w && r);
    PatternImage img(640, 360);
    HostCopy host;
    for (std::uint64_t n = 0; n < 50; ++n) {
        ASSERT_TRUE(w->publish(img.source(), img.draw(n), n));
        const std::uint64_t host_before = host.bytes;
        ASSERT_EQ(host.take(*r), static_cast<std::int64_t>(n + 1));
        ASSERT_TRUE(host.matches(n)) << "frame " << n;
        if (n >= 3) {
            // Each slot is three frames behind: the guest copies exactly the
            // union of those three frames' damage, the host exactly this frame's.
            DamageList acc;
            for (std::uint64_t k = n - 2; k <= n; ++k)
                acc.add(pattern::damage(k, 640, 360).rects());
            const std::uint64_t three = acc.area() * 4;
            EXPECT_EQ(w->stats().last_bytes_copied, three) << "frame " << n;
            EXPECT_EQ(host.bytes - host_before, pattern::damage(n, 640, 360).area() * 4);
            EXPECT_LT(three, 640ULL * 360 * 4 / 2);
        }
    }
}

TEST(FrameChannel, HostThatSkippedFramesCatchesUpFromDamageHistory) {
    Channel ch(320 * 240 * 4, 4);
    auto w = FrameWriter::create(ch.mem.bytes(), 4);
    auto r = FrameReader::attach(ch.mem.bytes());
    ASSERT_TRUE(w && r);
    PatternImage img(320, 240);
    HostCopy host;
    ASSERT_TRUE(w->publish(img.source(), img.draw(0), 0));
    ASSERT_EQ(host.take(*r), 1);
    for (std::uint64_t n = 1; n <= 10; ++n)
        ASSERT_TRUE(w->publish(img.source(), img.draw(n), n));
    const std::uint64_t before = host.bytes;
    ASSERT_EQ(host.take(*r), 11);
    EXPECT_TRUE(host.matches(10));
    EXPECT_LT(host.bytes - before, 320ULL * 240 * 4) << "catch-up copies damage, not the frame";
    EXPECT_EQ(r->stats().skipped, 9U);
}

TEST(FrameChannel, HostBeyondTheHistoryGetsAWholeFrame) {
    Channel ch(160 * 120 * 4);
    auto w = FrameWriter::create(ch.mem.bytes(), 3);
    auto r = FrameReader::attach(ch.mem.bytes());
    ASSERT_TRUE(w && r);
    PatternImage img(160, 120);
    HostCopy host;
    ASSERT_TRUE(w->publish(img.source(), img.draw(0), 0));
    ASSERT_EQ(host.take(*r), 1);
    for (std::uint64_t n = 1; n <= kDamageHistory + 5; ++n) {
        ASSERT_TRUE(w->publish(img.source(), img.draw(n), n));
    }
    auto v = r->poll();
    ASSERT_TRUE(v && *v);
    EXPECT_TRUE((*v)->full);
    std::vector<std::byte> buf(160 * 120 * 4);
    copy_frame_rects(**v, buf, 160 * 4);
    ASSERT_TRUE(r->finish(**v));
    EXPECT_EQ(pattern::verify(kDamageHistory + 5, 160, 120, PixelFormat::bgra8, buf, 160 * 4).count,
              0U);
}

TEST(FrameChannel, HostNeverAcceptsTornFrame) {
    Channel ch(128 * 64 * 4);
    auto w = FrameWriter::create(ch.mem.bytes(), 3);
    auto r = FrameReader::attach(ch.mem.bytes());
    ASSERT_TRUE(w && r);
    PatternImage img(128, 64);
    HostCopy host;
    ASSERT_TRUE(w->publish(img.source(), img.draw(0), 0));
    ASSERT_EQ(host.take(*r), 1);
    ASSERT_TRUE(w->publish(img.source(), img.draw(1), 1));
    auto v = r->poll();
    ASSERT_TRUE(v && *v);
    // While the host copies, the guest laps the ring and rewrites that slot.
    for (std::uint64_t n = 2; n <= 4; ++n)
        ASSERT_TRUE(w->publish(img.source(), img.draw(n), n));
    copy_frame_rects(**v, host.pixels, host.stride);
    EXPECT_FALSE(r->finish(**v));
    EXPECT_EQ(r->stats().torn, 1U);
    // The next frame is delivered whole and the copy is exact again.
    auto next = r->poll();
    ASSERT_TRUE(next && *next);
    EXPECT_TRUE((*next)->full);
    copy_frame_rects(**next, host.pixels, host.stride);
    ASSERT_TRUE(r->finish(**next));
    EXPECT_TRUE(host.matches(4));
}

TEST(FrameChannel, SlotBeingWrittenIsNotOffered) {
    Channel ch(64 * 64 * 4);
    auto w = FrameWriter::create(ch.mem.bytes(), 3);
    auto r = FrameReader::attach(ch.mem.bytes());
    ASSERT_TRUE(w && r);
    PatternImage img(64, 64);
    ASSERT_TRUE(w->publish(img.source(), img.draw(0), 0));
    // Simulate the guest stopping mid-write of that slot: odd sequence.
    const auto hdr = copy_out(*reinterpret_cast<const FrameChannelHeader*>(ch.mem.data()));
    auto& slot = *reinterpret_cast<FrameSlotHeader*>(ch.mem.data() + hdr.slots_offset);
    seqlock_begin_write(slot.seq);
    auto v = r->poll();
    ASSERT_TRUE(v);
    EXPECT_FALSE(*v);
}

TEST(FrameChannel, ResolutionChangeDeliversAWholeFrameOfTheNewSize) {
    Channel ch(320 * 240 * 4);
    auto w = FrameWriter::create(ch.mem.bytes(), 3);
    auto r = FrameReader::attach(ch.mem.bytes());
    ASSERT_TRUE(w && r);
    PatternImage a(320, 240), b(200, 100);
    HostCopy host;
    ASSERT_TRUE(w->publish(a.source(), a.draw(0), 0));
    ASSERT_EQ(host.take(*r), 1);
    ASSERT_TRUE(w->publish(b.source(), b.draw(0), 0));
    ASSERT_EQ(host.take(*r), 2);
    EXPECT_EQ(host.w, 200U);
    EXPECT_TRUE(host.matches(0));
    for (std::uint64_t n = 1; n < 6; ++n) {
        ASSERT_TRUE(w->publish(b.source(), b.draw(n), n));
        ASSERT_GT(host.take(*r), 0);
        ASSERT_TRUE(host.matches(n));
    }
}

TEST(FrameChannel, EveryFormatRoundTrips) {
    for (auto fmt : {PixelFormat::bgra8, PixelFormat::rgb10a2, PixelFormat::rgba16f}) {
        Channel ch(200 * 100 * 8);
        auto w = FrameWriter::create(ch.mem.bytes(), 3);
        auto r = FrameReader::attach(ch.mem.bytes());
        ASSERT_TRUE(w && r);
        PatternImage img(200, 100, fmt);
        HostCopy host;
        for (std::uint64_t n = 0; n < 5; ++n) {
            ASSERT_TRUE(w->publish(img.source(), img.draw(n), n));
            ASSERT_GT(host.take(*r), 0);
            ASSERT_TRUE(host.matches(n)) << to_string(fmt) << " frame " << n;
        }
    }
}

TEST(FrameChannel, GuestNeverBlocksWithoutAHost) {
    Channel ch(64 * 64 * 4);
    auto w = FrameWriter::create(ch.mem.bytes(), 3);
    ASSERT_TRUE(w);
    PatternImage img(64, 64);
    for (std::uint64_t n = 0; n < 2000; ++n)
        ASSERT_TRUE(w->publish(img.source(), img.draw(n), n));
    EXPECT_EQ(w->stats().published, 2000U);
}

TEST(FrameChannel, FrameTooLargeForSlotIsAClearError) {
    Channel ch(64 * 64 * 4);
    auto w = FrameWriter::create(ch.mem.bytes(), 3);
    ASSERT_TRUE(w);
    PatternImage img(640, 480);
    auto s = w->publish(img.source(), img.draw(0), 0);
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().message.find("enlarge the IVSHMEM region"), std::string::npos);
}

TEST(FrameChannel, AttachRejectsImpossibleChannelHeaders) {
    Channel ch(64 * 64 * 4);
    ASSERT_TRUE(FrameWriter::create(ch.mem.bytes(), 3));
    auto& hdr = *reinterpret_cast<FrameChannelHeader*>(ch.mem.data());
    const FrameChannelHeader good = copy_out(hdr);
    auto attach_with = [&](auto mutate) {
        FrameChannelHeader h = good;
        mutate(h);
        copy_in(hdr, h);
        return static_cast<bool>(FrameReader::attach(ch.mem.bytes()));
    };
    EXPECT_TRUE(attach_with([](FrameChannelHeader&) {}));
    EXPECT_FALSE(attach_with([](FrameChannelHeader& h) { h.slot_count = 2; }));
    EXPECT_FALSE(attach_with([](FrameChannelHeader& h) { h.slot_count = 200; }));
    EXPECT_FALSE(attach_with([](FrameChannelHeader& h) { h.slot_size = 0; }));
    EXPECT_FALSE(attach_with([](FrameChannelHeader& h) { h.slot_size += 1; }));
    EXPECT_FALSE(attach_with([](FrameChannelHeader& h) { h.slot_size *= 64; }));
    EXPECT_FALSE(attach_with([](FrameChannelHeader& h) { h.slots_offset = ~0ULL - 4095; }));
    EXPECT_FALSE(attach_with([](FrameChannelHeader& h) { h.damage_history_offset = ~0ULL; }));
}

TEST(FrameChannel, GarbageSlotMetadataIsRejectedAndReaderRecovers) {
    Channel ch(128 * 128 * 4);
    auto w = FrameWriter::create(ch.mem.bytes(), 3);
    auto r = FrameReader::attach(ch.mem.bytes());
    ASSERT_TRUE(w && r);
    PatternImage img(128, 128);
    HostCopy host;
    ASSERT_TRUE(w->publish(img.source(), img.draw(0), 0));
    ASSERT_EQ(host.take(*r), 1);
    ASSERT_TRUE(w->publish(img.source(), img.draw(1), 1));
    const auto hdr = copy_out(*reinterpret_cast<const FrameChannelHeader*>(ch.mem.data()));
    auto& slot =
        *reinterpret_cast<FrameSlotHeader*>(ch.mem.data() + hdr.slots_offset + hdr.slot_size);
    auto corrupt = [&](auto mutate) {
        FrameSlotHeader s = copy_out(slot);
        const FrameSlotHeader saved = s;
        mutate(s);
        copy_in(slot, s);
        auto v = r->poll();
        copy_in(slot, saved);
        return v;
    };
    EXPECT_FALSE(corrupt([](FrameSlotHeader& s) { s.meta.format = 77; }));
    EXPECT_FALSE(corrupt([](FrameSlotHeader& s) { s.meta.stride = 4; }));
    EXPECT_FALSE(corrupt([](FrameSlotHeader& s) { s.meta.height = 100000; }));
    EXPECT_FALSE(corrupt([](FrameSlotHeader& s) { s.meta.stride = 0x7FFFFFFF; }));
    EXPECT_FALSE(corrupt([](FrameSlotHeader& s) { s.meta.damage_count = 65; }));
    EXPECT_FALSE(corrupt([](FrameSlotHeader& s) {
        s.meta.damage_count = 1;
        s.damage[0] = Rect{120, 0, 20, 1};
    }));
    EXPECT_GE(r->stats().invalid, 6U);
    // The genuine frame is still taken afterwards.
    EXPECT_EQ(host.take(*r), 2);
    EXPECT_TRUE(host.matches(1));
}

TEST(FrameChannel, LatestNamingASlotOutOfRangeIsAnError) {
    Channel ch(64 * 64 * 4);
    ASSERT_TRUE(FrameWriter::create(ch.mem.bytes(), 3));
    auto r = FrameReader::attach(ch.mem.bytes());
    ASSERT_TRUE(r);
    auto& hdr = *reinterpret_cast<FrameChannelHeader*>(ch.mem.data());
    store_release(hdr.latest, (5ULL << 8) | 7);
    EXPECT_FALSE(r->poll());
}

TEST(FrameChannel, SerialGoingBackwardsIsAnError) {
    Channel ch(64 * 64 * 4);
    auto w = FrameWriter::create(ch.mem.bytes(), 3);
    auto r = FrameReader::attach(ch.mem.bytes());
    ASSERT_TRUE(w && r);
    PatternImage img(64, 64);
    HostCopy host;
    for (std::uint64_t n = 0; n < 3; ++n)
        ASSERT_TRUE(w->publish(img.source(), img.draw(n), n));
    ASSERT_EQ(host.take(*r), 3);
    auto& hdr = *reinterpret_cast<FrameChannelHeader*>(ch.mem.data());
    store_release(hdr.latest, (1ULL << 8) | 0);
    EXPECT_FALSE(r->poll());
}

TEST(FrameChannel, ManyDamageRectsCollapseAndStayCorrect) {
    Channel ch(256 * 256 * 4);
    auto w = FrameWriter::create(ch.mem.bytes(), 3);
    auto r = FrameReader::attach(ch.mem.bytes());
    ASSERT_TRUE(w && r);
    std::vector<std::byte> img(256 * 256 * 4, std::byte{0});
    HostCopy host;
    FrameSource src{256, 256, 256 * 4, PixelFormat::bgra8, img.data()};
    ASSERT_TRUE(w->publish(src, {}, 0));
    ASSERT_EQ(host.take(*r), 1);
    // 100 single-pixel changes: more than 64 rects.
    DamageList d;
    for (std::uint32_t i = 0; i < 100; ++i) {
        const std::uint32_t x = (i * 37) % 256, y = (i * 91) % 256;
        img[(y * 256 + x) * 4] = std::byte{static_cast<unsigned char>(i + 1)};
        d.add(Rect{x, y, 1, 1});
    }
    ASSERT_TRUE(w->publish(src, d, 1));
    ASSERT_EQ(host.take(*r), 2);
    EXPECT_EQ(std::memcmp(host.pixels.data(), img.data(), img.size()), 0);
}

// ---------------------------------------------------------------- progressive frames

namespace {

// A writer, a reader and a host copy over one channel, for progressive frames.
struct ProgressiveRig {
    Channel ch;
    FrameWriter w;
    FrameReader r;
    std::vector<std::byte> copy;
    std::uint32_t width, height;

    static ProgressiveRig make(std::uint32_t width, std::uint32_t height) {
        Channel ch(std::uint64_t{width} * height * 4);
        auto w = FrameWriter::create(ch.mem.bytes(), 3);
        auto r = FrameReader::attach(ch.mem.bytes());
        EXPECT_TRUE(w && r);
        return ProgressiveRig{
            std::move(ch), std::move(*w),
            std::move(*r), std::vector<std::byte>(std::size_t{width} * height * 4),
            width,         height};
    }
    FrameSlotHeader& slot(std::uint32_t i) {
        const auto hdr = copy_out(*reinterpret_cast<const FrameChannelHeader*>(ch.mem.data()));
        return *reinterpret_cast<FrameSlotHeader*>(ch.mem.data() + hdr.slots_offset +
                                                   i * hdr.slot_size);
    }
    FrameView poll_in_progress(std::uint64_t now = 0) {
        auto v = r.poll_progressive(now);
        EXPECT_TRUE(v) << (v ? "" : v.error().message);
        if (!v || !*v) {
            ADD_FAILURE() << "no frame offered";
            return {};
        }
        return **v;
    }
    porthole::Result<FrameCopyProgress> copy_available(FrameView& v, std::uint64_t now = 0) {
        return r.copy_available(v, copy, width * 4, now);
    }
    bool matches(std::uint64_t n) const {
        return pattern::verify(n, width, height, PixelFormat::bgra8, copy, width * 4).count == 0;
    }
};

}  // namespace

TEST(ProgressiveFrame, HostCopiesRowsAsTheyLandAndFinishesByteExact) {
    auto rig = ProgressiveRig::make(200, 120);
    PatternImage img(200, 120);
    img.draw(0);
    auto serial = rig.w.begin_frame(img.source(), 42);
    ASSERT_TRUE(serial) << serial.error().message;
    // Announced before any row: the old poll holds it back, the progressive one offers it.
    auto whole = rig.r.poll();
    ASSERT_TRUE(whole);
    EXPECT_FALSE(*whole);
    FrameView v = rig.poll_in_progress();
    EXPECT_TRUE(v.in_progress);
    EXPECT_EQ(v.meta.serial, *serial);
    EXPECT_EQ(v.meta.capture_time_ns, 42U);

    auto p = rig.copy_available(v);
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(p->state, FrameCopyState::in_progress);
    EXPECT_EQ(p->rows, 0U);
    ASSERT_TRUE(rig.w.write_rows(30));
    p = rig.copy_available(v);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->state, FrameCopyState::in_progress);
    EXPECT_EQ(p->rows, 30U);
    // The rows copied so far are the frame's, before the frame ends.
    EXPECT_TRUE(std::equal(rig.copy.begin(), rig.copy.begin() + 30 * 200 * 4, img.pixels.begin()));
    ASSERT_TRUE(rig.w.write_rows(50));
    p = rig.copy_available(v);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->rows, 80U);
    ASSERT_TRUE(rig.w.end_frame());
    p = rig.copy_available(v);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->state, FrameCopyState::complete);
    EXPECT_EQ(p->rows, 120U);
    EXPECT_TRUE(rig.matches(0));
    EXPECT_EQ(rig.r.last_serial(), *serial);
    EXPECT_EQ(rig.r.stats().accepted, 1U);
    // Nothing new afterwards, and a finished view cannot be reused.
    auto again = rig.r.poll_progressive(0);
    ASSERT_TRUE(again);
    EXPECT_FALSE(*again);
    EXPECT_FALSE(rig.copy_available(v));
}

TEST(ProgressiveFrame, CompletedFrameReachesTheWholeFramePollUnchanged) {
    auto rig = ProgressiveRig::make(160, 100);
    PatternImage img(160, 100);
    HostCopy host;
    for (std::uint64_t n = 0; n < 4; ++n) {
        img.draw(n);
        ASSERT_TRUE(rig.w.publish_progressive(img.source(), n, 4096));
        ASSERT_EQ(host.take(rig.r), static_cast<std::int64_t>(n + 1));
        EXPECT_TRUE(host.matches(n));
    }
}

TEST(ProgressiveFrame, DamageOnlyFramesAfterProgressiveOnesStayExact) {
    auto rig = ProgressiveRig::make(160, 100);
    PatternImage img(160, 100);
    HostCopy host;
    // Every slot once through a progressive frame, then damage-only
    // publishes (which rebuild each slot from its own older frame), with a
    // progressive frame in between.
    for (std::uint64_t n = 0; n < 12; ++n) {
        const DamageList d = img.draw(n);
        if (n < 3 || n == 7) {
            ASSERT_TRUE(rig.w.publish_progressive(img.source(), n, 8192));
        } else {
            ASSERT_TRUE(rig.w.publish(img.source(), d, n));
        }
        ASSERT_EQ(host.take(rig.r), static_cast<std::int64_t>(n + 1));
        EXPECT_TRUE(host.matches(n)) << "frame " << n;
    }
    EXPECT_LT(rig.w.stats().last_bytes_copied, 160U * 100 * 4);  // damage only
}

TEST(ProgressiveFrame, SlotReusedMidCopyIsTornAndTheNextFrameComesWhole) {
    auto rig = ProgressiveRig::make(128, 64);
    PatternImage img(128, 64);
    img.draw(0);
    ASSERT_TRUE(rig.w.begin_frame(img.source(), 0));
    ASSERT_TRUE(rig.w.write_rows(20));
    FrameView v = rig.poll_in_progress();
    auto p = rig.copy_available(v);
    ASSERT_TRUE(p);
    ASSERT_EQ(p->rows, 20U);
    ASSERT_TRUE(rig.w.end_frame());
    // The guest laps the three slots; the fourth frame reuses frame 1's slot.
    for (std::uint64_t n = 1; n <= 3; ++n) {
        img.draw(n);
        ASSERT_TRUE(rig.w.publish_progressive(img.source(), n, 4096));
    }
    p = rig.copy_available(v);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->state, FrameCopyState::torn);
    EXPECT_EQ(rig.r.stats().torn, 1U);
    EXPECT_EQ(rig.r.stats().accepted, 0U);
    EXPECT_EQ(rig.r.last_serial(), 0U);  // never shown
    // The newest frame is offered (complete by now) and copied whole.
    FrameView next = rig.poll_in_progress();
    EXPECT_FALSE(next.in_progress);
    EXPECT_TRUE(next.full);
    p = rig.copy_available(next);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->state, FrameCopyState::complete);
    EXPECT_TRUE(rig.matches(3));
}

TEST(ProgressiveFrame, SlotReusedByADamageOnlyPublishMidCopyIsTorn) {
    auto rig = ProgressiveRig::make(128, 64);
    PatternImage img(128, 64);
    img.draw(0);
    ASSERT_TRUE(rig.w.begin_frame(img.source(), 0));
    ASSERT_TRUE(rig.w.write_rows(10));
    FrameView v = rig.poll_in_progress();
    ASSERT_TRUE(rig.copy_available(v));
    ASSERT_TRUE(rig.w.end_frame());
    for (std::uint64_t n = 1; n <= 3; ++n)
        ASSERT_TRUE(rig.w.publish(img.source(), img.draw(n), n));
    auto p = rig.copy_available(v);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->state, FrameCopyState::torn);
}

TEST(ProgressiveFrame, RowsWrittenAboveTheHeightIsRejected) {
    auto rig = ProgressiveRig::make(64, 32);
    PatternImage img(64, 32);
    img.draw(0);
    ASSERT_TRUE(rig.w.begin_frame(img.source(), 0));
    ASSERT_TRUE(rig.w.write_rows(8));
    FrameView v = rig.poll_in_progress();
    ASSERT_TRUE(rig.copy_available(v));
    store_release(rig.slot(0).rows_written, 33);  // a hostile guest
    auto p = rig.copy_available(v);
    ASSERT_FALSE(p);
    EXPECT_NE(p.error().message.find("rows written"), std::string::npos);
    EXPECT_EQ(rig.r.stats().invalid, 1U);
    EXPECT_EQ(rig.r.last_serial(), 0U);
    // A reader that polls afresh rejects the same slot outright, either way.
    auto whole = rig.r.poll();
    EXPECT_TRUE(!whole || !*whole);
    auto progressive = rig.r.poll_progressive(0);
    EXPECT_FALSE(progressive);
    store_release(rig.slot(0).rows_written, ~std::uint64_t{0});
    EXPECT_FALSE(rig.r.poll_progressive(0));
}

TEST(ProgressiveFrame, RowsWrittenGoingBackwardsIsRejected) {
    auto rig = ProgressiveRig::make(64, 32);
    PatternImage img(64, 32);
    img.draw(0);
    ASSERT_TRUE(rig.w.begin_frame(img.source(), 0));
    ASSERT_TRUE(rig.w.write_rows(20));
    FrameView v = rig.poll_in_progress();
    ASSERT_EQ(rig.copy_available(v)->rows, 20U);
    store_release(rig.slot(0).rows_written, 10);
    auto p = rig.copy_available(v);
    ASSERT_FALSE(p);
    EXPECT_EQ(rig.r.stats().invalid, 1U);
    EXPECT_EQ(rig.r.last_serial(), 0U);
    EXPECT_FALSE(rig.copy_available(v));  // the view has ended
}

TEST(ProgressiveFrame, FrameThatStopsAdvancingIsDroppedAfterTheTimeout) {
    auto rig = ProgressiveRig::make(64, 32);
    rig.r.set_progress_timeout(50'000'000);
    PatternImage img(64, 32);
    img.draw(0);
    ASSERT_TRUE(rig.w.begin_frame(img.source(), 0));
    ASSERT_TRUE(rig.w.write_rows(5));
    const std::uint64_t t0 = 1'000'000'000;
    FrameView v = rig.poll_in_progress(t0);
    ASSERT_EQ(rig.copy_available(v, t0)->rows, 5U);
    ASSERT_TRUE(rig.w.write_rows(5));
    // Progress restarts the clock; then the guest stalls.
    ASSERT_EQ(rig.copy_available(v, t0 + 40'000'000)->state, FrameCopyState::in_progress);
    EXPECT_EQ(rig.copy_available(v, t0 + 80'000'000)->state, FrameCopyState::in_progress);
    auto p = rig.copy_available(v, t0 + 91'000'000);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->state, FrameCopyState::dropped);
    EXPECT_EQ(p->rows, 10U);
    EXPECT_EQ(rig.r.stats().dropped, 1U);
    EXPECT_EQ(rig.r.last_serial(), 0U);
    // If the guest does finish it later, the host takes it whole.
    ASSERT_TRUE(rig.w.end_frame());
    auto whole = rig.r.poll();
    ASSERT_TRUE(whole && *whole);
    EXPECT_TRUE((*whole)->full);
}

TEST(ProgressiveFrame, AbandonedFrameIsDroppedAtOnceAndNeverShown) {
    auto rig = ProgressiveRig::make(64, 32);
    PatternImage img(64, 32);
    img.draw(0);
    ASSERT_TRUE(rig.w.begin_frame(img.source(), 0));
    ASSERT_TRUE(rig.w.write_rows(7));
    FrameView v = rig.poll_in_progress();
    ASSERT_EQ(rig.copy_available(v)->rows, 7U);
    // The guest gives up on it and publishes the next frame instead.
    img.draw(1);
    ASSERT_TRUE(rig.w.publish_progressive(img.source(), 1, 4096));
    auto p = rig.copy_available(v);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->state, FrameCopyState::dropped);
    EXPECT_EQ(rig.r.last_serial(), 0U);
    FrameView next = rig.poll_in_progress();
    ASSERT_EQ(rig.copy_available(next)->state, FrameCopyState::complete);
    EXPECT_TRUE(rig.matches(1));
    // A writer's abandoned slot is rebuilt whole by later damage-only frames.
    HostCopy host;
    rig.r.invalidate();  // `host` starts empty
    for (std::uint64_t n = 2; n < 8; ++n) {
        ASSERT_TRUE(rig.w.publish(img.source(), img.draw(n), n));
        ASSERT_EQ(host.take(rig.r), static_cast<std::int64_t>(n + 1));
        EXPECT_TRUE(host.matches(n)) << "frame " << n;
    }
}

// For a copy made elsewhere (a GPU reading the slot in place): rows_ready
// advances through the written rows without touching the host's copy, and
// only finish, after that copy, accepts the frame.
TEST(ProgressiveFrame, RowsReadyTracksRowsWithoutCopyingAndFinishAccepts) {
    auto rig = ProgressiveRig::make(128, 64);
    PatternImage img(128, 64);
    img.draw(0);
    auto serial = rig.w.begin_frame(img.source(), 0);
    ASSERT_TRUE(serial);
    ASSERT_TRUE(rig.w.write_rows(24));
    FrameView v = rig.poll_in_progress();
    auto p = rig.r.rows_ready(v, 1);
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(p->state, FrameCopyState::in_progress);
    EXPECT_EQ(p->rows, 24U);
    EXPECT_EQ(v.rows_copied, 24U);
    EXPECT_TRUE(std::all_of(rig.copy.begin(), rig.copy.end(),
                            [](std::byte b) { return b == std::byte{0}; }));
    ASSERT_TRUE(rig.w.end_frame());
    p = rig.r.rows_ready(v, 2);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->state, FrameCopyState::complete);
    EXPECT_EQ(rig.r.last_serial(), 0U);  // not before the caller's copy is done
    EXPECT_EQ(rig.r.stats().accepted, 0U);
    EXPECT_TRUE(rig.r.finish(v));
    EXPECT_EQ(rig.r.last_serial(), *serial);
}

TEST(ProgressiveFrame, RowsReadySeesASlotReusedMidCopyAsTorn) {
    auto rig = ProgressiveRig::make(128, 64);
    PatternImage img(128, 64);
    img.draw(0);
    ASSERT_TRUE(rig.w.begin_frame(img.source(), 0));
    ASSERT_TRUE(rig.w.write_rows(20));
    FrameView v = rig.poll_in_progress();
    ASSERT_TRUE(rig.r.rows_ready(v, 1));
    for (std::uint64_t n = 1; n <= 3; ++n) {
        img.draw(n);
        ASSERT_TRUE(rig.w.publish_progressive(img.source(), n, 4096));
    }
    auto p = rig.r.rows_ready(v, 2);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->state, FrameCopyState::torn);
    EXPECT_EQ(rig.r.stats().torn, 1U);
    EXPECT_EQ(rig.r.last_serial(), 0U);
}

TEST(ProgressiveFrame, ProgressiveFlagOnAPartialFrameIsRejected) {
    FrameMeta m{1,
                64,
                32,
                256,
                static_cast<std::uint32_t>(PixelFormat::bgra8),
                0,
                1,
                frame_flag::progressive};
    const Rect r{0, 0, 8, 8};
    EXPECT_FALSE(validate_frame_meta(m, std::span<const Rect>(&r, 1), 1 << 20));
    m.damage_count = 0;
    EXPECT_FALSE(validate_frame_meta(m, {}, 1 << 20));
    m.flags = frame_flag::progressive | frame_flag::full_damage;
    EXPECT_TRUE(validate_frame_meta(m, {}, 1 << 20));
    m.flags |= 1U << 2;
    EXPECT_FALSE(validate_frame_meta(m, {}, 1 << 20));
}

TEST(ProgressiveFrame, WriterRowCallsOutsideAFrameAreErrors) {
    auto rig = ProgressiveRig::make(64, 32);
    EXPECT_FALSE(rig.w.write_rows(1));
    EXPECT_FALSE(rig.w.end_frame());
    PatternImage img(64, 32);
    img.draw(0);
    ASSERT_TRUE(rig.w.begin_frame(img.source(), 0));
    EXPECT_TRUE(rig.w.frame_open());
    ASSERT_TRUE(rig.w.write_rows(1000));  // clamped to the height
    ASSERT_TRUE(rig.w.end_frame());
    EXPECT_FALSE(rig.w.frame_open());
    EXPECT_EQ(FrameWriter::chunk_rows(img.source(), 1), 1U);
    EXPECT_EQ(FrameWriter::chunk_rows(img.source(), 64 * 4 * 10), 10U);
}

TEST(ProgressiveFrame, UpdatesOverHalfTheScreenGoProgressiveSmallerOnesKeepDamage) {
    auto rig = ProgressiveRig::make(160, 100);
    PatternImage img(160, 100);
    HostCopy host;
    auto flags_of_latest = [&] {
        const auto hdr = copy_out(*reinterpret_cast<const FrameChannelHeader*>(rig.ch.mem.data()));
        return copy_out(rig.slot(static_cast<std::uint32_t>(hdr.latest & 0xFF))).meta.flags;
    };
    img.draw(0);
    ASSERT_TRUE(rig.w.publish_update(img.source(), {}, 0));  // first frame
    EXPECT_NE(flags_of_latest() & frame_flag::progressive, 0U);
    ASSERT_EQ(host.take(rig.r), 1);
    const DamageList small = img.draw(1);
    ASSERT_LT(small.area() * 2, 160U * 100);
    ASSERT_TRUE(rig.w.publish_update(img.source(), small, 1));
    EXPECT_EQ(flags_of_latest() & frame_flag::progressive, 0U);
    ASSERT_EQ(host.take(rig.r), 2);
    DamageList most;
    most.add(Rect{0, 0, 160, 60});
    img.draw(2);
    ASSERT_TRUE(rig.w.publish_update(img.source(), most, 2));
    EXPECT_NE(flags_of_latest() & frame_flag::progressive, 0U);
    ASSERT_EQ(host.take(rig.r), 3);
    EXPECT_TRUE(host.matches(2));
}

// ---------------------------------------------------------------- wake hint

TEST(ProgressiveFrame, WakeHintSpinsWhileRowsLandAndNotOnceTheFrameEndsOrStalls) {
    auto rig = ProgressiveRig::make(64, 32);
    PatternImage img(64, 32);
    img.draw(0);
    const std::uint64_t t0 = 1'000'000'000;
    EXPECT_FALSE(rig.r.wake_hint(t0).spin) << "nothing streaming yet";
    ASSERT_TRUE(rig.w.begin_frame(img.source(), 0));
    ASSERT_TRUE(rig.w.write_rows(5));
    FrameView v = rig.poll_in_progress(t0);
    EXPECT_TRUE(rig.r.wake_hint(t0 + 10'000).spin) << "offered while its rows land";
    ASSERT_EQ(rig.copy_available(v, t0 + 20'000)->rows, 5U);
    ASSERT_TRUE(rig.w.write_rows(5));
    ASSERT_EQ(rig.copy_available(v, t0 + 900'000)->rows, 10U);
    EXPECT_TRUE(rig.r.wake_hint(t0 + 1'800'000).spin) << "rows landed 0.9 ms ago";
    EXPECT_FALSE(rig.r.wake_hint(t0 + 900'000 + FrameReader::kFollowSpinNs).spin)
        << "the writer stalled: back to sleeping";
    ASSERT_TRUE(rig.w.end_frame());
    ASSERT_EQ(rig.copy_available(v, t0 + 2'000'000)->state, FrameCopyState::complete);
    EXPECT_FALSE(rig.r.wake_hint(t0 + 2'000'001).spin) << "the frame is in";
}

// A hostile guest that trickles a frame's rows (one every 0.5 ms, never
// stalling long enough to end the spin) gets the host spinning at most half
// the time, not a whole core.
TEST(ProgressiveFrame, WakeHintSpinsAtMostHalfTheTimeForARowTrickle) {
    auto rig = ProgressiveRig::make(16, 1000);
    PatternImage img(16, 1000);
    img.draw(0);
    const std::uint64_t t0 = 1'000'000'000, step = 50'000, span = 300'000'000;
    ASSERT_TRUE(rig.w.begin_frame(img.source(), 0));
    ASSERT_TRUE(rig.w.write_rows(1));
    FrameView v = rig.poll_in_progress(t0);
    std::uint64_t spun = 0, spun_first_10ms = 0;
    for (std::uint64_t t = t0; t < t0 + span; t += step) {
        if ((t - t0) % 500'000 == 0 && v.rows_copied < 999) {
            ASSERT_TRUE(rig.w.write_rows(1));
            ASSERT_TRUE(rig.copy_available(v, t));
        }
        if (rig.r.wake_hint(t).spin) {
            spun += step;
            if (t - t0 < 10'000'000) spun_first_10ms += step;
        }
    }
    EXPECT_EQ(spun_first_10ms, 10'000'000U) << "a frame that streams in is followed";
    EXPECT_LE(spun, span / 2 + FrameReader::kFollowSpinNs) << "but not for more than half the time";
    EXPECT_GE(spun, span / 4) << "and each window's half is used";
}

TEST(ProgressiveFrame, WakeHintLearnsTheFramePeriodAndWakesForTheNextFrame) {
    auto rig = ProgressiveRig::make(64, 32);
    PatternImage img(64, 32);
    const std::uint64_t t0 = 1'000'000'000, period = 16'666'667;
    std::uint64_t seen = 0;
    for (std::uint64_t n = 0; n < 8; ++n) {
        img.draw(n);
        const std::uint64_t capture = t0 + n * period;
        ASSERT_TRUE(rig.w.publish_progressive(img.source(), capture, 4096));
        seen = capture + (n % 2) * 40'000;  // the host noticed some late
        FrameView v = rig.poll_in_progress(seen);
        ASSERT_EQ(rig.copy_available(v, seen)->state, FrameCopyState::complete);
    }
    ASSERT_TRUE(rig.r.cadence().period());
    EXPECT_EQ(rig.r.cadence().period()->count(), static_cast<std::int64_t>(period));
    const auto lead =
        static_cast<std::uint64_t>(std::chrono::nanoseconds(rig.r.cadence().config().lead).count());
    const std::uint64_t next = t0 + 8 * period;  // as the sightings that were not late
    const auto mid = rig.r.wake_hint(seen + period / 2);
    EXPECT_FALSE(mid.spin) << "between frames it sleeps";
    ASSERT_TRUE(mid.wake_by);
    EXPECT_EQ(static_cast<std::uint64_t>(mid.wake_by->time_since_epoch().count()), next - lead)
        << "but wakes before the next frame is due";
    EXPECT_FALSE(rig.r.wake_hint(next - lead - 1000).spin);
    EXPECT_TRUE(rig.r.wake_hint(next - lead / 2).spin) << "and spins as it comes";
}

// Rows go out with non-temporal stores in 64-byte blocks: sizes that leave a
// head to align and a tail still arrive byte-exact.
TEST(ProgressiveFrame, RowsOfOddSizesArriveByteExact) {
    for (const std::uint32_t width : {1U, 3U, 17U, 37U, 333U}) {
        auto rig = ProgressiveRig::make(width, 29);
        PatternImage img(width, 29);
        img.draw(0);
        ASSERT_TRUE(rig.w.begin_frame(img.source(), 0));
        FrameView v = rig.poll_in_progress();
        for (const std::uint32_t rows : {1U, 2U, 7U, 11U}) {  // 21 of 29
            ASSERT_TRUE(rig.w.write_rows(rows));
            ASSERT_TRUE(rig.copy_available(v));
        }
        ASSERT_TRUE(rig.w.end_frame());
        auto p = rig.copy_available(v);
        ASSERT_TRUE(p);
        EXPECT_EQ(p->state, FrameCopyState::complete) << width;
        EXPECT_TRUE(rig.matches(0)) << width;
    }
}
