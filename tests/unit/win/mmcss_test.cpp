// The capture thread's MMCSS task, through Wine's avrt.dll.
#include <gtest/gtest.h>

#include "capture/win/mmcss.hpp"

using porthole::agent::win::MmcssScope;

TEST(Mmcss, CaptureTaskIsJoinedAndLeftWithTheScope) {
    {
        const MmcssScope scope;
        EXPECT_TRUE(scope.active()) << scope.error();
    }
    const MmcssScope again;  // reverted above, so joining again works
    EXPECT_TRUE(again.active()) << again.error();
}
