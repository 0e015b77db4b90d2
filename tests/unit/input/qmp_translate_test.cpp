#include "qmp/client.hpp"
#include "qmp/translate.hpp"

#include <gtest/gtest.h>
#include <linux/input-event-codes.h>

namespace porthole::client::qmp {
namespace {

using nlohmann::json;
using protocol::InputEvent;

TEST(QmpTranslate, KeysBecomeQcodesWithDirection) {
    const InputEvent b[] = {
        {0, EV_KEY, KEY_A, 1, 0}, {0, EV_KEY, KEY_RIGHTALT, 0, 0}, {0, EV_SYN, SYN_REPORT, 0, 0}};
    const auto t = to_qmp_events(b);
    ASSERT_EQ(t.events.size(), 2U);
    EXPECT_EQ(
        t.events[0],
        json::parse(R"({"type":"key","data":{"down":true,"key":{"type":"qcode","data":"a"}}})"));
    EXPECT_EQ(t.events[1]["data"]["key"]["data"], "alt_r");
    EXPECT_EQ(t.events[1]["data"]["down"], false);
}

TEST(QmpTranslate, F13ToF24AreSentOnlyToQemuEightAndLater) {
    const InputEvent b[] = {{0, EV_KEY, KEY_F13, 1, 0}, {0, EV_KEY, KEY_F24, 0, 0}};
    // QEMU 7.2 refuses a whole input-send-event for a name it does not know.
    const auto old = to_qmp_events(b, QemuVersion{7, 2});
    EXPECT_TRUE(old.events.empty());
    EXPECT_EQ(old.unmapped, 2U);
    EXPECT_EQ(old.needs_newer_qemu, 2U);
    EXPECT_EQ(to_qmp_events(b).unmapped, 2U);  // version unknown: as old
    const auto t = to_qmp_events(b, QemuVersion{8, 0});
    ASSERT_EQ(t.events.size(), 2U);
    EXPECT_EQ(t.events[0]["data"]["key"]["data"], "f13");
    EXPECT_EQ(t.events[1]["data"]["key"]["data"], "f24");
    EXPECT_EQ(t.unmapped, 0U);
    EXPECT_EQ(t.needs_newer_qemu, 0U);
    EXPECT_TRUE(to_qmp_events(b, QemuVersion{7, 99}).events.empty());
    EXPECT_EQ(qcode_for(KEY_F12, QemuVersion{7, 2}), "f12");
    EXPECT_EQ(qcode_for(KEY_F18, QemuVersion{9, 1}), "f18");
}

TEST(QmpTranslate, ButtonsAxesAndWheel) {
    const InputEvent b[] = {{0, EV_REL, REL_X, -4, 0},
                            {0, EV_ABS, ABS_Y, 32767, 0},
                            {0, EV_KEY, BTN_RIGHT, 1, 0},
                            {0, EV_REL, REL_WHEEL, -2, 0},
                            {0, EV_REL, REL_WHEEL_HI_RES, -240, 0},
                            {0, EV_REL, REL_HWHEEL, 1, 0}};
    const auto t = to_qmp_events(b);
    ASSERT_EQ(t.events.size(), 9U);
    EXPECT_EQ(t.events[0], json::parse(R"({"type":"rel","data":{"axis":"x","value":-4}})"));
    EXPECT_EQ(t.events[1], json::parse(R"({"type":"abs","data":{"axis":"y","value":32767}})"));
    EXPECT_EQ(t.events[2], json::parse(R"({"type":"btn","data":{"down":true,"button":"right"}})"));
    EXPECT_EQ(t.events[3]["data"]["button"], "wheel-down");
    EXPECT_EQ(t.events[4]["data"]["down"], false);
    EXPECT_EQ(t.events[6]["data"]["button"], "wheel-down");
    EXPECT_EQ(t.events[7]["data"]["button"], "wheel-right");
    EXPECT_EQ(t.unmapped, 0U) << "hi-res wheel is carried by REL_WHEEL, not lost";
}

TEST(QmpTranslate, GamepadEventsAreCountedNeverSentAsPointerOrKeys) {
    InputEvent b[] = {{0, EV_ABS, ABS_X, 100, 0},
                      {0, EV_KEY, BTN_SOUTH, 1, 0},
                      {0, EV_SYN, SYN_REPORT, 0, 0},
                      {0, EV_KEY, KEY_A, 1, 0}};
    for (int i = 0; i < 3; ++i)
        b[i].device = 2;
    const auto t = to_qmp_events(b);
    ASSERT_EQ(t.events.size(), 1U) << t.events.dump();
    EXPECT_EQ(t.events[0]["data"]["key"]["data"], "a");
    EXPECT_EQ(t.unmapped, 2U);
}

TEST(QmpTranslate, KeysQemuCannotNameAreCounted) {
    const InputEvent b[] = {{0, EV_KEY, KEY_F13, 1, 0}};
    const auto t = to_qmp_events(b);
    EXPECT_TRUE(t.events.empty());
    EXPECT_EQ(t.unmapped, 1U);
}

TEST(QmpTranslate, CommandCarriesIdAndEndsWithNewline) {
    const auto cmd = input_send_event_command(json::array(), 42);
    ASSERT_EQ(cmd.back(), '\n');
    const auto j = json::parse(cmd);
    EXPECT_EQ(j["execute"], "input-send-event");
    EXPECT_EQ(j["id"], 42);
}

}  // namespace
}  // namespace porthole::client::qmp
