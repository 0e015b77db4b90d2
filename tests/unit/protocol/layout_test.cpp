#include <gtest/gtest.h>

#include "porthole/protocol/layout.hpp"

using namespace porthole::protocol;

TEST(Layout, PlannedLayoutValidates) {
    const std::uint64_t size = 32ULL << 20;
    auto l = plan_layout(size);
    ASSERT_TRUE(l) << l.error().message;
    auto v = validate_region(make_header(*l), size);
    ASSERT_TRUE(v) << v.error().message;
    EXPECT_EQ(v->frames.offset, l->frames.offset);
}
