// A hostile guest writes into its clipboard channel what it likes: the host's
// reader and ClipboardSync refuse it with a message naming the problem.
#include <gtest/gtest.h>

#include "clipboard/sync.hpp"
#include "porthole/protocol/clipboard_channel.hpp"
#include "porthole/protocol/shared_memory.hpp"
#include "support/aligned_region.hpp"

using namespace porthole::protocol;
using namespace porthole::client::clipboard;
using porthole::Error;
using porthole::Result;
using porthole::testing::AlignedRegion;

namespace {
constexpr std::size_t kChannel = 64 * 1024;

// The guest's channel and the host's, and an endpoint on each.
struct Pair {
    Pair() : to_host(kChannel), to_guest(kChannel) {
        EXPECT_TRUE(init_clipboard_channel(to_host.bytes()));
        EXPECT_TRUE(init_clipboard_channel(to_guest.bytes()));
        guest.emplace(*ClipboardWriter::attach(to_host.bytes()),
                      *ClipboardReader::attach(to_guest.bytes()));
        host.emplace(*ClipboardWriter::attach(to_guest.bytes()),
                     *ClipboardReader::attach(to_host.bytes()));
    }
    // The guest offers `text`; the host asks for it (up to `limit`) and gets it or an error.
    Result<std::string> cross(std::string text, std::size_t limit) {
        std::vector<ClipboardEndpoint::Format> f;
        f.push_back({ClipboardMime::text_utf8, 0, std::move(text)});
        EXPECT_TRUE(guest->offer(std::move(f)));
        auto ev = host->step();
        if (!ev.offer) return Error::make("no offer");
        EXPECT_TRUE(host->request(ev.offer->serial, ClipboardMime::text_utf8, limit));
        for (int i = 0; i < 100; ++i) {
            guest->step();
            auto h = host->step();
            if (h.received) return std::move(h.received->bytes);
            if (h.request_failed) return Error::make(*h.request_failed);
        }
        return Error::make("never arrived");
    }
    AlignedRegion to_host, to_guest;
    std::optional<ClipboardEndpoint> guest, host;
};
}  // namespace

TEST(HostileGuestClipboard, InvalidUtf8IsRefusedAndNothingReachesTheDesktop) {
    Pair p;
    ClipboardSync sync(Mode::both, 1024);
    auto got = p.cross("ok \xC3\x28 then", sync.limit());
    ASSERT_TRUE(got) << got.error().message;
    auto take = sync.guest_offered(std::move(*got));
    ASSERT_FALSE(take);
    EXPECT_NE(take.error().message.find("not valid UTF-8 (byte 3 of"), std::string::npos)
        << take.error().message;
    // Refusing changes nothing: valid text after it still crosses.
    auto next = p.cross("fine", sync.limit());
    ASSERT_TRUE(next);
    auto ok = sync.guest_offered(std::move(*next));
    ASSERT_TRUE(ok);
    EXPECT_EQ(*ok, "fine");
}

TEST(HostileGuestClipboard, AnAnswerOverTheLimitIsRefusedBeforeReading) {
    Pair p;
    auto got = p.cross(std::string(5000, 'x'), 1024);
    ASSERT_FALSE(got);
    EXPECT_NE(got.error().message.find("of 5000 bytes refused: over the limit of 1024 bytes"),
              std::string::npos)
        << got.error().message;
    auto next = p.cross("short", 1024);
    ASSERT_TRUE(next);
    EXPECT_EQ(*next, "short");
}

TEST(HostileGuestClipboard, TextOverTheLimitIsRefusedEvenIfTheReaderWasNotTold) {
    ClipboardSync sync(Mode::both, 8);
    auto take = sync.guest_offered(std::string(9, 'x'));
    ASSERT_FALSE(take);
    EXPECT_NE(take.error().message.find("over the limit of 8 bytes (raise --clipboard-limit"),
              std::string::npos)
        << take.error().message;
}
