#include "input/pad_rumble.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace porthole::client::input {
namespace {

using protocol::PadFeedbackOp;
using protocol::PadFeedbackRecord;

// Records the ioctls and EV_FF writes the host's pad would get, handing out
// ids as the kernel does (the lowest free one).
class FakeFf final : public FfDevice {
  public:
    std::vector<ff_effect> uploads;
    std::vector<int> erased;
    std::vector<std::pair<int, int>> plays;  // id, count
    std::vector<std::uint16_t> gains;
    std::vector<bool> used = std::vector<bool>(64, false);
    bool refuse = false;

    Result<int> upload(const ff_effect& e) override {
        if (refuse) return Error::make("EVIOCSFF: No space left on device");
        uploads.push_back(e);
        if (e.id >= 0) return static_cast<int>(e.id);
        for (int i = 0; i < static_cast<int>(used.size()); ++i) {
            if (!used[static_cast<std::size_t>(i)]) {
                used[static_cast<std::size_t>(i)] = true;
                return i + 10;  // host ids differ from the guest's
            }
        }
        return Error::make("full");
    }
    Status erase(int id) override {
        erased.push_back(id);
        used[static_cast<std::size_t>(id - 10)] = false;
        return {};
    }
    Status play(int id, int count) override {
        plays.emplace_back(id, count);
        return {};
    }
    Status set_gain(std::uint16_t g) override {
        gains.push_back(g);
        return {};
    }
    [[nodiscard]] std::size_t calls() const {
        return uploads.size() + erased.size() + plays.size() + gains.size();
    }
};

PadFeedbackRecord upload(std::uint16_t effect, std::uint16_t strong, std::uint16_t weak,
                         std::uint16_t length = 100, std::uint16_t delay = 0) {
    PadFeedbackRecord r{};
    r.op = static_cast<std::uint8_t>(PadFeedbackOp::upload);
    r.device = 1;
    r.effect = effect;
    r.strong = strong;
    r.weak = weak;
    r.length_ms = length;
    r.delay_ms = delay;
    return r;
}
PadFeedbackRecord op(PadFeedbackOp o, std::uint16_t effect, std::uint32_t value = 0) {
    PadFeedbackRecord r{};
    r.op = static_cast<std::uint8_t>(o);
    r.device = 1;
    r.effect = effect;
    r.value = value;
    return r;
}

constexpr FfCaps kXpad{true, true, 16};

TEST(PadRumble, AnUploadBecomesAnFfRumbleOfTheSameMagnitudesAndTiming) {
    FakeFf dev;
    PadRumble rumble(dev, kXpad);
    ASSERT_TRUE(rumble.apply(upload(3, 0xc000, 0x4000, 250, 20)));
    ASSERT_EQ(dev.uploads.size(), 1U);
    const ff_effect& e = dev.uploads[0];
    EXPECT_EQ(e.type, FF_RUMBLE);
    EXPECT_EQ(e.id, -1) << "a new effect: the device picks its id";
    EXPECT_EQ(e.u.rumble.strong_magnitude, 0xc000);
    EXPECT_EQ(e.u.rumble.weak_magnitude, 0x4000);
    EXPECT_EQ(e.replay.length, 250);
    EXPECT_EQ(e.replay.delay, 20);
    ASSERT_TRUE(rumble.apply(op(PadFeedbackOp::play, 3, 2)));
    ASSERT_EQ(dev.plays.size(), 1U);
    EXPECT_EQ(dev.plays[0], (std::pair{10, 2})) << "played under the host's id";
    ASSERT_TRUE(rumble.apply(op(PadFeedbackOp::stop, 3)));
    EXPECT_EQ(dev.plays.back(), (std::pair{10, 0}));
}

TEST(PadRumble, AChangedUploadUpdatesTheSameHostEffectAndAnUnchangedOneCostsNothing) {
    FakeFf dev;
    PadRumble rumble(dev, kXpad);
    ASSERT_TRUE(rumble.apply(upload(0, 100, 200)));
    ASSERT_TRUE(rumble.apply(upload(0, 100, 200)));
    EXPECT_EQ(dev.uploads.size(), 1U);
    ASSERT_TRUE(rumble.apply(upload(0, 0xffff, 0)));
    ASSERT_EQ(dev.uploads.size(), 2U);
    EXPECT_EQ(dev.uploads[1].id, 10) << "EVIOCSFF with the host id updates in place";
    EXPECT_EQ(rumble.uploaded(), 1);
}

TEST(PadRumble, PlayingAnEffectNeverUploadedIsRefusedWithoutTouchingTheDevice) {
    FakeFf dev;
    PadRumble rumble(dev, kXpad);
    EXPECT_FALSE(rumble.apply(op(PadFeedbackOp::play, 5, 1)));
    EXPECT_TRUE(rumble.apply(op(PadFeedbackOp::stop, 5)));
    EXPECT_TRUE(rumble.apply(op(PadFeedbackOp::erase, 5)));
    EXPECT_EQ(dev.calls(), 0U);
}

TEST(PadRumble, NoMoreEffectsThanThePadHoldsAreUploaded) {
    FakeFf dev;
    PadRumble rumble(dev, FfCaps{true, false, 2});
    ASSERT_TRUE(rumble.apply(upload(0, 1, 1)));
    ASSERT_TRUE(rumble.apply(upload(15, 1, 1)));
    const auto third = rumble.apply(upload(7, 1, 1));
    ASSERT_FALSE(third);
    EXPECT_NE(third.error().message.find("holds 2 effects"), std::string::npos);
    EXPECT_EQ(dev.uploads.size(), 2U);
    ASSERT_TRUE(rumble.apply(op(PadFeedbackOp::erase, 0)));
    EXPECT_TRUE(rumble.apply(upload(7, 1, 1))) << "a freed effect makes room";
}

TEST(PadRumble, EraseRemovesTheHostEffectAndAFailedUploadLeavesNoneMapped) {
    FakeFf dev;
    PadRumble rumble(dev, kXpad);
    ASSERT_TRUE(rumble.apply(upload(2, 1, 1)));
    ASSERT_TRUE(rumble.apply(op(PadFeedbackOp::erase, 2)));
    EXPECT_EQ(dev.erased, std::vector<int>{10});
    EXPECT_FALSE(rumble.apply(op(PadFeedbackOp::play, 2, 1)));
    dev.refuse = true;
    EXPECT_FALSE(rumble.apply(upload(4, 1, 1)));
    EXPECT_FALSE(rumble.apply(op(PadFeedbackOp::play, 4, 1)));
    EXPECT_EQ(rumble.uploaded(), 0);
}

TEST(PadRumble, GainGoesToAPadWithFfGainOnlyAndResetErasesAllAndRestoresIt) {
    FakeFf dev;
    {
        PadRumble rumble(dev, kXpad);
        ASSERT_TRUE(rumble.apply(op(PadFeedbackOp::gain, 0, 0x8000)));
        EXPECT_EQ(dev.gains, std::vector<std::uint16_t>{0x8000});
        ASSERT_TRUE(rumble.apply(upload(1, 1, 1)));
        ASSERT_TRUE(rumble.apply(upload(9, 1, 1)));
        ASSERT_TRUE(rumble.apply(op(PadFeedbackOp::play, 9, 1)));
        rumble.reset();
        EXPECT_EQ(dev.erased, (std::vector<int>{10, 11}));
        EXPECT_EQ(dev.gains.back(), 0xffff);
        EXPECT_EQ(rumble.uploaded(), 0);
        ASSERT_TRUE(rumble.apply(upload(3, 1, 1)));
    }
    EXPECT_EQ(dev.erased.size(), 3U) << "the destructor erases what is left";
    FakeFf plain;
    PadRumble no_gain(plain, FfCaps{true, false, 16});
    EXPECT_TRUE(no_gain.apply(op(PadFeedbackOp::gain, 0, 0)));
    EXPECT_TRUE(plain.gains.empty());
}

}  // namespace
}  // namespace porthole::client::input
