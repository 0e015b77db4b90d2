#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

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

// A guest that writes a new session id on every poll (hostile or crash-looping):
// the host re-validates and re-attaches with an exponential, capped back-off
// rather than on every poll.
TEST(HostSession, FlappingSessionIdIsFollowedWithACappedExponentialBackoff) {
    AlignedRegion mem(kRegion);
    auto a = AgentSession::create(mem.bytes(), {}, 0, "a", 0);
    ASSERT_TRUE(a);
    auto& id = reinterpret_cast<PeerBlock*>(mem.data() + kAgentBlockOffset)->session_id;
    HostSession host(mem.bytes(), 0, "h");
    std::uint64_t next_id = 1000;
    std::uint64_t new_sessions = 0, held = 0;
    std::vector<std::uint64_t> accepted_at;
    // 60 s of polls every 100 us, each seeing a fresh id, the heartbeat kept alive.
    for (std::uint64_t t = kMs; t < 60'000 * kMs; t += kMs / 10) {
        store_release(id, ++next_id);
        a->tick(t);
        const auto p = host.poll(t);
        if (p.new_session) {
            new_sessions++;
            accepted_at.push_back(t);
        } else if (p.state == LinkState::waiting) {
            held++;
        }
    }
    // Back-offs 0.1, 0.2, ..., 6.4 s, then 10 s: about 19 sessions a minute, not 600,000.
    EXPECT_GE(new_sessions, 10U);
    EXPECT_LE(new_sessions, 25U);
    EXPECT_GT(held, 500'000U);
    EXPECT_EQ(host.backoff_ns(), kSessionBackoffMaxNs) << "capped";
    ASSERT_GE(accepted_at.size(), 3U);
    const auto last_gap = accepted_at.back() - accepted_at[accepted_at.size() - 2];
    EXPECT_GE(last_gap, kSessionBackoffMaxNs);
    EXPECT_LT(last_gap, kSessionBackoffMaxNs + kMs);
}

// Each state or message change is logged and drawn by the client: while it
// backs off, the host reports one stable state whatever the guest writes
// (new ids, "not ready" zeros).
TEST(HostSession, BackingOffReportsOneStableStateWhateverTheGuestWrites) {
    AlignedRegion mem(kRegion);
    auto a = AgentSession::create(mem.bytes(), {}, 0, "a", 0);
    ASSERT_TRUE(a);
    auto& id = reinterpret_cast<PeerBlock*>(mem.data() + kAgentBlockOffset)->session_id;
    HostSession host(mem.bytes(), 0, "h");
    std::uint64_t changes = 0;
    HostPoll last;
    for (std::uint64_t n = 1; n < 100'000; ++n) {  // 10 s, a poll every 100 us
        const std::uint64_t t = n * kMs / 10;
        store_release(id, n % 3 == 0 ? 0 : n);
        a->tick(t);
        const auto p = host.poll(t);
        if (p.state != last.state || p.message != last.message) changes++;
        last = p;
    }
    // A few changes around each accepted session (about 7 in 10 s), not 66,000.
    EXPECT_LE(changes, 40U);
}

TEST(HostSession, SessionStableAfterFlappingIsFollowedAtOnceAgain) {
    AlignedRegion mem(kRegion);
    auto a = AgentSession::create(mem.bytes(), {}, 0, "a", 0);
    ASSERT_TRUE(a);
    auto& id = reinterpret_cast<PeerBlock*>(mem.data() + kAgentBlockOffset)->session_id;
    HostSession host(mem.bytes(), 0, "h");
    std::uint64_t t = kMs;
    for (std::uint64_t n = 0; n < 2000; ++n, t += kMs) {  // 2 s of flapping
        store_release(id, 7000 + n);
        a->tick(t);
        host.poll(t);
    }
    EXPECT_GT(host.backoff_ns(), 0U);
    // The agent settles; a minute later it restarts once: followed on the first poll.
    t += 60'000 * kMs;
    a->tick(t);
    host.poll(t);
    EXPECT_EQ(host.poll(t + kMs).state, LinkState::connected);
    t += 60'000 * kMs;
    auto b = AgentSession::create(mem.bytes(), {}, 0, "b", t);
    ASSERT_TRUE(b);
    const auto p = host.poll(t + kMs);
    EXPECT_TRUE(p.new_session);
    EXPECT_EQ(p.state, LinkState::connected);
    EXPECT_EQ(host.backoff_ns(), 0U);
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
    v.version = kVersion + 1;
    copy_in(h, v);
    HostSession host(mem.bytes(), 0, "h");
    auto p = host.poll(kMs);
    EXPECT_EQ(p.state, LinkState::incompatible);
    EXPECT_NE(p.message.find("version " + std::to_string(kVersion + 1)), std::string::npos);
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

// Timestamps and ping/pong times come from the guest: extreme ones give a
// clamped age, never signed overflow (UBSan aborts the debug build on one).
TEST(ClockSync, AgeOfExtremePeerTimestampsIsClampedWithoutOverflow) {
    constexpr std::uint64_t k62 = std::uint64_t{1} << 62, k63 = std::uint64_t{1} << 63;
    ClockSync ahead;  // the peer's clock 2^62 ns ahead, by its chosen pong times
    ahead.add_sample(0, k62, k62, 0);
    ASSERT_EQ(ahead.offset_ns(), static_cast<std::int64_t>(k62));
    EXPECT_EQ(*ahead.age_ns(0, k63 - 1), k63 - 1 + k62) << "beyond INT64_MAX, exact";
    EXPECT_EQ(*ahead.age_ns(0, UINT64_MAX), UINT64_MAX) << "saturates at the top";
    EXPECT_EQ(*ahead.age_ns(UINT64_MAX, 0), 0U);
    EXPECT_EQ(*ahead.to_local(k62), 0U);
    EXPECT_EQ(*ahead.to_local(0), std::uint64_t{0} - k62) << "modular";

    ClockSync behind;  // 2^62 ns behind
    behind.add_sample(k62, 0, 0, k62);
    ASSERT_EQ(behind.offset_ns(), -static_cast<std::int64_t>(k62));
    EXPECT_EQ(*behind.age_ns(k63, 0), 0U) << "a negative age is 0";
    EXPECT_EQ(*behind.age_ns(0, UINT64_MAX), UINT64_MAX - k62);
    EXPECT_EQ(*behind.age_ns(0, k62 - 1), 0U);
    EXPECT_EQ(*behind.to_local(k63 - 1), k63 - 1 + k62) << "modular";

    ClockSync lowest;  // INT64_MIN itself: its magnitude is taken without overflow
    lowest.add_sample(k63, 0, 0, k63);
    ASSERT_EQ(lowest.offset_ns(), INT64_MIN);  // -2^62 from each half
    EXPECT_EQ(*lowest.age_ns(0, UINT64_MAX), k63 - 1);
    EXPECT_EQ(*lowest.age_ns(UINT64_MAX, 0), 0U);
}

TEST(ClockSync, AgeIsExactForOrdinaryOffsetsEitherWay) {
    ClockSync plus;
    plus.add_sample(1000, 2000, 2000, 1000);  // peer 1000 ahead, no delay
    EXPECT_EQ(*plus.age_ns(2000, 1250), 250U);
    ClockSync minus;
    minus.add_sample(2000, 1000, 1000, 2000);  // peer 1000 behind
    EXPECT_EQ(*minus.age_ns(1000, 2250), 250U);
    EXPECT_EQ(*minus.age_ns(1300, 2250), 0U) << "ahead of now: 0";
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

TEST(AgentStatus, EmptyTextAndATooSmallRegionAreFine) {
    AlignedRegion mem(kRegion);
    write_agent_status(mem.bytes(), AgentStatusCode::no_output, "x");
    write_agent_status(mem.bytes(), AgentStatusCode::ok, {});  // a null view: UBSan checks memcpy
    EXPECT_EQ(read_agent_status(mem.bytes()), (AgentStatusView{AgentStatusCode::ok, ""}));
    write_agent_status(mem.bytes().first(kAgentStatusOffset), AgentStatusCode::no_output, "y");
    EXPECT_EQ(read_agent_status(mem.bytes()), (AgentStatusView{AgentStatusCode::ok, ""}));
}

TEST(Doorbell, TheAgentReadsTheClientsDoorbellPeerAsTheClientSetsIt) {
    AlignedRegion mem(kRegion);
    auto agent = AgentSession::create(mem.bytes(), {}, 0, "a", 0);
    ASSERT_TRUE(agent);
    HostSession host(mem.bytes(), 0, "h");
    EXPECT_FALSE(agent->client_doorbell()) << "a client without a doorbell";
    host.set_doorbell(0);
    EXPECT_EQ(agent->client_doorbell(), std::optional<std::uint16_t>(0)) << "peer 0 is a peer";
    host.set_doorbell(65535);
    EXPECT_EQ(agent->client_doorbell(), std::optional<std::uint16_t>(65535));
    const auto& block =
        *reinterpret_cast<const PeerBlock*>(mem.bytes().data() + kClientBlockOffset);
    EXPECT_EQ(block.protocol_version, kVersion) << "the shared word keeps the version";
    host.set_doorbell(std::nullopt);
    EXPECT_FALSE(agent->client_doorbell());
}

TEST(Doorbell, AnAgentIgnoresADoorbellValueThatIsNoPeerId) {
    AlignedRegion mem(kRegion);
    auto agent = AgentSession::create(mem.bytes(), {}, 0, "a", 0);
    ASSERT_TRUE(agent);
    auto& block = *reinterpret_cast<PeerBlock*>(mem.bytes().data() + kClientBlockOffset);
    for (const std::uint32_t v : {65537U, 0x80000000U, 0xFFFFFFFFU}) {
        block.doorbell = v;  // a broken or hostile writer
        EXPECT_FALSE(agent->client_doorbell()) << v;
    }
    block.doorbell = 8;
    EXPECT_EQ(agent->client_doorbell(), std::optional<std::uint16_t>(7));
}
