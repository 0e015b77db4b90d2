// The host's side of gamepad forwarding without a device: which evdev
// devices are pads, and how a pad's events (from a device the host does not
// trust either) become pad-slot events the guest accepts. libevdev objects
// built in memory stand for the devices; tests/integration/input has a
// umockdev pad read through its node.
#include "input/gamepad.hpp"

#include <gtest/gtest.h>
#include <libevdev/libevdev.h>

#include <climits>
#include <memory>

namespace porthole::client::input {
namespace {

namespace pad = protocol::pad;

struct Dev {
    libevdev* d = libevdev_new();
    ~Dev() { libevdev_free(d); }
    Dev(const Dev&) = delete;
    Dev& operator=(const Dev&) = delete;
    Dev() = default;
    Dev& key(unsigned code) {
        libevdev_enable_event_code(d, EV_KEY, code, nullptr);
        return *this;
    }
    Dev& axis(unsigned code, int min, int max) {
        input_absinfo a{};
        a.minimum = min;
        a.maximum = max;
        libevdev_enable_event_code(d, EV_ABS, code, &a);
        return *this;
    }
};

// A DualShock 4 as hid-sony declares it: sticks 0..255, triggers 0..255, a hat.
void dualshock(Dev& d) {
    for (int b : {BTN_SOUTH, BTN_EAST, BTN_NORTH, BTN_WEST, BTN_TL, BTN_TR, BTN_TL2, BTN_TR2,
                  BTN_SELECT, BTN_START, BTN_MODE, BTN_THUMBL, BTN_THUMBR})
        d.key(static_cast<unsigned>(b));
    for (int a : {ABS_X, ABS_Y, ABS_RX, ABS_RY, ABS_Z, ABS_RZ})
        d.axis(static_cast<unsigned>(a), 0, 255);
    d.axis(ABS_HAT0X, -1, 1).axis(ABS_HAT0Y, -1, 1);
}

input_event ev(std::uint16_t type, std::uint16_t code, std::int32_t value) {
    input_event e{};
    e.type = type;
    e.code = code;
    e.value = value;
    return e;
}

TEST(Gamepad, IsRecognisedByItsButtonsAndStickNotAKeyboardOrMouseOrTablet) {
    Dev pad;
    dualshock(pad);
    EXPECT_TRUE(is_gamepad(pad.d));
    Dev keyboard;
    keyboard.key(KEY_A).key(KEY_SPACE);
    EXPECT_FALSE(is_gamepad(keyboard.d));
    Dev tablet;
    tablet.key(BTN_LEFT).axis(ABS_X, 0, 32767).axis(ABS_Y, 0, 32767);
    EXPECT_FALSE(is_gamepad(tablet.d));
    Dev buttons_only;  // a media remote with BTN_SOUTH but no stick
    buttons_only.key(BTN_SOUTH);
    EXPECT_FALSE(is_gamepad(buttons_only.d));
}

TEST(PadMapper, SticksTriggersAndHatMapOntoTheProtocolRangesFromTheirAbsinfo) {
    Dev d;
    dualshock(d);
    PadMapper m(PadAxes::of(d.d), 2);
    auto value = [&](std::uint16_t code, std::int32_t v) {
        const auto out = m.map(ev(EV_ABS, code, v));
        EXPECT_TRUE(out) << code;
        if (!out) return INT_MIN;
        EXPECT_EQ(out->device, 2U);
        EXPECT_EQ(out->code, code);
        return out->value;
    };
    EXPECT_EQ(value(ABS_X, 0), -32768);
    EXPECT_EQ(value(ABS_X, 255), 32767);
    EXPECT_NEAR(value(ABS_RY, 128), 0, 200);  // the 0..255 stick's centre
    EXPECT_EQ(value(ABS_Z, 0), 0);
    EXPECT_EQ(value(ABS_RZ, 255), 1023);
    EXPECT_EQ(value(ABS_HAT0X, -1), -1);
    EXPECT_EQ(value(ABS_HAT0Y, 0), 0);
    EXPECT_EQ(value(ABS_HAT0Y, 1), 1);
    // A pad already in the protocol's ranges passes unchanged.
    Dev x;
    x.key(BTN_SOUTH).axis(ABS_X, -32768, 32767).axis(ABS_Y, -32768, 32767).axis(ABS_Z, 0, 1023);
    PadMapper same(PadAxes::of(x.d), 1);
    for (int v : {-32768, -1, 0, 1, 12345, 32767})
        EXPECT_EQ(same.map(ev(EV_ABS, ABS_Y, v))->value, v);
    EXPECT_EQ(same.map(ev(EV_ABS, ABS_Z, 511))->value, 511);
}

TEST(PadMapper, ValuesOutsideTheDeclaredRangeAreClampedIntoIt) {
    Dev d;
    dualshock(d);
    PadMapper m(PadAxes::of(d.d), 1);
    EXPECT_EQ(m.map(ev(EV_ABS, ABS_X, -5000))->value, -32768);
    EXPECT_EQ(m.map(ev(EV_ABS, ABS_X, INT_MAX))->value, 32767);
    EXPECT_EQ(m.map(ev(EV_ABS, ABS_Z, INT_MIN))->value, 0);
    EXPECT_EQ(m.map(ev(EV_ABS, ABS_HAT0X, 7))->value, 1);
}

TEST(PadMapper, AxesWithoutAUsableRangeAndCodesOutsideThePadLayoutAreDroppedAndCounted) {
    Dev d;
    d.key(BTN_SOUTH).axis(ABS_X, -32768, 32767).axis(ABS_Y, 5, 5).axis(ABS_RX, 100, -100);
    d.axis(ABS_MISC, 0, 10).axis(ABS_MT_POSITION_X, 0, 1000);
    PadMapper m(PadAxes::of(d.d), 1);
    EXPECT_FALSE(m.map(ev(EV_ABS, ABS_Y, 5))) << "an empty range maps nothing";
    EXPECT_FALSE(m.map(ev(EV_ABS, ABS_RX, 0))) << "an inverted range maps nothing";
    EXPECT_FALSE(m.map(ev(EV_ABS, ABS_RY, 0))) << "an axis the device never declared";
    EXPECT_FALSE(m.map(ev(EV_ABS, ABS_MISC, 3)));
    EXPECT_FALSE(m.map(ev(EV_ABS, ABS_MT_POSITION_X, 3)));
    EXPECT_FALSE(m.map(ev(EV_KEY, KEY_A, 1)));
    EXPECT_FALSE(m.map(ev(EV_KEY, BTN_TRIGGER_HAPPY1, 1)));
    EXPECT_FALSE(m.map(ev(EV_REL, REL_X, 1)));
    EXPECT_FALSE(m.map(ev(EV_FF, 0, 1)));
    EXPECT_EQ(m.dropped(), 9U);
    EXPECT_FALSE(m.map(ev(EV_SYN, SYN_DROPPED, 0))) << "libevdev resyncs; not an event to send";
    EXPECT_EQ(m.dropped(), 9U);
}

TEST(PadMapper, ButtonsCarryTheSlotRepeatsAreDroppedAndTheReportEndsTheBatch) {
    Dev d;
    dualshock(d);
    PadMapper m(PadAxes::of(d.d), 4);
    const auto press = m.map(ev(EV_KEY, BTN_EAST, 1));
    ASSERT_TRUE(press);
    EXPECT_EQ(press->device, 4U);
    EXPECT_EQ(press->value, 1);
    EXPECT_FALSE(m.map(ev(EV_KEY, BTN_EAST, 2)));
    EXPECT_EQ(m.map(ev(EV_KEY, BTN_DPAD_LEFT, 0))->value, 0);
    const auto syn = m.map(ev(EV_SYN, SYN_REPORT, 0));
    ASSERT_TRUE(syn);
    EXPECT_EQ(syn->device, 4U);
    EXPECT_EQ(m.dropped(), 0U);
}

// Whatever absinfo a device declares and whatever it sends, what the host
// forwards is an event the guest accepts: the two sides agree on the layout.
TEST(PadMapper, EveryForwardedEventIsOneTheGuestAccepts) {
    const int edges[] = {INT_MIN, INT_MIN + 1, -65536, -32769, -32768, -1,          0,
                         1,       255,         1023,   32767,  65535,  INT_MAX - 1, INT_MAX};
    int checked = 0;
    for (int lo : edges) {
        for (int hi : edges) {
            Dev d;
            d.key(BTN_SOUTH);
            for (std::uint16_t a : pad::kAxes)
                d.axis(a, lo, hi);
            PadMapper m(PadAxes::of(d.d), 3);
            for (std::uint16_t a : pad::kAxes) {
                for (int v : edges) {
                    const auto out = m.map(ev(EV_ABS, a, v));
                    if (!out) continue;
                    ++checked;
                    ASSERT_TRUE(protocol::is_valid_input_event(*out))
                        << "axis " << a << " range " << lo << ".." << hi << " value " << v << " -> "
                        << out->value;
                }
            }
        }
    }
    EXPECT_GT(checked, 10000);
}

}  // namespace
}  // namespace porthole::client::input
