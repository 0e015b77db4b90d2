#include <gtest/gtest.h>

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
