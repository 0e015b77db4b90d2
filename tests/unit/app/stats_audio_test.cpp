// --stats' audio object: the Scream format appears exactly when the source
// is a Scream ring with a valid header (AudioSubsystem::scream_format).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "app/stats.hpp"

namespace porthole::client {
namespace {

nlohmann::json audio_of(const StatsLine& line) {
    return nlohmann::json::parse(stats_json(FrameStats::Window{}, StatsTotals{}, line))["audio"];
}

TEST(StatsJson, ScreamFormatIsShownWhenTheSourceIsScream) {
    StatsLine line;
    line.audio = AudioLine{};
    line.audio->scream = AudioLine::Scream{44100, 6, 24, 0x60F};
    const auto a = audio_of(line);
    ASSERT_TRUE(a["scream"].is_object()) << a.dump();
    EXPECT_EQ(a["scream"]["rate"], 44100);
    EXPECT_EQ(a["scream"]["channels"], 6);
    EXPECT_EQ(a["scream"]["bits"], 24);
    EXPECT_EQ(a["scream"]["channel_mask"], 0x60F);
}

TEST(StatsJson, NoScreamFormatForTheRegionOrWithoutAudio) {
    StatsLine line;
    line.audio = AudioLine{};
    EXPECT_TRUE(audio_of(line)["scream"].is_null());
    line.audio.reset();
    EXPECT_TRUE(audio_of(line).is_null());
}

}  // namespace
}  // namespace porthole::client
