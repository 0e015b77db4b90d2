#include "clipboard/sync.hpp"

#include <gtest/gtest.h>

using namespace porthole::client::clipboard;

TEST(ClipboardSync, DesktopTextGoesToTheGuestOnceAndIsNotEchoedBack) {
    ClipboardSync s(Mode::both, 1000);
    EXPECT_EQ(s.desktop_changed("hello"), "hello");
    EXPECT_EQ(s.desktop_changed("hello"), std::nullopt);  // polled again, unchanged
    // The guest now owns "hello" and reports it: not put back on the desktop.
    auto back = s.guest_offered("hello");
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, std::nullopt);
}

TEST(ClipboardSync, GuestTextGoesToTheDesktopOnceAndIsNotEchoedBack) {
    ClipboardSync s(Mode::both, 1000);
    auto in = s.guest_offered("from guest");
    ASSERT_TRUE(in);
    EXPECT_EQ(*in, "from guest");
    // The desktop now holds it (we set it): not offered to the guest again.
    EXPECT_EQ(s.desktop_changed("from guest"), std::nullopt);
}

TEST(ClipboardSync, TheSameTextCrossesAgainAfterTheOtherSideChanged) {
    ClipboardSync s(Mode::both, 1000);
    EXPECT_EQ(s.desktop_changed("A"), "A");
    auto b = s.guest_offered("B");
    ASSERT_TRUE(b);
    EXPECT_EQ(*b, "B");
    EXPECT_EQ(s.desktop_changed("A"), "A");  // the guest holds B now
}

TEST(ClipboardSync, ANewGuestSessionGetsTheDesktopTextAgain) {
    ClipboardSync s(Mode::both, 1000);
    EXPECT_EQ(s.desktop_changed("A"), "A");
    s.forget_guest();
    EXPECT_EQ(s.desktop_changed("A"), "A");
}

TEST(ClipboardSync, ToGuestIgnoresTheGuestsText) {
    ClipboardSync s(Mode::to_guest, 1000);
    EXPECT_EQ(s.desktop_changed("A"), "A");
    auto in = s.guest_offered("B");
    ASSERT_TRUE(in);
    EXPECT_EQ(*in, std::nullopt);
}

TEST(ClipboardSync, ToHostSendsNothingToTheGuest) {
    ClipboardSync s(Mode::to_host, 1000);
    EXPECT_EQ(s.desktop_changed("A"), std::nullopt);
    auto in = s.guest_offered("B");
    ASSERT_TRUE(in);
    EXPECT_EQ(*in, "B");
}

TEST(ClipboardSync, OffSendsNothingEitherWay) {
    ClipboardSync s(Mode::off, 1000);
    EXPECT_EQ(s.desktop_changed("A"), std::nullopt);
    auto in = s.guest_offered("B");
    ASSERT_TRUE(in);
    EXPECT_EQ(*in, std::nullopt);
}

TEST(ClipboardSync, DesktopTextOverTheLimitStaysOnTheHost) {
    ClipboardSync s(Mode::both, 4);
    EXPECT_EQ(s.desktop_changed("12345"), std::nullopt);
    EXPECT_EQ(s.desktop_changed("1234"), "1234");
}

TEST(ClipboardSync, ParsesTheOptionsNames) {
    EXPECT_EQ(parse_mode("both"), Mode::both);
    EXPECT_EQ(parse_mode("to-guest"), Mode::to_guest);
    EXPECT_EQ(parse_mode("to-host"), Mode::to_host);
    EXPECT_EQ(parse_mode("off"), Mode::off);
    EXPECT_EQ(parse_mode("on"), std::nullopt);
}
