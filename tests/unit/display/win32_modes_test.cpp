// The Win32 backend against the system's display settings (Wine maps them
// onto the X server's RandR modes). Only what leaves the shared display as it
// is: listing, the current mode, a request the display already matches, and a
// mode the display does not offer being refused by CDS_TEST.
#include <gtest/gtest.h>

#include <windows.h>

#include <algorithm>

#include "display/modes.hpp"
#include "display/win32.hpp"

namespace {

using namespace porthole::agent::display;

TEST(Win32Modes, ListsTheModesWithTheCurrentOneAmongThem) {
    auto d = open_win32_modes("");
    ASSERT_TRUE(d) << d.error().message;
    auto cur = (*d)->current();
    ASSERT_TRUE(cur) << cur.error().message;
    EXPECT_EQ(cur->width, static_cast<std::uint32_t>(GetSystemMetrics(SM_CXSCREEN)));
    EXPECT_EQ(cur->height, static_cast<std::uint32_t>(GetSystemMetrics(SM_CYSCREEN)));
    auto modes = (*d)->modes();
    ASSERT_TRUE(modes) << modes.error().message;
    EXPECT_NE(std::find_if(
                  modes->begin(), modes->end(),
                  [&](const Mode& m) { return m.width == cur->width && m.height == cur->height; }),
              modes->end());
}

TEST(Win32Modes, ARequestForTheCurrentSizeChangesNothing) {
    auto d = open_win32_modes("");
    ASSERT_TRUE(d) << d.error().message;
    const auto cur = (*d)->current();
    ASSERT_TRUE(cur);
    auto r = apply_request(**d, cur->width, cur->height);
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_TRUE(r->chosen);
    EXPECT_FALSE(r->changed);
    EXPECT_EQ((*d)->current()->width, cur->width);
}

TEST(Win32Modes, AModeTheDisplayDoesNotOfferIsRefusedBeforeAnyChange) {
    auto d = open_win32_modes("");
    ASSERT_TRUE(d) << d.error().message;
    const auto cur = (*d)->current();
    ASSERT_TRUE(cur);
    auto r = (*d)->set(Mode{1001, 701, 0});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("refused by the test"), std::string::npos)
        << r.error().message;
    EXPECT_EQ((*d)->current()->width, cur->width);
}

TEST(Win32Modes, TheDisplayAtADesktopPointIsNamed) {
    const auto name = display_device_at(0, 0);
    EXPECT_TRUE(name.starts_with("\\\\.\\DISPLAY")) << name;
    auto d = open_win32_modes(name);
    ASSERT_TRUE(d) << d.error().message;
    EXPECT_EQ((*d)->current()->width, static_cast<std::uint32_t>(GetSystemMetrics(SM_CXSCREEN)));
    EXPECT_EQ(display_device_at(-100000, -100000), "") << "no display there";
}

TEST(Win32Modes, AnUnknownDisplayIsAnError) {
    auto d = open_win32_modes("\\\\.\\DISPLAY99");
    ASSERT_FALSE(d);
    EXPECT_NE(d.error().message.find("current mode"), std::string::npos) << d.error().message;
}

}  // namespace
