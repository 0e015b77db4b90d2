#include <gtest/gtest.h>

#include <string>

#include "porthole/protocol/agent_status.hpp"
#include "porthole/protocol/session.hpp"
#include "porthole/protocol/shared_memory.hpp"
#include "support/aligned_region.hpp"

using namespace porthole::protocol;
using porthole::testing::AlignedRegion;

namespace {
constexpr std::uint64_t kRegion = 8ULL << 20;
constexpr std::uint64_t kMs = 1'000'000;
}  // namespace

TEST(HostSession, WaitsUntilAnAgentAnnouncesASession) {
    AlignedRegion mem(kRegion);
    HostSession host(mem.bytes(), 0, "test-host");
    auto p = host.poll(1 * kMs);
    EXPECT_EQ(p.state, LinkState::waiting);
    EXPECT_FALSE(p.new_session);
}

TEST(HostSession, ConnectsToAValidSessionAndAttachesEveryChannel) {
    AlignedRegion mem(kRegion);
    auto agent = AgentSession::create(mem.bytes(), {}, cap::frames | cap::cursor, "agent-x", 0);
    ASSERT_TRUE(agent) << agent.error().message;
    HostSession host(mem.bytes(), 0, "test-host");
    auto p = host.poll(1 * kMs);
    EXPECT_EQ(p.state, LinkState::connected);
    EXPECT_TRUE(p.new_session);
    EXPECT_EQ(host.agent_name(), "agent-x");
    EXPECT_EQ(host.agent_capabilities(), cap::frames | cap::cursor);
    auto ch = host.attach_channels();
    ASSERT_TRUE(ch) << ch.error().message;
    EXPECT_TRUE(ch->cursor && ch->input && ch->audio && ch->clipboard_in && ch->clipboard_out);
    EXPECT_NE(agent->client_session(), 0U) << "the agent sees the host";
    EXPECT_FALSE(host.poll(2 * kMs).new_session);
}

TEST(HostSession, AgentRestartIsANewSession) {
    AlignedRegion mem(kRegion);
    auto a1 = AgentSession::create(mem.bytes(), {}, 0, "a", 0);
    ASSERT_TRUE(a1);
    HostSession host(mem.bytes(), 0, "h");
    ASSERT_TRUE(host.poll(kMs).new_session);
    const auto first = host.agent_session();
    auto a2 = AgentSession::create(mem.bytes(), {}, 0, "a", 0);
    ASSERT_TRUE(a2);
    auto p = host.poll(2 * kMs);
    EXPECT_TRUE(p.new_session);
    EXPECT_EQ(p.state, LinkState::connected);
    EXPECT_NE(host.agent_session(), first);
}

TEST(HostSession, SessionBeingRewrittenIsWaitedFor) {
    AlignedRegion mem(kRegion);
    auto a = AgentSession::create(mem.bytes(), {}, 0, "a", 0);
    ASSERT_TRUE(a);
    HostSession host(mem.bytes(), 0, "h");
    ASSERT_EQ(host.poll(kMs).state, LinkState::connected);
    a->close();  // session id 0 while a new layout is written
    EXPECT_EQ(host.poll(2 * kMs).state, LinkState::waiting);
}

TEST(HostSession, StoppedHeartbeatShowsDisconnectedThenRecovers) {
    AlignedRegion mem(kRegion);
    auto a = AgentSession::create(mem.bytes(), {}, 0, "a", 0);
    ASSERT_TRUE(a);
    HostSession host(mem.bytes(), 0, "h", 500 * kMs);
    ASSERT_EQ(host.poll(0).state, LinkState::connected);
    EXPECT_EQ(host.poll(400 * kMs).state, LinkState::connected);
    auto p = host.poll(600 * kMs);
    EXPECT_EQ(p.state, LinkState::disconnected);
    EXPECT_NE(p.message.find("no heartbeat"), std::string::npos);
    EXPECT_EQ(host.poll(650 * kMs).message, p.message) << "stable, so it is logged once";
    a->tick(700 * kMs);
    EXPECT_EQ(host.poll(700 * kMs).state, LinkState::connected);
}

TEST(HostSession, FutureProtocolVersionIsReportedNotTrusted) {
    AlignedRegion mem(kRegion);
    auto a = AgentSession::create(mem.bytes(), {}, 0, "a", 0);
    ASSERT_TRUE(a);
    auto& h = *reinterpret_cast<RegionHeader*>(mem.data());
    RegionHeader v = copy_out(h);
    v.version = 7;
    copy_in(h, v);
    HostSession host(mem.bytes(), 0, "h");
    auto p = host.poll(kMs);
    EXPECT_EQ(p.state, LinkState::incompatible);
    EXPECT_NE(p.message.find("version 7"), std::string::npos);
    EXPECT_FALSE(p.new_session);
}

TEST(HostSession, GarbageHeaderIsInvalidNeverACrash) {
    AlignedRegion mem(kRegion);
    auto a = AgentSession::create(mem.bytes(), {}, 0, "a", 0);
    ASSERT_TRUE(a);
    std::memset(mem.data(), 0xA5, sizeof(RegionHeader));
    HostSession host(mem.bytes(), 0, "h");
    auto p = host.poll(kMs);
    EXPECT_EQ(p.state, LinkState::invalid);
    EXPECT_FALSE(p.message.empty());
    // A fresh, valid session afterwards is accepted.
    auto b = AgentSession::create(mem.bytes(), {}, 0, "a", 0);
    ASSERT_TRUE(b);
    EXPECT_EQ(host.poll(2 * kMs).state, LinkState::connected);
}

TEST(HostSession, AttachFailsCleanlyOnAGarbageChannelHeader) {
    AlignedRegion mem(kRegion);
    auto a = AgentSession::create(mem.bytes(), {}, 0, "a", 0);
    ASSERT_TRUE(a);
    HostSession host(mem.bytes(), 0, "h");
    ASSERT_TRUE(host.poll(kMs).new_session);
    std::memset(mem.data() + host.layout().frames.offset, 0xFF, 64);
    EXPECT_FALSE(host.attach_channels());
}

TEST(ClockSync, RecoversAFixedOffsetBetweenTwoClocks) {
    AlignedRegion mem(kRegion);
    auto a = AgentSession::create(mem.bytes(), {}, 0, "a", 0);
    ASSERT_TRUE(a);
    HostSession host(mem.bytes(), 0, "h");
    // The agent's clock reads 5 s more than the host's; 1 ms one-way delay.
    const std::uint64_t offset = 5'000 * kMs;
    std::uint64_t t = 1'000 * kMs;
    for (int i = 0; i < 20; ++i) {
        host.poll(t);
        a->tick(t + offset + kMs);
        t += 2 * kMs;
        host.poll(t);
        t += 300 * kMs;
    }
    ASSERT_TRUE(host.clock().offset_ns());
    EXPECT_NEAR(static_cast<double>(*host.clock().offset_ns()), static_cast<double>(offset), 1e6);
    ASSERT_TRUE(host.clock().to_local(t + offset));
    EXPECT_NEAR(static_cast<double>(*host.clock().to_local(t + offset)), static_cast<double>(t),
                1e6);
}

TEST(ClockSync, PrefersTheSampleWithTheShortestRoundTrip) {
    ClockSync c;
    c.add_sample(0, 110, 110, 200);        // delay 200, offset 10
    c.add_sample(1000, 1003, 1003, 1004);  // delay 4, offset 1
    c.add_sample(2000, 2150, 2150, 2160);  // delay 160
    EXPECT_EQ(c.offset_ns(), 1);
    EXPECT_EQ(c.delay_ns(), 4);
}

TEST(ClockSync, AgeIsMeasuredOnTheLocalClockAndNeverNegative) {
    ClockSync c;
    c.add_sample(1000, 6000, 6000, 1002);  // peer clock ahead by ~4999
    ASSERT_TRUE(c.age_ns(6000, 1501));
    EXPECT_EQ(*c.age_ns(6000, 1501), 500U);
    EXPECT_EQ(*c.age_ns(9000, 1501), 0U) << "a timestamp 'from the future' is age 0";
}

TEST(ClockSync, IgnoresImpossibleSamples) {
    ClockSync c;
    c.add_sample(100, 0, 0, 50);  // received before sent
    EXPECT_FALSE(c.offset_ns());
}

TEST(AgentStatus, TheAgentsStatusReachesTheHostAndANewSessionClearsIt) {
    AlignedRegion mem(kRegion);
    auto agent = AgentSession::create(mem.bytes(), {}, cap::frames, "agent", 0);
    ASSERT_TRUE(agent) << agent.error().message;
    HostSession host(mem.bytes(), 0, "test-host");
    ASSERT_EQ(host.poll(1 * kMs).state, LinkState::connected);
    EXPECT_EQ(host.agent_status(), (AgentStatusView{AgentStatusCode::ok, ""}));
    agent->set_status(AgentStatusCode::no_output, "no display on the GPU");
    EXPECT_EQ(host.agent_status(),
              (AgentStatusView{AgentStatusCode::no_output, "no display on the GPU"}));
    auto again = AgentSession::create(mem.bytes(), {}, cap::frames, "agent", 2 * kMs);
    ASSERT_TRUE(again);
    EXPECT_EQ(host.agent_status()->code, AgentStatusCode::ok) << "a restarted agent starts clean";
}

TEST(AgentStatus, TextIsCutAndMadePrintable) {
    AlignedRegion mem(kRegion);
    write_agent_status(mem.bytes(), AgentStatusCode::capture_failed,
                       std::string("bad\x1b[2Jesc\xff") + std::string(400, 'x'));
    const auto st = read_agent_status(mem.bytes());
    ASSERT_TRUE(st);
    EXPECT_EQ(st->text.size(), kAgentStatusTextSize);
    EXPECT_EQ(st->text.substr(0, 12), "bad?[2Jesc?x");
}

TEST(AgentStatus, MalformedOrHalfWrittenStatusIsNotShown) {
    AlignedRegion mem(kRegion);
    write_agent_status(mem.bytes(), AgentStatusCode::no_output, "x");
    auto& raw = *reinterpret_cast<AgentStatus*>(mem.bytes().data() + kAgentStatusOffset);
    raw.code = kMaxAgentStatusCode + 1;
    EXPECT_FALSE(read_agent_status(mem.bytes()));
    raw.code = 1;
    raw.length = kAgentStatusTextSize + 1;
    EXPECT_FALSE(read_agent_status(mem.bytes()));
    raw.length = 1;
    EXPECT_TRUE(read_agent_status(mem.bytes()));
    raw.seq |= 1U;  // a writer inside
    EXPECT_FALSE(read_agent_status(mem.bytes()));
    EXPECT_FALSE(read_agent_status(mem.bytes().first(kAgentStatusOffset)));
}
