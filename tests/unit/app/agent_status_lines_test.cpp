// The agent's status as the client's window shows it.
#include <gtest/gtest.h>

#include "app/session_loop.hpp"
#include "app/stats.hpp"

using porthole::client::agent_status_lines;
using porthole::protocol::AgentStatusCode;
using porthole::protocol::AgentStatusView;

TEST(AgentStatusLines, NothingIsShownWhileTheAgentIsFine) {
    EXPECT_TRUE(agent_status_lines(AgentStatusView{AgentStatusCode::ok, "ignored"}, 60).empty());
}

TEST(AgentStatusLines, TextIsWrappedAtWordsUnderAHeading) {
    const AgentStatusView s{AgentStatusCode::no_output,
                            "the passed-through GPU has no display attached, so Windows gives it "
                            "no desktop to capture"};
    const auto lines = agent_status_lines(s, 30);
    ASSERT_GE(lines.size(), 3U);
    EXPECT_EQ(lines[0], "Guest agent:");
    std::string joined;
    for (std::size_t i = 1; i < lines.size(); ++i) {
        EXPECT_LE(lines[i].size(), 30U) << lines[i];
        joined += (i == 1 ? "" : " ") + lines[i];
    }
    EXPECT_EQ(joined, s.text) << "no word lost or split";
}

TEST(AgentStatusLines, AWordLongerThanALineIsCut) {
    const AgentStatusView s{AgentStatusCode::capture_failed, std::string(50, 'x') + " end"};
    const auto lines = agent_status_lines(s, 20);
    ASSERT_EQ(lines.size(), 3U);
    EXPECT_EQ(lines[1], std::string(20, 'x'));
    EXPECT_EQ(lines[2], "end");
}

// Before the first frame the overlay shows dashes, not zeros that read as a
// fault; once frames are shown, their counts.
TEST(OverlayLines, CountersAreDashesBeforeTheFirstFrame) {
    porthole::client::FrameStats::Window w;
    porthole::client::StatsTotals t;
    porthole::client::StatsLine e;
    e.copy_path = "import";
    e.present_mode = "fifo";
    auto lines = porthole::client::overlay_lines(w, t, e);
    ASSERT_GE(lines.size(), 4U);
    const std::string dash = "\xe2\x80\x94";
    EXPECT_NE(lines[0].find(dash), std::string::npos) << lines[0];
    EXPECT_EQ(lines[0].find('0'), std::string::npos) << lines[0];
    EXPECT_NE(lines[1].find(dash), std::string::npos) << lines[1];
    EXPECT_NE(lines[3].find(dash), std::string::npos) << lines[3];
    t.frames = 120;
    w.fps = 75;
    w.shown = 58;
    w.ups = 59;
    w.latency_ms = 4.21;
    lines = porthole::client::overlay_lines(w, t, e);
    EXPECT_EQ(lines[0], "Frames     58 shown/s of 59 from the guest, 75 draws/s");
    EXPECT_EQ(lines[1], "Latency    4.2 ms");
    EXPECT_EQ(lines[3], "Dropped    0");
    for (const auto& l : lines)
        EXPECT_EQ(l.find(dash), std::string::npos) << l;
}

// The frame-time graph's samples: the time between presented guest frames,
// the last 120, oldest first.
TEST(FrameTimes, KeepsTheLastSamplesOldestFirst) {
    porthole::client::FrameStats s;
    EXPECT_TRUE(s.frame_times().empty());
    std::uint64_t t = 1'000'000'000;
    s.frame_presented_at(t);
    EXPECT_TRUE(s.frame_times().empty()) << "one frame is no interval";
    for (int i = 1; i <= 130; ++i) {
        t += static_cast<std::uint64_t>(i) * 1'000'000;  // i ms after the previous one
        s.frame_presented_at(t);
    }
    const auto ms = s.frame_times();
    ASSERT_EQ(ms.size(), porthole::client::FrameStats::kFrameTimeSamples);
    EXPECT_FLOAT_EQ(ms.front(), 11.0F);
    EXPECT_FLOAT_EQ(ms.back(), 130.0F);
}
