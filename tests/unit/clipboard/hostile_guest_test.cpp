// A hostile guest writes into its clipboard channel what it likes: the host's
// reader and ClipboardSync refuse it with a message naming the problem.
#include <gtest/gtest.h>

#include "clipboard/sync.hpp"
#include "porthole/protocol/clipboard_channel.hpp"
#include "porthole/protocol/shared_memory.hpp"
#include "support/aligned_region.hpp"

using namespace porthole::protocol;
using namespace porthole::client::clipboard;
using porthole::testing::AlignedRegion;

namespace {
constexpr std::size_t kChannel = 64 * 1024;
}

TEST(HostileGuestClipboard, InvalidUtf8IsRefusedAndNothingReachesTheDesktop) {
    AlignedRegion mem(kChannel);
    ASSERT_TRUE(init_clipboard_channel(mem.bytes()));
    auto guest = ClipboardWriter::attach(mem.bytes());
    auto host = ClipboardReader::attach(mem.bytes());
    ASSERT_TRUE(guest && host);
    ASSERT_TRUE(guest->publish("ok \xC3\x28 then"));
    ClipboardSync sync(Mode::both, 1024);
    auto polled = host->poll(sync.limit());
    ASSERT_TRUE(polled && *polled);
    auto take = sync.guest_offered(std::move(**polled));
    ASSERT_FALSE(take);
    EXPECT_NE(take.error().message.find("not valid UTF-8 (byte 3 of"), std::string::npos)
        << take.error().message;
    // Refusing changes nothing: valid text after it still crosses.
    ASSERT_TRUE(guest->publish("fine"));
    auto next = host->poll(sync.limit());
    ASSERT_TRUE(next && *next);
    auto ok = sync.guest_offered(std::move(**next));
    ASSERT_TRUE(ok);
    EXPECT_EQ(*ok, "fine");
}

TEST(HostileGuestClipboard, ALengthOverTheLimitIsRefusedBeforeReading) {
    AlignedRegion mem(kChannel);
    ASSERT_TRUE(init_clipboard_channel(mem.bytes()));
    auto host = ClipboardReader::attach(mem.bytes());
    ASSERT_TRUE(host);
    // Within the channel, over the client's limit: refused by its length alone.
    auto& h = *reinterpret_cast<ClipboardHeader*>(mem.data());
    ClipboardHeader v = copy_out(h);
    v.serial = 7;
    v.mime = static_cast<std::uint32_t>(ClipboardMime::text_utf8);
    v.length = 5000;
    copy_in(h, v);
    auto polled = host->poll(1024);
    ASSERT_FALSE(polled);
    EXPECT_NE(polled.error().message.find("5000 bytes is over the limit of 1024"),
              std::string::npos)
        << polled.error().message;
    // Past the channel's capacity: refused as invalid.
    v.serial = 8;
    v.length = 0xFFFFFFFFU;
    copy_in(h, v);
    auto huge = host->poll(1024);
    ASSERT_FALSE(huge);
    EXPECT_NE(huge.error().message.find("invalid clipboard content"), std::string::npos);
}

TEST(HostileGuestClipboard, TextOverTheLimitIsRefusedEvenIfTheReaderWasNotTold) {
    ClipboardSync sync(Mode::both, 8);
    auto take = sync.guest_offered(std::string(9, 'x'));
    ASSERT_FALSE(take);
    EXPECT_NE(take.error().message.find("over the limit of 8 bytes (raise --clipboard-limit"),
              std::string::npos)
        << take.error().message;
}
