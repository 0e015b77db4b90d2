// --set-guest-res: when the client writes the window's size into the region,
// and what it writes (read back with the agent's own validating reader).
#include <gtest/gtest.h>

#include "app/guest_res_subsystem.hpp"
#include "porthole/protocol/guest_res.hpp"
#include "porthole/protocol/session.hpp"
#include "support/aligned_region.hpp"

namespace {

using namespace porthole;
using client::PixelSize;
using client::ResizeSettle;
constexpr std::uint64_t kMs = 1'000'000;

TEST(ResizeSettle, SendsASizeOnlyOnceItHeldForTheSettleTime) {
    ResizeSettle s(250 * kMs);
    EXPECT_FALSE(s.update({1280, 720}, 0));
    EXPECT_FALSE(s.update({1280, 720}, 249 * kMs));
    EXPECT_EQ(s.update({1280, 720}, 250 * kMs), (PixelSize{1280, 720}));
    EXPECT_FALSE(s.update({1280, 720}, 900 * kMs)) << "sent once, not again";
}

TEST(ResizeSettle, DraggingSendsNothingUntilTheWindowStops) {
    ResizeSettle s(250 * kMs);
    int sent = 0;
    // A drag: a new size every 16 ms for 2 s.
    std::uint64_t t = 0;
    for (std::uint32_t w = 800; w < 800 + 125; ++w, t += 16 * kMs)
        sent += s.update({w, 600}, t) ? 1 : 0;
    EXPECT_EQ(sent, 0);
    const PixelSize last{924, 600};
    EXPECT_FALSE(s.update(last, t + 200 * kMs));
    EXPECT_EQ(s.update(last, t + 260 * kMs), last);
}

TEST(ResizeSettle, ResendGoesOutAtOnceEvenIfUnchanged) {
    ResizeSettle s(250 * kMs);
    EXPECT_FALSE(s.update({1024, 768}, 0));
    ASSERT_TRUE(s.update({1024, 768}, 600 * kMs));
    s.resend();  // a new agent session
    EXPECT_EQ(s.update({1024, 768}, 601 * kMs), (PixelSize{1024, 768}));
    EXPECT_FALSE(s.update({1024, 768}, 2000 * kMs));
}

TEST(ResizeSettle, AZeroSizeIsNeverSent) {
    ResizeSettle s(250 * kMs);
    s.resend();
    EXPECT_FALSE(s.update({0, 0}, 0)) << "a minimised window";
    EXPECT_FALSE(s.update({0, 0}, kMs * 1000));
    EXPECT_EQ(s.update({640, 480}, kMs * 1001), (PixelSize{640, 480}))
        << "the pending resend goes out with the first real size";
}

TEST(GuestResSubsystem, WritesTheWindowSizeOnAttachAndAfterAResize) {
    porthole::testing::AlignedRegion mem(8 << 20);
    auto agent =
        protocol::AgentSession::create(mem.bytes(), {}, protocol::cap::guest_res, "agent", 0);
    ASSERT_TRUE(agent) << agent.error().message;
    protocol::HostSession host(mem.bytes(), 0, "host");
    ASSERT_TRUE(host.poll(1).new_session);
    PixelSize window{1600, 900};
    client::GuestResSubsystem sub(mem.bytes(), [&window] { return window; });
    EXPECT_FALSE(sub.tick(0)) << "nothing before a session";
    EXPECT_FALSE(protocol::read_guest_res_request(mem.bytes()));

    auto channels = host.attach_channels();
    ASSERT_TRUE(channels) << channels.error().message;
    sub.attach(*channels, host);
    EXPECT_TRUE(sub.tick(10 * kMs)) << "on connect, without waiting";
    const auto first = protocol::read_guest_res_request(mem.bytes());
    ASSERT_TRUE(first);
    EXPECT_EQ(first->width, 1600u);
    EXPECT_EQ(first->height, 900u);

    window = {1000, 700};
    EXPECT_FALSE(sub.tick(20 * kMs));
    EXPECT_FALSE(sub.tick(200 * kMs));
    EXPECT_EQ(protocol::read_guest_res_request(mem.bytes()), first);
    EXPECT_TRUE(sub.tick(300 * kMs));
    const auto second = protocol::read_guest_res_request(mem.bytes());
    ASSERT_TRUE(second);
    EXPECT_NE(second->serial, first->serial);
    EXPECT_EQ(second->width, 1000u);
    EXPECT_EQ(second->height, 700u);

    sub.detach();
    window = {800, 600};
    EXPECT_FALSE(sub.tick(2000 * kMs)) << "no writes while no agent is attached";
}

}  // namespace
