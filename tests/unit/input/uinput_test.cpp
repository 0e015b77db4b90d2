#include "input/uinput.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <deque>
#include <map>
#include <vector>

namespace porthole::agent {
namespace {

using protocol::InputEvent;

// Records what the injector asks of the kernel.
struct Recorded {
    std::vector<std::pair<unsigned long, int>> bits;
    std::vector<uinput_abs_setup> abs;
    std::string name;
    std::uint16_t bustype = 0;
    bool created = false;
    bool destroyed = false;  // the kernel interface was closed (UI_DEV_DESTROY)
    std::uint16_t vendor = 0, product = 0;
    std::vector<input_event> written;
    bool fail_write = false;
    std::uint32_t ff_effects_max = 0;
    // Force feedback: what the kernel queued for the agent to read, the
    // effect behind each upload request id, the erase behind each erase id.
    std::deque<input_event> to_read;
    std::map<std::uint32_t, ff_effect> upload_requests;
    std::map<std::uint32_t, std::uint32_t> erase_requests;
    std::vector<uinput_ff_upload> uploads_ended;
    std::vector<uinput_ff_erase> erases_ended;
};

class FakeKernel final : public UinputKernel {
  public:
    explicit FakeKernel(Recorded& r) : r_(r) {}
    ~FakeKernel() override { r_.destroyed = true; }
    Status set_bit(unsigned long request, int code) override {
        if (r_.created) return Error::make("set_bit after create");
        r_.bits.emplace_back(request, code);
        return {};
    }
    Status abs_setup(const uinput_abs_setup& a) override {
        r_.abs.push_back(a);
        return {};
    }
    Status setup(const uinput_setup& s) override {
        r_.name = s.name;
        r_.bustype = s.id.bustype;
        r_.vendor = s.id.vendor;
        r_.product = s.id.product;
        r_.ff_effects_max = s.ff_effects_max;
        return {};
    }
    Status create() override {
        r_.created = true;
        return {};
    }
    Status write(std::span<const input_event> events) override {
        if (r_.fail_write) return Error::make("EIO");
        r_.written.insert(r_.written.end(), events.begin(), events.end());
        return {};
    }
    Result<std::size_t> read(std::span<input_event> out) override {
        std::size_t n = 0;
        for (; n < out.size() && !r_.to_read.empty(); ++n) {
            out[n] = r_.to_read.front();
            r_.to_read.pop_front();
        }
        return n;
    }
    Status begin_ff_upload(uinput_ff_upload& u) override {
        const auto it = r_.upload_requests.find(u.request_id);
        if (it == r_.upload_requests.end()) return Error::make("EINVAL: no such upload");
        u.effect = it->second;
        return {};
    }
    Status end_ff_upload(const uinput_ff_upload& u) override {
        r_.uploads_ended.push_back(u);
        return {};
    }
    Status begin_ff_erase(uinput_ff_erase& e) override {
        const auto it = r_.erase_requests.find(e.request_id);
        if (it == r_.erase_requests.end()) return Error::make("EINVAL: no such erase");
        e.effect_id = it->second;
        return {};
    }
    Status end_ff_erase(const uinput_ff_erase& e) override {
        r_.erases_ended.push_back(e);
        return {};
    }

  private:
    Recorded& r_;
};

bool has_bit(const Recorded& r, unsigned long req, int code) {
    return std::find(r.bits.begin(), r.bits.end(), std::pair{req, code}) != r.bits.end();
}

struct Rig {
    Recorded pointer, tablet;
    std::unique_ptr<UinputInjector> inj;
    Rig() {
        auto i = UinputInjector::create(std::make_unique<FakeKernel>(pointer),
                                        std::make_unique<FakeKernel>(tablet));
        EXPECT_TRUE(i);
        inj = std::move(*i);
    }
};

TEST(UinputInjector, CreatesAKeyboardMouseAndATabletWithTheProtocolsRanges) {
    Rig r;
    EXPECT_TRUE(r.pointer.created);
    EXPECT_TRUE(r.tablet.created);
    EXPECT_EQ(r.pointer.bustype, BUS_VIRTUAL);
    EXPECT_TRUE(has_bit(r.pointer, UI_SET_KEYBIT, KEY_A));
    EXPECT_TRUE(has_bit(r.pointer, UI_SET_KEYBIT, KEY_PAUSE));
    EXPECT_TRUE(has_bit(r.pointer, UI_SET_KEYBIT, BTN_LEFT));
    EXPECT_FALSE(has_bit(r.pointer, UI_SET_KEYBIT, BTN_TOUCH))
        << "no digitiser keys: it must stay a mouse";
    EXPECT_TRUE(has_bit(r.pointer, UI_SET_RELBIT, REL_WHEEL_HI_RES));
    EXPECT_FALSE(has_bit(r.pointer, UI_SET_EVBIT, EV_ABS));
    ASSERT_EQ(r.tablet.abs.size(), 2U);
    EXPECT_EQ(r.tablet.abs[0].absinfo.maximum, 32767);
    EXPECT_EQ(r.tablet.abs[1].code, ABS_Y);
}

TEST(UinputInjector, KeysAndRelativeMotionGoToTheMouseDeviceWithOneSyn) {
    Rig r;
    const InputEvent b[] = {{0, EV_KEY, KEY_A, 1, 0},
                            {0, EV_REL, REL_X, 7, 0},
                            {0, EV_REL, REL_WHEEL_HI_RES, 120, 0},
                            {0, EV_SYN, SYN_REPORT, 0, 0}};
    ASSERT_TRUE(r.inj->inject(b));
    ASSERT_EQ(r.pointer.written.size(), 4U);
    EXPECT_EQ(r.pointer.written[1].value, 7);
    EXPECT_EQ(r.pointer.written[3].type, EV_SYN);
    EXPECT_TRUE(r.tablet.written.empty());
    EXPECT_EQ(r.inj->stats().events, 3U);
}

TEST(UinputInjector, ClicksFollowTheLastMotionKind) {
    Rig r;
    const InputEvent abs_click[] = {{0, EV_ABS, ABS_X, 100, 0},
                                    {0, EV_ABS, ABS_Y, 200, 0},
                                    {0, EV_KEY, BTN_LEFT, 1, 0},
                                    {0, EV_SYN, SYN_REPORT, 0, 0}};
    ASSERT_TRUE(r.inj->inject(abs_click));
    ASSERT_EQ(r.tablet.written.size(), 4U);
    EXPECT_EQ(r.tablet.written[2].code, BTN_LEFT);
    const InputEvent rel_click[] = {
        {0, EV_REL, REL_Y, 1, 0}, {0, EV_KEY, BTN_LEFT, 0, 0}, {0, EV_SYN, SYN_REPORT, 0, 0}};
    ASSERT_TRUE(r.inj->inject(rel_click));
    ASSERT_EQ(r.pointer.written.size(), 3U);
    EXPECT_EQ(r.pointer.written[1].code, BTN_LEFT);
}

TEST(UinputInjector, SeveralBatchesAtOnceKeepTheirOwnSynReports) {
    Rig r;
    const InputEvent b[] = {{0, EV_KEY, KEY_H, 1, 0},
                            {0, EV_SYN, SYN_REPORT, 0, 0},
                            {0, EV_KEY, KEY_H, 0, 0},
                            {0, EV_SYN, SYN_REPORT, 0, 0}};
    ASSERT_TRUE(r.inj->inject(b));
    ASSERT_EQ(r.pointer.written.size(), 4U);
    EXPECT_EQ(r.pointer.written[1].type, EV_SYN);
    EXPECT_EQ(r.pointer.written[2].value, 0);
    EXPECT_EQ(r.inj->stats().events, 2U);
}

TEST(UinputInjector, KernelRefusalIsReportedAndCounted) {
    Rig r;
    r.pointer.fail_write = true;
    const InputEvent b[] = {{0, EV_KEY, KEY_A, 1, 0}, {0, EV_SYN, SYN_REPORT, 0, 0}};
    EXPECT_FALSE(r.inj->inject(b));
    EXPECT_EQ(r.inj->stats().failed, 1U);
}

TEST(UinputInjector, MissingUinputNodeSaysWhatToDo) {
    auto k = open_uinput("/nonexistent/uinput");
    ASSERT_FALSE(k);
    EXPECT_NE(k.error().message.find("modprobe uinput"), std::string::npos);
}

// A rig whose gamepads come from an opener that records each pad device it
// hands out (or refuses while `refuse_pads`).
struct PadRig {
    Recorded pointer, tablet;
    std::vector<std::unique_ptr<Recorded>> pads;
    bool refuse_pads = false;
    std::unique_ptr<UinputInjector> inj;
    PadRig() {
        auto i = UinputInjector::create(
            std::make_unique<FakeKernel>(pointer), std::make_unique<FakeKernel>(tablet),
            [this]() -> Result<std::unique_ptr<UinputKernel>> {
                if (refuse_pads) return Error::make("cannot open /dev/uinput: EACCES");
                pads.push_back(std::make_unique<Recorded>());
                return std::unique_ptr<UinputKernel>(std::make_unique<FakeKernel>(*pads.back()));
            });
        EXPECT_TRUE(i);
        inj = std::move(*i);
    }
};

InputEvent pad(std::uint32_t slot, std::uint16_t type, std::uint16_t code, std::int32_t value) {
    InputEvent e{0, type, code, value};
    e.device = slot;
    return e;
}

TEST(UinputGamepad, FirstPadEventCreatesAnXbox360LayoutPadDeclaringTheProtocolsRanges) {
    PadRig r;
    const InputEvent b[] = {pad(1, EV_KEY, BTN_SOUTH, 1), pad(1, EV_SYN, SYN_REPORT, 0)};
    ASSERT_TRUE(r.inj->inject(b));
    ASSERT_EQ(r.pads.size(), 1U);
    const Recorded& p = *r.pads[0];
    EXPECT_TRUE(p.created);
    EXPECT_EQ(p.name, "Porthole gamepad 1");
    EXPECT_EQ(p.vendor, 0x045e);
    EXPECT_EQ(p.product, 0x028e);
    for (int b2 : {BTN_SOUTH, BTN_EAST, BTN_NORTH, BTN_WEST, BTN_TL, BTN_TR, BTN_SELECT, BTN_START,
                   BTN_MODE, BTN_THUMBL, BTN_THUMBR, BTN_DPAD_UP, BTN_DPAD_RIGHT})
        EXPECT_TRUE(has_bit(p, UI_SET_KEYBIT, b2)) << b2;
    EXPECT_FALSE(has_bit(p, UI_SET_KEYBIT, KEY_A)) << "a pad, not a keyboard";
    EXPECT_FALSE(has_bit(p, UI_SET_EVBIT, EV_REL));
    ASSERT_EQ(p.abs.size(), 8U);
    for (const auto& a : p.abs) {
        const auto want = protocol::pad::axis_range(a.code);
        ASSERT_TRUE(want) << a.code;
        EXPECT_EQ(a.absinfo.minimum, want->min) << a.code;
        EXPECT_EQ(a.absinfo.maximum, want->max) << a.code;
    }
    ASSERT_EQ(p.written.size(), 2U);
    EXPECT_EQ(p.written[0].code, BTN_SOUTH);
    EXPECT_EQ(p.written[1].type, EV_SYN);
    EXPECT_TRUE(r.pointer.written.empty());
    EXPECT_TRUE(r.tablet.written.empty());
}

TEST(UinputGamepad, PadAxesNeverMoveThePointerAndEachSlotIsItsOwnDevice) {
    PadRig r;
    const InputEvent b[] = {pad(1, EV_ABS, ABS_X, -32768), pad(1, EV_ABS, ABS_RZ, 1023),
                            pad(2, EV_ABS, ABS_X, 32767),  pad(1, EV_SYN, SYN_REPORT, 0),
                            pad(2, EV_ABS, ABS_HAT0Y, -1), pad(2, EV_SYN, SYN_REPORT, 0),
                            {0, EV_ABS, ABS_X, 100, 0},    {0, EV_SYN, SYN_REPORT, 0, 0}};
    ASSERT_TRUE(r.inj->inject(b));
    ASSERT_EQ(r.pads.size(), 2U);
    ASSERT_EQ(r.pads[0]->written.size(), 3U);
    EXPECT_EQ(r.pads[0]->written[0].value, -32768);
    EXPECT_EQ(r.pads[0]->written[1].code, ABS_RZ);
    EXPECT_EQ(r.pads[0]->written[2].type, EV_SYN);
    ASSERT_EQ(r.pads[1]->written.size(), 3U);
    EXPECT_EQ(r.pads[1]->written[1].code, ABS_HAT0Y);
    ASSERT_EQ(r.tablet.written.size(), 2U) << "only the tablet's own ABS_X";
    EXPECT_EQ(r.tablet.written[0].value, 100);
    EXPECT_EQ(r.inj->stats().events, 5U);
}

TEST(UinputGamepad, APadGoneIsDestroyedAndTheSlotsNextPadIsANewDevice) {
    PadRig r;
    const InputEvent press[] = {pad(3, EV_KEY, BTN_EAST, 1), pad(3, EV_SYN, SYN_REPORT, 0)};
    ASSERT_TRUE(r.inj->inject(press));
    const InputEvent gone[] = {pad(3, EV_KEY, BTN_EAST, 0), pad(3, EV_SYN, SYN_REPORT, 0),
                               pad(3, EV_SYN, protocol::pad::syn_gone, 0)};
    ASSERT_TRUE(r.inj->inject(gone));
    ASSERT_EQ(r.pads.size(), 1U);
    EXPECT_EQ(r.pads[0]->written.size(), 4U) << "the release reaches the pad before it goes";
    EXPECT_TRUE(r.pads[0]->destroyed);
    ASSERT_TRUE(r.inj->inject(press));
    ASSERT_EQ(r.pads.size(), 2U);
    EXPECT_EQ(r.pads[1]->name, "Porthole gamepad 3");
    EXPECT_FALSE(r.pads[1]->destroyed);
}

TEST(UinputGamepad, APadThatCannotBeCreatedIsCountedAndNotRetriedUntilGone) {
    PadRig r;
    r.refuse_pads = true;
    const InputEvent b[] = {pad(1, EV_KEY, BTN_SOUTH, 1), pad(1, EV_SYN, SYN_REPORT, 0)};
    const auto first = r.inj->inject(b);
    ASSERT_FALSE(first);
    EXPECT_NE(first.error().message.find("EACCES"), std::string::npos);
    r.refuse_pads = false;
    EXPECT_TRUE(r.inj->inject(b)) << "said once, not on every event";
    EXPECT_TRUE(r.pads.empty());
    EXPECT_EQ(r.inj->stats().unmapped, 2U);
    const InputEvent gone[] = {pad(1, EV_SYN, protocol::pad::syn_gone, 0)};
    ASSERT_TRUE(r.inj->inject(gone));
    ASSERT_TRUE(r.inj->inject(b));
    EXPECT_EQ(r.pads.size(), 1U);
}

TEST(UinputGamepad, WithoutAnOpenerPadEventsAreCountedAsUnmapped) {
    Rig r;
    const InputEvent b[] = {pad(1, EV_KEY, BTN_SOUTH, 1), pad(1, EV_SYN, SYN_REPORT, 0)};
    EXPECT_FALSE(r.inj->inject(b));
    EXPECT_EQ(r.inj->stats().unmapped, 1U);
    EXPECT_TRUE(r.pointer.written.empty());
}

TEST(MakeInjector, NoneCountsAndUnknownNamesTheChoices) {
    auto none = make_injector("none");
    ASSERT_TRUE(none);
    const InputEvent b[] = {{0, EV_KEY, KEY_A, 1, 0}};
    ASSERT_TRUE((*none)->inject(b));
    EXPECT_EQ((*none)->stats().unmapped, 1U);
    auto bad = make_injector("xinput");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("uinput"), std::string::npos);
}

// ---- force feedback: the kernel's uinput FF protocol (Documentation/input/uinput.rst)

input_event kev(std::uint16_t type, std::uint16_t code, std::int32_t value) {
    input_event e{};
    e.type = type;
    e.code = code;
    e.value = value;
    return e;
}

ff_effect rumble_effect(std::int16_t id, std::uint16_t strong, std::uint16_t weak) {
    ff_effect e{};
    e.type = FF_RUMBLE;
    e.id = id;
    e.u.rumble.strong_magnitude = strong;
    e.u.rumble.weak_magnitude = weak;
    e.replay.length = 300;
    e.replay.delay = 5;
    return e;
}

// A rig whose pad in slot 2 exists (created by a button press).
struct FfRig : PadRig {
    Recorded* pad2 = nullptr;
    FfRig() {
        const InputEvent b[] = {pad(2, EV_KEY, BTN_SOUTH, 1), pad(2, EV_SYN, SYN_REPORT, 0)};
        EXPECT_TRUE(inj->inject(b));
        EXPECT_EQ(pads.size(), 1U);
        pad2 = pads.back().get();
    }
    std::vector<protocol::PadFeedbackRecord> take() {
        std::vector<protocol::PadFeedbackRecord> out;
        EXPECT_TRUE(inj->take_feedback(out));
        return out;
    }
};

TEST(UinputGamepadFf, ThePadDeclaresRumblePeriodicAndGainWithSixteenEffects) {
    FfRig r;
    const Recorded& p = *r.pad2;
    EXPECT_TRUE(has_bit(p, UI_SET_EVBIT, EV_FF));
    for (int f : {FF_RUMBLE, FF_PERIODIC, FF_SINE, FF_GAIN})
        EXPECT_TRUE(has_bit(p, UI_SET_FFBIT, f)) << f;
    EXPECT_FALSE(has_bit(p, UI_SET_FFBIT, FF_CONSTANT)) << "nothing the host pad cannot play";
    EXPECT_EQ(p.ff_effects_max, protocol::kPadEffectsMax);
}

TEST(UinputGamepadFf, AnUploadIsAnsweredAndBecomesAnUploadRecordOfItsSlot) {
    FfRig r;
    r.pad2->upload_requests[7] = rumble_effect(3, 0xc000, 0x4000);
    r.pad2->to_read.push_back(kev(EV_UINPUT, UI_FF_UPLOAD, 7));
    const auto recs = r.take();
    ASSERT_EQ(r.pad2->uploads_ended.size(), 1U) << "the game's EVIOCSFF is answered";
    EXPECT_EQ(r.pad2->uploads_ended[0].request_id, 7U);
    EXPECT_EQ(r.pad2->uploads_ended[0].retval, 0);
    ASSERT_EQ(recs.size(), 1U);
    EXPECT_EQ(recs[0].op, static_cast<std::uint8_t>(protocol::PadFeedbackOp::upload));
    EXPECT_EQ(recs[0].device, 2);
    EXPECT_EQ(recs[0].effect, 3);
    EXPECT_EQ(recs[0].strong, 0xc000);
    EXPECT_EQ(recs[0].weak, 0x4000);
    EXPECT_EQ(recs[0].length_ms, 300);
    EXPECT_EQ(recs[0].delay_ms, 5);
    EXPECT_TRUE(protocol::is_valid_pad_feedback(recs[0]));
}

TEST(UinputGamepadFf, APeriodicEffectIsRumbleOfItsMagnitudeAndOthersAreRefused) {
    FfRig r;
    ff_effect sine{};
    sine.type = FF_PERIODIC;
    sine.id = 1;
    sine.u.periodic.waveform = FF_SINE;
    sine.u.periodic.magnitude = -0x2000;
    ff_effect constant{};
    constant.type = FF_CONSTANT;
    constant.id = 2;
    r.pad2->upload_requests[1] = sine;
    r.pad2->upload_requests[2] = constant;
    r.pad2->to_read = {kev(EV_UINPUT, UI_FF_UPLOAD, 1), kev(EV_UINPUT, UI_FF_UPLOAD, 2)};
    const auto recs = r.take();
    ASSERT_EQ(recs.size(), 1U);
    EXPECT_EQ(recs[0].strong, 0x4000);
    EXPECT_EQ(recs[0].weak, 0x4000);
    ASSERT_EQ(r.pad2->uploads_ended.size(), 2U);
    EXPECT_EQ(r.pad2->uploads_ended[1].retval, -EINVAL) << "the game hears it is not supported";
}

TEST(UinputGamepadFf, PlayStopGainAndEraseBecomeTheirRecords) {
    FfRig r;
    r.pad2->erase_requests[4] = 3;
    r.pad2->to_read = {kev(EV_FF, 3, 2), kev(EV_FF, 3, 0), kev(EV_FF, FF_GAIN, 0x8000),
                       kev(EV_UINPUT, UI_FF_ERASE, 4), kev(EV_FF, 0x50, 1)};
    const auto recs = r.take();
    using protocol::PadFeedbackOp;
    ASSERT_EQ(recs.size(), 4U) << "an effect id past ff_effects_max is dropped";
    EXPECT_EQ(recs[0].op, static_cast<std::uint8_t>(PadFeedbackOp::play));
    EXPECT_EQ(recs[0].value, 2U);
    EXPECT_EQ(recs[1].op, static_cast<std::uint8_t>(PadFeedbackOp::stop));
    EXPECT_EQ(recs[2].op, static_cast<std::uint8_t>(PadFeedbackOp::gain));
    EXPECT_EQ(recs[2].value, 0x8000U);
    EXPECT_EQ(recs[3].op, static_cast<std::uint8_t>(PadFeedbackOp::erase));
    EXPECT_EQ(recs[3].effect, 3);
    ASSERT_EQ(r.pad2->erases_ended.size(), 1U);
    EXPECT_EQ(r.pad2->erases_ended[0].request_id, 4U);
    EXPECT_EQ(r.pad2->erases_ended[0].retval, 0);
    for (const auto& x : recs)
        EXPECT_TRUE(protocol::is_valid_pad_feedback(x));
}

TEST(UinputGamepadFf, NothingQueuedIsNothingAndAGonePadIsNoLongerServed) {
    FfRig r;
    EXPECT_TRUE(r.take().empty());
    const InputEvent gone[] = {pad(2, EV_SYN, protocol::pad::syn_gone, 0)};
    ASSERT_TRUE(r.inj->inject(gone));
    r.pad2->to_read.push_back(kev(EV_FF, 3, 1));  // the destroyed device's fd is closed
    EXPECT_TRUE(r.take().empty());
}

}  // namespace
}  // namespace porthole::agent
