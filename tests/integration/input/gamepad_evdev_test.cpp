// Gamepads from a umockdev-faked evdev pad, through the region's input ring,
// to the agent's uinput pad (its kernel side recorded: this machine has no
// /dev/uinput; the VM suite's guest has one). Runs inside input_evdev_tests,
// whose main() re-runs it under umockdev-wrapper.
#include <gtest/gtest.h>
#include <linux/input.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fake_evdev.hpp"
#include "input/gamepad.hpp"
#include "input/uinput.hpp"
#include "porthole/protocol/input_ring.hpp"
#include "porthole/protocol/pad_feedback.hpp"

namespace porthole::client::input {
namespace {

using namespace std::chrono_literals;
using test::FakeDeviceSpec;
using test::FakeEvdevBed;

// One uinput device's events as the kernel would get them, and its setup.
struct RecordedPad {
    std::vector<input_event> events;
    std::vector<uinput_abs_setup> abs;
    bool created = false, destroyed = false;
};

class RecordingPad final : public agent::UinputKernel {
  public:
    explicit RecordingPad(RecordedPad& r) : r_(r) {}
    ~RecordingPad() override { r_.destroyed = true; }
    Status set_bit(unsigned long, int) override { return {}; }
    Status abs_setup(const uinput_abs_setup& a) override {
        r_.abs.push_back(a);
        return {};
    }
    Status setup(const uinput_setup&) override { return {}; }
    Status create() override {
        r_.created = true;
        return {};
    }
    Status write(std::span<const input_event> events) override {
        r_.events.insert(r_.events.end(), events.begin(), events.end());
        return {};
    }

  private:
    RecordedPad& r_;
};

// The host's GamepadInput writing the ring, the agent's injector reading it.
struct PadPath {
    std::vector<std::byte> channel =
        std::vector<std::byte>(4096 + 256 * sizeof(protocol::InputEvent));
    std::optional<protocol::InputRingReader> reader;
    RecordedPad pointer, tablet;
    std::vector<std::unique_ptr<RecordedPad>> pads;
    std::unique_ptr<agent::UinputInjector> injector;
    RegionInputSink sink;
    FakeEvdevBed bed;

    PadPath() {
        EXPECT_TRUE(protocol::init_input_ring(channel, 256));
        reader.emplace(*protocol::InputRingReader::attach(channel));
        sink.attach(*protocol::InputRingWriter::attach(channel));
        auto inj = agent::UinputInjector::create(
            std::make_unique<RecordingPad>(pointer), std::make_unique<RecordingPad>(tablet),
            [this]() -> Result<std::unique_ptr<agent::UinputKernel>> {
                pads.push_back(std::make_unique<RecordedPad>());
                return std::unique_ptr<agent::UinputKernel>(
                    std::make_unique<RecordingPad>(*pads.back()));
            });
        EXPECT_TRUE(inj);
        injector = std::move(*inj);
    }
    void agent_poll() {
        protocol::InputEvent buf[64];
        if (const auto n = reader->pop(buf); n > 0) (void)injector->inject(std::span(buf, n));
    }
    bool until(GamepadInput& in, const std::function<bool()>& f) {
        for (int i = 0; i < 150 && !f(); ++i) {
            EXPECT_TRUE(in.poll(20ms));
            agent_poll();
        }
        return f();
    }
};

bool has(const RecordedPad& p, std::uint16_t type, std::uint16_t code, std::int32_t value) {
    for (const auto& e : p.events)
        if (e.type == type && e.code == code && e.value == value) return true;
    return false;
}

TEST(GamepadInput, AFakePadReachesTheAgentsUinputPadWithItsAxesInTheProtocolsRanges) {
    PadPath path;
    FakeDeviceSpec ds4{"Porthole Test Pad", 30, false, "", true};
    path.bed.add(ds4);
    auto in = GamepadInput::create({"/dev/input/event30"}, path.sink);
    ASSERT_TRUE(in) << in.error().message;
    ASSERT_TRUE((*in)->pads()[0].open) << (*in)->pads()[0].last_error;
    EXPECT_EQ((*in)->pads()[0].name, "Porthole Test Pad");
    path.bed.emit(ds4, EV_KEY, BTN_SOUTH, 1);
    path.bed.emit(ds4, EV_ABS, ABS_X, 0);
    path.bed.emit(ds4, EV_ABS, ABS_RZ, 255);
    path.bed.emit(ds4, EV_ABS, ABS_HAT0X, -1);
    path.bed.syn(ds4);
    ASSERT_TRUE(
        path.until(**in, [&] { return !path.pads.empty() && path.pads[0]->events.size() >= 5; }))
        << "delivered " << path.sink.delivered() << ", rejected " << path.reader->rejected();
    const auto& pad = *path.pads[0];
    EXPECT_TRUE(pad.created);
    EXPECT_EQ(pad.abs.size(), 8U);
    ASSERT_EQ(pad.events.size(), 5U);
    EXPECT_TRUE(has(pad, EV_KEY, BTN_SOUTH, 1));
    EXPECT_TRUE(has(pad, EV_ABS, ABS_X, -32768));
    EXPECT_TRUE(has(pad, EV_ABS, ABS_RZ, 1023));
    EXPECT_TRUE(has(pad, EV_ABS, ABS_HAT0X, -1));
    EXPECT_EQ(pad.events.back().type, EV_SYN);
    EXPECT_TRUE(path.pointer.events.empty()) << "a pad never types or moves the pointer";
    EXPECT_TRUE(path.tablet.events.empty());
    EXPECT_EQ(path.reader->rejected(), 0U);
    // porthole stops: the guest's pad goes with it, so nothing stays held there.
    in->reset();
    path.agent_poll();
    EXPECT_TRUE(pad.destroyed);
}

// The device is not trusted: values past its declared range arrive clamped,
// codes it never declared are dropped (and counted), and the guest rejects
// nothing the host sent.
TEST(GamepadInput, AHostilePadsValuesAreClampedAndUndeclaredCodesDropped) {
    PadPath path;
    FakeDeviceSpec pad{"Porthole Test Pad", 31, false, "", true};
    path.bed.add(pad);
    auto in = GamepadInput::create({"/dev/input/event31"}, path.sink);
    ASSERT_TRUE(in) << in.error().message;
    path.bed.emit(pad, EV_ABS, ABS_Y, 100000);
    path.bed.emit(pad, EV_ABS, ABS_Z, -7);
    path.bed.emit(pad, EV_ABS, ABS_HAT0Y, 9);
    path.bed.emit(pad, EV_ABS, ABS_MISC, 5);
    path.bed.emit(pad, EV_KEY, KEY_A, 1);
    path.bed.emit(pad, EV_KEY, BTN_TRIGGER_HAPPY1, 1);
    path.bed.syn(pad);
    ASSERT_TRUE(
        path.until(**in, [&] { return !path.pads.empty() && path.pads[0]->events.size() >= 4; }));
    const auto& p = *path.pads[0];
    EXPECT_TRUE(has(p, EV_ABS, ABS_Y, 32767));
    EXPECT_TRUE(has(p, EV_ABS, ABS_Z, 0));
    EXPECT_TRUE(has(p, EV_ABS, ABS_HAT0Y, 1));
    EXPECT_EQ(p.events.size(), 4U) << "three axes and the report: nothing else";
    // libevdev itself drops codes the device never declared; the mapper's own
    // dropping (declared but outside the pad layout) is in the unit tests.
    EXPECT_EQ(path.reader->rejected(), 0U);
}

TEST(GamepadInput, AnUnpluggedPadLeavesTheGuestAndComesBackAsANewPad) {
    PadPath path;
    FakeDeviceSpec pad{"Porthole Test Pad", 32, false, "usb-Test_Pad-event-joystick", true};
    path.bed.add(pad);
    auto in = GamepadInput::create({"/dev/input/by-id/usb-Test_Pad-event-joystick"}, path.sink);
    ASSERT_TRUE(in) << in.error().message;
    ASSERT_TRUE((*in)->pads()[0].open) << (*in)->pads()[0].last_error;
    path.bed.emit(pad, EV_KEY, BTN_WEST, 1);
    path.bed.syn(pad);
    ASSERT_TRUE(
        path.until(**in, [&] { return !path.pads.empty() && !path.pads[0]->events.empty(); }));
    path.bed.remove(pad);
    ASSERT_TRUE(path.until(**in, [&] { return path.pads[0]->destroyed; }))
        << "the guest's pad must go with the host's: nothing stays held";
    EXPECT_FALSE((*in)->pads()[0].open);
    pad.number = 33;  // back under a new node, same by-id link
    path.bed.add(pad);
    ASSERT_TRUE(path.until(**in, [&] { return (*in)->pads()[0].open; }))
        << (*in)->pads()[0].last_error;
    path.bed.emit(pad, EV_KEY, BTN_NORTH, 1);
    path.bed.syn(pad);
    ASSERT_TRUE(
        path.until(**in, [&] { return path.pads.size() == 2 && !path.pads[1]->events.empty(); }));
    EXPECT_TRUE(has(*path.pads[1], EV_KEY, BTN_NORTH, 1));
}

TEST(GamepadInput, AKeyboardGivenAsAGamepadIsRefusedSayingWhy) {
    FakeEvdevBed bed;
    FakeDeviceSpec kbd{"Porthole Test Keyboard", 34, true, ""};
    bed.add(kbd);
    RegionInputSink sink;
    auto in = GamepadInput::create({"/dev/input/event34"}, sink);
    ASSERT_FALSE(in);
    EXPECT_NE(in.error().message.find("is not a gamepad"), std::string::npos) << in.error().message;
    auto five = GamepadInput::create({"a", "b", "c", "d", "e"}, sink);
    ASSERT_FALSE(five);
    EXPECT_NE(five.error().message.find("at most 4"), std::string::npos);
}

// The feedback ring's records reach the pad of their slot; a pad without
// FF_RUMBLE (umockdev fakes none: it cannot take EVIOCSFF) and a slot with no
// pad take nothing, invalid records are counted and said once, and a poll
// takes at most kFeedbackPerPoll records.
TEST(GamepadInput, FeedbackRecordsAreRoutedByTheirSlotBoundedPerPollAndBadOnesSaidOnce) {
    PadPath path;
    ASSERT_TRUE(protocol::init_pad_feedback(path.channel));
    auto writer = protocol::PadFeedbackWriter::attach(path.channel);
    ASSERT_TRUE(writer);
    FakeDeviceSpec ds4{"Porthole Test Pad", 30, false, "", true};
    path.bed.add(ds4);
    auto in = GamepadInput::create({"/dev/input/event30"}, path.sink);
    ASSERT_TRUE(in) << in.error().message;
    ASSERT_TRUE((*in)->pads()[0].open);
    EXPECT_FALSE((*in)->pads()[0].rumble) << "the fake pad declares no FF_RUMBLE";
    std::vector<std::string> notices;
    (*in)->set_notice([&](const std::string& m) { notices.push_back(m); });
    auto reader = protocol::PadFeedbackReader::attach(path.channel);
    ASSERT_TRUE(reader);
    (*in)->attach_feedback(*reader);

    protocol::PadFeedbackRecord up{};
    up.op = static_cast<std::uint8_t>(protocol::PadFeedbackOp::upload);
    up.device = 1;
    up.strong = 0xffff;
    writer->push(up);
    up.device = 3;  // no pad in slot 3
    writer->push(up);
    up.device = 0;  // the keyboard's slot: invalid
    writer->push(up);
    up.effect = 99;
    writer->push(up);
    ASSERT_TRUE((*in)->poll(1ms));
    auto st = (*in)->feedback_stats();
    EXPECT_EQ(st.no_rumble, 2U);
    EXPECT_EQ(st.rejected, 2U);
    EXPECT_EQ(st.applied + st.refused, 0U);
    ASSERT_EQ(notices.size(), 1U) << "said once";
    EXPECT_NE(notices[0].find("invalid"), std::string::npos);

    up.device = 1;
    up.effect = 0;
    for (int i = 0; i < 40; ++i)
        writer->push(up);
    ASSERT_TRUE((*in)->poll(1ms));
    st = (*in)->feedback_stats();
    EXPECT_EQ(st.no_rumble, 2U + GamepadInput::kFeedbackPerPoll);
    for (int i = 0; i < 5; ++i)
        ASSERT_TRUE((*in)->poll(1ms));
    EXPECT_EQ((*in)->feedback_stats().no_rumble, 42U);
    (*in)->attach_feedback(std::nullopt);  // the session is over: nothing is read
    writer->push(up);
    ASSERT_TRUE((*in)->poll(1ms));
    EXPECT_EQ((*in)->feedback_stats().no_rumble, 42U);
    EXPECT_EQ(notices.size(), 1U);
}

}  // namespace
}  // namespace porthole::client::input
