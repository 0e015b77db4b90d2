// Clipboard channels: offers, requests answered in chunks with acks, and the
// requester's checks on everything the other side writes.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <random>
#include <thread>

#include "porthole/protocol/clipboard_channel.hpp"
#include "porthole/protocol/shared_memory.hpp"
#include "support/aligned_region.hpp"

using namespace porthole::protocol;
using porthole::testing::AlignedRegion;

namespace {

using Format = ClipboardEndpoint::Format;

std::string random_bytes(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (auto& c : s)
        c = static_cast<char>(rng());
    return s;
}

// Both directions' channels, each `size` bytes, laid out as the agent does.
struct Channels {
    explicit Channels(std::size_t size) : to_host(size), to_guest(size) {
        EXPECT_TRUE(init_clipboard_channel(to_host.bytes()));
        EXPECT_TRUE(init_clipboard_channel(to_guest.bytes()));
    }
    ClipboardEndpoint guest() {
        return {*ClipboardWriter::attach(to_host.bytes()),
                *ClipboardReader::attach(to_guest.bytes())};
    }
    ClipboardEndpoint host() {
        return {*ClipboardWriter::attach(to_guest.bytes()),
                *ClipboardReader::attach(to_host.bytes())};
    }
    // A hostile guest's write of its own header.
    void poke_guest(const std::function<void(ClipboardHeader&)>& edit) {
        auto& h = *reinterpret_cast<ClipboardHeader*>(to_host.data());
        seqlock_begin_write(h.seq);
        auto v = copy_out(h);
        edit(v);
        copy_in(h, v);
        seqlock_end_write(h.seq);
    }
    [[nodiscard]] ClipboardHeader host_header() const {
        return copy_out(*reinterpret_cast<const ClipboardHeader*>(to_guest.data()));
    }
    AlignedRegion to_host;
    AlignedRegion to_guest;
};

// Steps both sides until `done` or `max_steps`; returns the steps taken.
int run_until(ClipboardEndpoint& a, ClipboardEndpoint& b,
              const std::function<bool(ClipboardEvents&, ClipboardEvents&)>& done,
              int max_steps = 10000) {
    for (int i = 0; i < max_steps; ++i) {
        auto ea = a.step();
        auto eb = b.step();
        if (done(ea, eb)) return i + 1;
    }
    return -1;
}

std::vector<Format> with_data(ClipboardMime mime, std::string data) {
    std::vector<Format> f;
    f.push_back({mime, 0, std::move(data)});
    return f;
}

}  // namespace

TEST(ClipboardChannel, OfferCarriesFormatsAndSizesButNoData) {
    Channels ch(3 * kPageSize);
    auto guest = ch.guest();
    auto host = ch.host();
    std::vector<Format> f;
    f.push_back({ClipboardMime::text_utf8, 0, std::string("héllo")});
    f.push_back({ClipboardMime::image_png, 123456, std::nullopt});  // fetched when asked
    ASSERT_TRUE(guest.offer(std::move(f)));
    auto ev = host.step();
    ASSERT_TRUE(ev.offer);
    ASSERT_EQ(ev.offer->formats.size(), 2U);
    EXPECT_EQ(ev.offer->find(ClipboardMime::text_utf8)->size, 6U);
    EXPECT_EQ(ev.offer->find(ClipboardMime::image_png)->size, 123456U);
    EXPECT_FALSE(ev.received);
    EXPECT_FALSE(host.step().offer);  // once
}

TEST(ClipboardChannel, TextRequestedIsAnsweredOnce) {
    Channels ch(3 * kPageSize);
    auto guest = ch.guest();
    auto host = ch.host();
    ASSERT_TRUE(guest.offer(with_data(ClipboardMime::text_utf8, "héllo wörld")));
    auto ev = host.step();
    ASSERT_TRUE(ev.offer);
    ASSERT_TRUE(host.request(ev.offer->serial, ClipboardMime::text_utf8, 1000));
    std::optional<ClipboardData> got;
    ASSERT_GT(run_until(guest, host,
                        [&](auto&, auto& h) {
                            if (h.received) got = std::move(h.received);
                            return got.has_value();
                        }),
              0);
    EXPECT_EQ(got->bytes, "héllo wörld");
    EXPECT_EQ(got->mime, ClipboardMime::text_utf8);
    EXPECT_FALSE(host.requesting());
    for (int i = 0; i < 5; ++i)
        EXPECT_FALSE(host.step().received);
}

TEST(ClipboardChannel, ImageManyTimesTheChannelCrossesInOrderedChunks) {
    Channels ch(16 * kPageSize);  // 60 KiB of data area
    auto guest = ch.guest();
    auto host = ch.host();
    const std::string png = random_bytes(3U << 20, 1);
    ASSERT_TRUE(host.offer(with_data(ClipboardMime::image_png, png)));
    auto ev = guest.step();
    ASSERT_TRUE(ev.offer);
    EXPECT_EQ(ev.offer->find(ClipboardMime::image_png)->size, png.size());
    ASSERT_TRUE(guest.request(ev.offer->serial, ClipboardMime::image_png, 8U << 20));
    std::optional<ClipboardData> got;
    const int steps = run_until(host, guest, [&](auto&, auto& g) {
        if (g.received) got = std::move(g.received);
        return got.has_value();
    });
    ASSERT_TRUE(got);
    EXPECT_TRUE(got->bytes == png);
    // One chunk per step at most: 3 MiB through 60 KiB takes 52 acks.
    EXPECT_GE(steps, 52);
}

TEST(ClipboardChannel, LazyOfferAsksTheOwnerForTheDataWhenRequested) {
    Channels ch(4 * kPageSize);
    auto guest = ch.guest();
    auto host = ch.host();
    std::vector<Format> f;
    f.push_back({ClipboardMime::image_png, 0, std::nullopt});
    ASSERT_TRUE(host.offer(std::move(f)));
    auto ev = guest.step();
    ASSERT_TRUE(ev.offer);
    EXPECT_EQ(ev.offer->formats[0].size, 0U);  // unknown until fetched
    ASSERT_TRUE(guest.request(ev.offer->serial, ClipboardMime::image_png, 1U << 20));
    auto asked = host.step();
    ASSERT_TRUE(asked.request);
    EXPECT_EQ(asked.request->mime, ClipboardMime::image_png);
    const std::string data = random_bytes(50000, 2);
    ASSERT_TRUE(host.answer(asked.request->id, data));
    std::optional<ClipboardData> got;
    ASSERT_GT(run_until(host, guest,
                        [&](auto&, auto& g) {
                            if (g.received) got = std::move(g.received);
                            return got.has_value();
                        }),
              0);
    EXPECT_TRUE(got->bytes == data);
}

TEST(ClipboardChannel, OwnerRefusalEndsTheRequest) {
    Channels ch(3 * kPageSize);
    auto guest = ch.guest();
    auto host = ch.host();
    std::vector<Format> f;
    f.push_back({ClipboardMime::image_png, 0, std::nullopt});
    ASSERT_TRUE(guest.offer(std::move(f)));
    auto ev = host.step();
    ASSERT_TRUE(host.request(ev.offer->serial, ClipboardMime::image_png, 1000));
    auto asked = guest.step();
    ASSERT_TRUE(asked.request);
    guest.refuse(asked.request->id);
    auto done = host.step();
    ASSERT_TRUE(done.request_failed);
    EXPECT_FALSE(host.requesting());
}

TEST(ClipboardChannel, RequestForAFormatOrOfferNotHeldIsRefused) {
    Channels ch(3 * kPageSize);
    auto guest = ch.guest();
    auto host = ch.host();
    ASSERT_TRUE(guest.offer(with_data(ClipboardMime::text_utf8, "a")));
    auto ev = host.step();
    ASSERT_TRUE(host.request(ev.offer->serial, ClipboardMime::image_png, 1000));
    guest.step();
    EXPECT_TRUE(host.step().request_failed);
    ASSERT_TRUE(host.request(ev.offer->serial + 5, ClipboardMime::text_utf8, 1000));
    guest.step();
    EXPECT_TRUE(host.step().request_failed);
}

TEST(ClipboardChannel, NewOfferSupersedesARequestUnderWay) {
    Channels ch(3 * kPageSize);
    auto guest = ch.guest();
    auto host = ch.host();
    ASSERT_TRUE(guest.offer(with_data(ClipboardMime::text_utf8, random_bytes(40000, 3))));
    auto ev = host.step();
    ASSERT_TRUE(host.request(ev.offer->serial, ClipboardMime::text_utf8, 1U << 20));
    guest.step();  // first chunk
    host.step();   // taken, acked
    ASSERT_TRUE(guest.offer(with_data(ClipboardMime::text_utf8, "newer")));
    auto next = host.step();
    ASSERT_TRUE(next.request_failed);
    ASSERT_TRUE(next.offer);
    ASSERT_TRUE(host.request(next.offer->serial, ClipboardMime::text_utf8, 1U << 20));
    std::optional<ClipboardData> got;
    ASSERT_GT(run_until(guest, host,
                        [&](auto&, auto& h) {
                            if (h.received) got = std::move(h.received);
                            return got.has_value();
                        }),
              0);
    EXPECT_EQ(got->bytes, "newer");
}

TEST(ClipboardChannel, AnswerOverTheLimitIsRefusedUnreadAndCancelled) {
    Channels ch(3 * kPageSize);
    auto guest = ch.guest();
    auto host = ch.host();
    ASSERT_TRUE(guest.offer(with_data(ClipboardMime::image_png, random_bytes(5000, 4))));
    auto ev = host.step();
    ASSERT_TRUE(host.request(ev.offer->serial, ClipboardMime::image_png, 1000));
    guest.step();
    auto r = host.step();
    ASSERT_TRUE(r.request_failed);
    EXPECT_NE(r.request_failed->find("image/png of 5000 bytes refused: over the limit of 1000"),
              std::string::npos)
        << *r.request_failed;
    // The owner sees the cancel and stops.
    EXPECT_EQ(ch.host_header().request_mime, 0U);
    guest.step();
    EXPECT_FALSE(host.step().received);
}

TEST(ClipboardChannel, OwnerRejectsBadOffers) {
    Channels ch(3 * kPageSize);
    auto guest = ch.guest();
    std::vector<Format> five(5, Format{ClipboardMime::text_utf8, 1, std::nullopt});
    EXPECT_FALSE(guest.offer(five));
    std::vector<Format> twice(2, Format{ClipboardMime::text_utf8, 1, std::nullopt});
    EXPECT_FALSE(guest.offer(twice));
    std::vector<Format> unknown{Format{static_cast<ClipboardMime>(9), 1, std::nullopt}};
    EXPECT_FALSE(guest.offer(unknown));
}

TEST(ClipboardChannel, AttachRejectsGeometryBeyondTheChannel) {
    AlignedRegion mem(2 * kPageSize);
    ASSERT_TRUE(init_clipboard_channel(mem.bytes()));
    auto& h = *reinterpret_cast<ClipboardHeader*>(mem.data());
    ClipboardHeader v = copy_out(h);
    v.capacity = 0xFFFFFF;
    copy_in(h, v);
    EXPECT_FALSE(ClipboardReader::attach(mem.bytes()));
    v.capacity = kPageSize;
    v.data_offset = 8;
    copy_in(h, v);
    EXPECT_FALSE(ClipboardReader::attach(mem.bytes()));
}

// ---------------------------------------------------------------- hostile peer

TEST(HostileClipboardPeer, OffersWithTooManyUnknownOrRepeatedFormatsAreRefused) {
    Channels ch(3 * kPageSize);
    auto host = ch.host();
    ch.poke_guest([](ClipboardHeader& h) {
        h.serial = 1;
        h.format_count = 200;
    });
    auto ev = host.step();
    EXPECT_FALSE(ev.offer);
    ASSERT_EQ(ev.errors.size(), 1U);
    EXPECT_NE(ev.errors[0].find("200 formats"), std::string::npos) << ev.errors[0];
    ch.poke_guest([](ClipboardHeader& h) {
        h.serial = 2;
        h.format_count = 1;
        h.formats[0].mime = 77;
    });
    ev = host.step();
    EXPECT_FALSE(ev.offer);
    ASSERT_EQ(ev.errors.size(), 1U);
    EXPECT_NE(ev.errors[0].find("unknown format 77"), std::string::npos);
    ch.poke_guest([](ClipboardHeader& h) {
        h.serial = 3;
        h.format_count = 2;
        h.formats[0].mime = 1;
        h.formats[1].mime = 1;
    });
    ev = host.step();
    EXPECT_FALSE(ev.offer);
    EXPECT_EQ(ev.errors.size(), 1U);
}

namespace {
// The host asks a hostile guest's offer 1 for text; the guest answers with `edit`.
ClipboardEvents answer_with(const std::function<void(ClipboardHeader&)>& edit,
                            std::uint64_t limit = 1U << 20) {
    Channels ch(3 * kPageSize);
    auto host = ch.host();
    ch.poke_guest([](ClipboardHeader& h) {
        h.serial = 1;
        h.format_count = 1;
        h.formats[0] = ClipboardFormat{1, 0, 10};
    });
    auto ev = host.step();
    EXPECT_TRUE(ev.offer);
    EXPECT_TRUE(host.request(1, ClipboardMime::text_utf8, limit));
    const auto asked = ch.host_header();
    ch.poke_guest([&](ClipboardHeader& h) {
        h.answer_id = asked.request_id;
        h.answer_serial = 1;
        h.answer_mime = 1;
        h.answer_total = 10;
        h.chunk_offset = 0;
        h.chunk_length = 10;
        h.answer_state = static_cast<std::uint32_t>(ClipboardAnswerState::sending);
        edit(h);
    });
    return host.step();
}
}  // namespace

TEST(HostileClipboardPeer, AWellFormedAnswerIsTaken) {
    auto ev = answer_with([](ClipboardHeader&) {});
    ASSERT_TRUE(ev.received) << ev.request_failed.value_or("");
    EXPECT_EQ(ev.received->bytes.size(), 10U);
}

TEST(HostileClipboardPeer, AnswerTotalOverTheLimitIsRefusedBeforeAllocating) {
    auto ev = answer_with([](ClipboardHeader& h) { h.answer_total = 0xFFFFFFFFFFFFULL; }, 8U << 20);
    EXPECT_FALSE(ev.received);
    ASSERT_TRUE(ev.request_failed);
    EXPECT_NE(ev.request_failed->find("over the limit of 8388608 bytes"), std::string::npos)
        << *ev.request_failed;
}

TEST(HostileClipboardPeer, ChunkPastTheCapacityOrTheTotalIsRefused) {
    auto big = answer_with([](ClipboardHeader& h) {
        h.answer_total = 1U << 20;
        h.chunk_length = 0xFFFFFFFFU;
    });
    ASSERT_TRUE(big.request_failed);
    EXPECT_NE(big.request_failed->find("does not fit"), std::string::npos);
    auto past = answer_with([](ClipboardHeader& h) { h.chunk_length = 11; });
    ASSERT_TRUE(past.request_failed);
}

TEST(HostileClipboardPeer, ChunkOutOfOrderIsRefused) {
    auto ev = answer_with([](ClipboardHeader& h) {
        h.answer_total = 20;
        h.chunk_offset = 10;
    });
    ASSERT_TRUE(ev.request_failed);
    EXPECT_NE(ev.request_failed->find("out of order"), std::string::npos);
}

TEST(HostileClipboardPeer, AnswerForAnotherSerialOrMimeIsRefused) {
    EXPECT_TRUE(answer_with([](ClipboardHeader& h) { h.answer_serial = 2; }).request_failed);
    EXPECT_TRUE(answer_with([](ClipboardHeader& h) { h.answer_mime = 2; }).request_failed);
    EXPECT_TRUE(answer_with([](ClipboardHeader& h) {
                    h.chunk_length = 0;
                }).request_failed);  // empty chunk before the end
}

TEST(HostileClipboardPeer, AnswerToAnotherRequestIsIgnored) {
    auto ev = answer_with([](ClipboardHeader& h) { h.answer_id += 7; });
    EXPECT_FALSE(ev.received);
    EXPECT_FALSE(ev.request_failed);
}

TEST(HostileClipboardPeer, TotalChangedMidwayIsRefused) {
    Channels ch(3 * kPageSize);  // 8 KiB of data area
    auto host = ch.host();
    ch.poke_guest([](ClipboardHeader& h) {
        h.serial = 1;
        h.format_count = 1;
        h.formats[0] = ClipboardFormat{2, 0, 0};
    });
    host.step();
    ASSERT_TRUE(host.request(1, ClipboardMime::image_png, 1U << 20));
    const auto id = ch.host_header().request_id;
    ch.poke_guest([&](ClipboardHeader& h) {
        h.answer_id = id;
        h.answer_serial = 1;
        h.answer_mime = 2;
        h.answer_total = 20000;
        h.chunk_offset = 0;
        h.chunk_length = 8000;
        h.answer_state = 1;
    });
    auto first = host.step();
    EXPECT_FALSE(first.request_failed);
    EXPECT_EQ(ch.host_header().request_acked, 8000U);
    ch.poke_guest([&](ClipboardHeader& h) {
        h.answer_total = 10000;
        h.chunk_offset = 8000;
        h.chunk_length = 2000;
    });
    auto second = host.step();
    ASSERT_TRUE(second.request_failed);
    EXPECT_FALSE(second.received);
}

TEST(HostileClipboardPeer, RandomHeadersNeverCrashOrDeliverUnchecked) {
    Channels ch(3 * kPageSize);
    auto host = ch.host();
    std::mt19937_64 rng(5);
    for (int i = 0; i < 20000; ++i) {
        if (i % 50 == 0) (void)host.request(rng() % 4, ClipboardMime::image_png, 4096);
        ch.poke_guest([&](ClipboardHeader& h) {
            const auto keep_cap = h.capacity, keep_off = h.data_offset;
            auto* words = reinterpret_cast<std::uint64_t*>(&h);
            const auto w = 1 + rng() % (sizeof(ClipboardHeader) / 8 - 1);
            words[w] = (rng() % 3 == 0) ? rng() : rng() % 16;
            h.capacity = keep_cap;
            h.data_offset = keep_off;
        });
        auto ev = host.step();
        if (ev.received) {
            EXPECT_LE(ev.received->bytes.size(), 4096U);
        }
    }
}

// ---------------------------------------------------------------- two threads

TEST(ClipboardChannel, TwoThreadsTransferBothWaysByteExact) {
    Channels ch(128 * kPageSize);  // the real channel's order of size, 508 KiB of data area
    const std::string image = random_bytes(5U << 20, 6);
    const std::string text = random_bytes(300000, 7);
    std::atomic<bool> host_done{false}, guest_done{false};
    std::string host_got, guest_got;
    std::thread guest([&] {
        auto g = ch.guest();
        EXPECT_TRUE(g.offer(with_data(ClipboardMime::text_utf8, text)));
        for (int i = 0; i < 2'000'000 && !(guest_done && host_done); ++i) {
            auto ev = g.step();
            if (ev.offer) {
                EXPECT_TRUE(g.request(ev.offer->serial, ClipboardMime::image_png, 8U << 20));
            }
            if (ev.received) {
                guest_got = std::move(ev.received->bytes);
                guest_done = true;
            }
            EXPECT_FALSE(ev.request_failed) << *ev.request_failed;
            std::this_thread::yield();
        }
    });
    std::thread host([&] {
        auto h = ch.host();
        EXPECT_TRUE(h.offer(with_data(ClipboardMime::image_png, image)));
        for (int i = 0; i < 2'000'000 && !(guest_done && host_done); ++i) {
            auto ev = h.step();
            if (ev.offer) {
                EXPECT_TRUE(h.request(ev.offer->serial, ClipboardMime::text_utf8, 1U << 20));
            }
            if (ev.received) {
                host_got = std::move(ev.received->bytes);
                host_done = true;
            }
            EXPECT_FALSE(ev.request_failed) << *ev.request_failed;
            std::this_thread::yield();
        }
    });
    guest.join();
    host.join();
    ASSERT_TRUE(guest_done && host_done);
    EXPECT_TRUE(guest_got == image);
    EXPECT_TRUE(host_got == text);
}
