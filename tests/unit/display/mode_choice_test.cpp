// Which mode the agent sets for a window size, and what apply_request does
// with the display (a fake that records what was set).
#include <gtest/gtest.h>

#include <vector>

#include "display/modes.hpp"

namespace {

using namespace porthole;
using namespace porthole::agent::display;

constexpr std::uint32_t k60 = 60000, k75 = 75000, k144 = 144000;

const std::vector<Mode> kMonitor = {
    {1920, 1080, k60}, {1920, 1080, k144}, {1680, 1050, k60}, {1600, 900, k60},
    {1280, 1024, k75}, {1280, 720, k60},   {1024, 768, k60},  {800, 600, k60},
};

TEST(ChooseMode, TheExactSizeWhenOffered) {
    const auto m = choose_mode(kMonitor, 1600, 900, Mode{1920, 1080, k60});
    ASSERT_TRUE(m);
    EXPECT_EQ(*m, (Mode{1600, 900, k60}));
}

TEST(ChooseMode, ElseTheLargestThatFitsInsideTheWindow) {
    // 1700x1000: 1680x1050 is too tall, 1600x900 is the largest inside.
    EXPECT_EQ(choose_mode(kMonitor, 1700, 1000, std::nullopt), (Mode{1600, 900, k60}));
    // 1300x1030: 1280x1024 (1.31 Mpx) beats 1280x720.
    EXPECT_EQ(choose_mode(kMonitor, 1300, 1030, std::nullopt), (Mode{1280, 1024, k75}));
    // Larger than every mode: the largest mode.
    EXPECT_EQ(choose_mode(kMonitor, 5000, 3000, std::nullopt)->width, 1920u);
}

TEST(ChooseMode, NoneWhenEveryModeIsLargerThanTheWindow) {
    EXPECT_FALSE(choose_mode(kMonitor, 640, 480, std::nullopt));
    EXPECT_FALSE(choose_mode(kMonitor, 799, 600, std::nullopt)) << "one pixel too narrow";
    EXPECT_FALSE(choose_mode({}, 1920, 1080, std::nullopt));
}

TEST(ChooseMode, EqualAreasGoToTheWiderMode) {
    const std::vector<Mode> modes = {{1000, 2000, k60}, {2000, 1000, k60}};
    EXPECT_EQ(choose_mode(modes, 3000, 3000, std::nullopt), (Mode{2000, 1000, k60}));
}

TEST(ChooseMode, KeepsTheCurrentRefreshRateElseTheHighest) {
    EXPECT_EQ(choose_mode(kMonitor, 1920, 1080, Mode{1280, 720, k60})->refresh_mhz, k60);
    EXPECT_EQ(choose_mode(kMonitor, 1920, 1080, Mode{1280, 1024, k75})->refresh_mhz, k144)
        << "75 Hz is not offered at 1920x1080: the highest is";
    EXPECT_EQ(choose_mode(kMonitor, 1920, 1080, std::nullopt)->refresh_mhz, k144);
}

TEST(ChooseMode, IgnoresModesOfZeroSize) {
    const std::vector<Mode> modes = {{0, 0, 0}, {0, 600, k60}, {800, 600, k60}};
    EXPECT_EQ(choose_mode(modes, 1024, 768, std::nullopt), (Mode{800, 600, k60}));
}

// A display that offers `offered`, starts at `now`, and can refuse `set`.
class FakeDisplay final : public DisplayModes {
  public:
    FakeDisplay(std::vector<Mode> offered, Mode now) : offered_(std::move(offered)), now_(now) {}
    [[nodiscard]] std::string_view name() const override { return "fake"; }
    Result<std::vector<Mode>> modes() override { return offered_; }
    Result<Mode> current() override { return now_; }
    Status set(const Mode& m) override {
        sets.push_back(m);
        if (refuse) return Error::make("refused");
        now_ = m;
        return {};
    }
    std::vector<Mode> sets;
    bool refuse = false;

  private:
    std::vector<Mode> offered_;
    Mode now_;
};

TEST(ApplyRequest, SetsTheChosenMode) {
    FakeDisplay d(kMonitor, {1920, 1080, k60});
    auto r = apply_request(d, 1290, 730);
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_TRUE(r->chosen);
    EXPECT_EQ(*r->chosen, (Mode{1280, 720, k60}));
    EXPECT_TRUE(r->changed);
    EXPECT_EQ(d.sets, (std::vector<Mode>{{1280, 720, k60}}));
}

TEST(ApplyRequest, LeavesADisplayOfTheRightSizeAlone) {
    FakeDisplay d(kMonitor, {1920, 1080, k144});
    auto r = apply_request(d, 1920, 1080);
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->changed);
    EXPECT_TRUE(d.sets.empty()) << "no mode switch (a black flash) for nothing";
}

TEST(ApplyRequest, NothingFitsNothingIsSet) {
    FakeDisplay d(kMonitor, {1920, 1080, k60});
    auto r = apply_request(d, 320, 200);
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->chosen);
    EXPECT_TRUE(d.sets.empty());
}

TEST(ApplyRequest, ARefusedModeIsAnError) {
    FakeDisplay d(kMonitor, {1920, 1080, k60});
    d.refuse = true;
    auto r = apply_request(d, 1024, 768);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message, "refused");
}

}  // namespace
