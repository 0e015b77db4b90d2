#include "input/uinput.hpp"

#include <gtest/gtest.h>

#include <algorithm>
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
    std::vector<input_event> written;
    bool fail_write = false;
};

class FakeKernel final : public UinputKernel {
  public:
    explicit FakeKernel(Recorded& r) : r_(r) {}
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

}  // namespace
}  // namespace porthole::agent
