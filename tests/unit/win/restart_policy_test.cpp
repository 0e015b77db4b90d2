// The service's restart policy: back-off while the agent fails fast, reset
// after a healthy run, no restart after a configuration error.
#include <gtest/gtest.h>

#include "win/restart_policy.hpp"

using namespace porthole::agent::service;
using std::chrono::milliseconds;
using namespace std::chrono_literals;

TEST(RestartPolicy, QuickFailuresDoubleTheDelayUpTo30Seconds) {
    RestartPolicy p;
    std::vector<long long> delays;
    for (int i = 0; i < 7; ++i) {
        const auto d = p.on_exit(1, 2s);
        EXPECT_TRUE(d.restart);
        delays.push_back(d.delay.count());
    }
    EXPECT_EQ(delays, (std::vector<long long>{1000, 2000, 4000, 8000, 16000, 30000, 30000}));
}

TEST(RestartPolicy, AHealthyRunResetsTheBackOff) {
    RestartPolicy p;
    for (int i = 0; i < 6; ++i)
        (void)p.on_exit(1, 1s);
    EXPECT_EQ(p.next_delay(), 30s);
    const auto d = p.on_exit(3221225477U, std::chrono::hours(5));  // a crash after hours
    EXPECT_TRUE(d.restart);
    EXPECT_EQ(d.delay, 1s);
    EXPECT_EQ(p.on_exit(1, 1s).delay, 2s) << "and fails fast again from there";
}

TEST(RestartPolicy, ARunJustShortOfHealthyKeepsBackingOff) {
    RestartPolicy p(1s, 30s, 60s);
    (void)p.on_exit(1, 1s);
    EXPECT_EQ(p.on_exit(1, 59s).delay, 2s);
    EXPECT_EQ(p.on_exit(1, 60s).delay, 1s);
}

TEST(RestartPolicy, ConfigurationErrorStopsRestartingAndSaysSo) {
    RestartPolicy p;
    const auto d = p.on_exit(kExitConfigError, 100ms);
    EXPECT_FALSE(d.restart);
    EXPECT_NE(d.message.find("configuration error"), std::string::npos) << d.message;
    EXPECT_NE(d.message.find("not restarting"), std::string::npos) << d.message;
}

TEST(RestartPolicy, LaunchFailuresBackOffToo) {
    RestartPolicy p;
    EXPECT_EQ(p.on_launch_failure(), 1s);
    EXPECT_EQ(p.on_launch_failure(), 2s);
    EXPECT_EQ(p.on_exit(0, 2min).delay, 1s);
}
