// The agent's status as the client's window shows it.
#include <gtest/gtest.h>

#include "app/session_loop.hpp"

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
