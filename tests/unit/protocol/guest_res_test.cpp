// The client's guest-resolution request in the region: written whole, read
// back validated; an untrusted or half-written request is never taken.
#include <gtest/gtest.h>

#include <array>
#include <cstring>

#include "porthole/protocol/guest_res.hpp"
#include "porthole/protocol/session.hpp"
#include "support/aligned_region.hpp"

namespace {

using namespace porthole::protocol;
using porthole::testing::AlignedRegion;
constexpr std::size_t kRegion = 8 << 20;

TEST(GuestResRequest, ReadsBackWhatTheClientWrote) {
    AlignedRegion mem(kRegion);
    EXPECT_FALSE(read_guest_res_request(mem.bytes())) << "no request before the client writes one";
    write_guest_res_request(mem.bytes(), 1, 1600, 900);
    EXPECT_EQ(read_guest_res_request(mem.bytes()), (GuestResView{1, 1600, 900}));
    write_guest_res_request(mem.bytes(), 2, 800, 600);
    EXPECT_EQ(read_guest_res_request(mem.bytes()), (GuestResView{2, 800, 600}));
}

TEST(GuestResRequest, SurvivesANewAgentSession) {
    AlignedRegion mem(kRegion);
    write_guest_res_request(mem.bytes(), 7, 1024, 768);
    auto agent = AgentSession::create(mem.bytes(), {}, cap::frames, "agent", 0);
    ASSERT_TRUE(agent) << agent.error().message;
    EXPECT_EQ(read_guest_res_request(mem.bytes()), (GuestResView{7, 1024, 768}))
        << "a restarted agent still finds the window's size";
}

TEST(GuestResRequest, AbsurdOrHalfWrittenRequestsAreRefused) {
    AlignedRegion mem(kRegion);
    write_guest_res_request(mem.bytes(), 3, 640, 480);
    auto& raw = *reinterpret_cast<GuestResRequest*>(mem.bytes().data() + kGuestResRequestOffset);
    raw.width = 0;
    EXPECT_FALSE(read_guest_res_request(mem.bytes()));
    raw.width = kMaxGuestResDimension + 1;
    EXPECT_FALSE(read_guest_res_request(mem.bytes()));
    raw.width = 0xFFFFFFFFU;
    EXPECT_FALSE(read_guest_res_request(mem.bytes()));
    raw.width = kMaxGuestResDimension;
    raw.height = kMaxGuestResDimension + 1;
    EXPECT_FALSE(read_guest_res_request(mem.bytes()));
    raw.height = kMaxGuestResDimension;
    EXPECT_TRUE(read_guest_res_request(mem.bytes()));
    raw.seq |= 1U;  // a writer inside
    EXPECT_FALSE(read_guest_res_request(mem.bytes()));
    raw.seq += 1U;
    raw.serial = 0;
    EXPECT_FALSE(read_guest_res_request(mem.bytes())) << "serial 0 means no request";
    EXPECT_FALSE(read_guest_res_request(mem.bytes().first(kGuestResRequestOffset)));
}

TEST(GuestResRequest, DoesNotTouchTheClientsPeerBlock) {
    AlignedRegion mem(kRegion);
    HostSession host(mem.bytes(), 0, "host");
    (void)host.poll(1);
    std::array<std::byte, sizeof(PeerBlock)> before{};
    std::memcpy(before.data(), mem.bytes().data() + kClientBlockOffset, before.size());
    write_guest_res_request(mem.bytes(), 1, 1920, 1080);
    EXPECT_EQ(std::memcmp(before.data(), mem.bytes().data() + kClientBlockOffset, before.size()),
              0);
}

}  // namespace
