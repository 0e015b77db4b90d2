// AudioPlayback's threads against a real PipeWire daemon (private, null
// sink): stats() never contends with the real-time callback, and the data
// thread's scheduling is what module-rt could get, said once when it is not
// real-time.
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <thread>

#include "audio/playback.hpp"
#include "audio/source_messages.hpp"
#include "pipewire_daemon.hpp"
#include "playback_test_support.hpp"

namespace porthole::test {
namespace {

using namespace std::chrono_literals;
using client::audio::AudioPlayback;
using client::audio::PlaybackStats;

// Its destructor blocks until released: set_source destroys the old source
// holding the engine's lock, so this holds that lock as long as a test wants.
class BlockingTone : public ClockedTone {
  public:
    BlockingTone(std::atomic<bool>& entered, std::shared_future<void> release)
        : entered_(entered), release_(std::move(release)) {}
    ~BlockingTone() override {
        entered_ = true;
        release_.wait();
    }
    BlockingTone(const BlockingTone&) = delete;
    BlockingTone& operator=(const BlockingTone&) = delete;

  private:
    std::atomic<bool>& entered_;
    std::shared_future<void> release_;
};

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() > end) return false;
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

class AudioPlaybackThreads : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        auto d = PipeWireDaemon::start();
        ASSERT_TRUE(d) << d.error().message;
        daemon_ = new PipeWireDaemon(std::move(*d));  // NOLINT: deleted in TearDownTestSuite
    }
    static void TearDownTestSuite() {
        delete daemon_;  // NOLINT
        daemon_ = nullptr;
    }
    static std::unique_ptr<AudioPlayback> start_playing() {
        auto pb = AudioPlayback::create({});
        EXPECT_TRUE(pb) << pb.error().message;
        if (!pb) return nullptr;
        (*pb)->set_source(std::make_unique<ClockedTone>());
        EXPECT_TRUE(wait_until([&] { return (*pb)->stats().playing; }, 10s))
            << "the stream never started playing";
        return std::move(*pb);
    }
    // The fallback line, from snapshots a tenth of a second apart as the
    // client takes them (AudioSubsystem::tick), over `seconds`.
    static std::vector<std::string> realtime_lines(AudioPlayback& pb, double seconds) {
        client::audio::SourceMessages messages;
        std::vector<std::string> found;
        for (int i = 0; i < static_cast<int>(seconds * 10); ++i) {
            const std::uint64_t now = 100'000'000 * static_cast<std::uint64_t>(i);
            for (auto& line : messages.update(pb.stats(), now))
                if (line.find("real-time") != std::string::npos) found.push_back(line);
            std::this_thread::sleep_for(100ms);
        }
        return found;
    }
    static PipeWireDaemon* daemon_;
};
PipeWireDaemon* AudioPlaybackThreads::daemon_ = nullptr;

// The contract: stats() reads what the callback published and never takes
// the engine's lock. Held here (set_source destroying a source that blocks),
// stats() still returns, and the callback meanwhile plays silent cycles that
// it counts instead of waiting.
TEST_F(AudioPlaybackThreads, StatsNeverWaitsForTheEngineLock) {
    auto pb = start_playing();
    ASSERT_NE(pb, nullptr);
    std::atomic<bool> entered{false};
    std::promise<void> release;
    pb->set_source(std::make_unique<BlockingTone>(entered, release.get_future().share()));
    std::thread replacer([&] { pb->set_source(nullptr); });  // blocks holding the lock
    const bool holding = wait_until([&] { return entered.load(); }, 5s);

    auto first = std::async(std::launch::async, [&] { return pb->stats(); });
    const bool returned = first.wait_for(5s) == std::future_status::ready;
    bool counted = false;
    if (returned) {
        const auto before = first.get();
        // The callback runs on while the lock is held, and says so.
        counted = wait_until(
            [&] {
                const auto s = pb->stats();
                return s.missed_cycles > before.missed_cycles && s.frames_out > before.frames_out;
            },
            5s);
    }
    release.set_value();
    replacer.join();
    ASSERT_TRUE(holding) << "set_source never reached the source's destructor";
    EXPECT_TRUE(returned) << "stats() waited for the engine's lock";
    EXPECT_TRUE(counted) << "the callback did not count its silent cycles while the lock was held";
}

// A reader polling stats() as fast as it can for 1.5 s costs the playing
// callback no cycle (before, each poll held the lock the callback try-locks).
TEST_F(AudioPlaybackThreads, StatsPolledFlatOutCostsTheCallbackNoCycle) {
    auto pb = start_playing();
    ASSERT_NE(pb, nullptr);
    const auto before = pb->stats();
    std::uint64_t polls = 0;
    const auto end = std::chrono::steady_clock::now() + 1500ms;
    std::thread hammer([&] {
        while (std::chrono::steady_clock::now() < end) {
            (void)pb->stats();
            ++polls;
        }
    });
    hammer.join();
    const auto after = pb->stats();
    EXPECT_GT(polls, 10000U);
    EXPECT_GT(after.frames_out, before.frames_out + 24000) << "the callback did not run on";
    EXPECT_EQ(after.missed_cycles, before.missed_cycles);
    EXPECT_EQ(after.underruns, before.underruns);
    pb->set_source(nullptr);
}

// With the rights this process has, module-rt (loaded by AudioPlayback) makes the data
// thread real-time (SCHED_FIFO or SCHED_RR), and nothing is said; without
// them, the callback finds SCHED_OTHER and one line says why.
TEST_F(AudioPlaybackThreads, DataThreadIsRealTimeWhereTheRightsAllow) {
    rlimit rl{};
    ASSERT_EQ(getrlimit(RLIMIT_RTPRIO, &rl), 0);
    const bool rights = has_cap_sys_nice() || rl.rlim_cur > 0;
    auto pb = start_playing();
    ASSERT_NE(pb, nullptr);
    const auto s = pb->stats();
    ASSERT_GE(s.sched_policy, 0) << "the callback never reported its scheduling";
    const auto lines = realtime_lines(*pb, 1.0);
    if (rights) {
        EXPECT_TRUE(s.realtime()) << "policy " << s.sched_policy << ": " << s.realtime_why;
        EXPECT_GT(s.sched_priority, 0);
        EXPECT_TRUE(s.realtime_why.empty());
        EXPECT_TRUE(lines.empty()) << lines.front();
    } else {
        EXPECT_EQ(s.sched_policy, SCHED_OTHER);
        EXPECT_EQ(lines.size(), 1U);
    }
    pb->set_source(nullptr);
}

TEST_F(AudioPlaybackThreads, WithoutRealTimeRightsFallsBackWithOneLogLine) {
    // This test's process only (ctest runs each test on its own).
    ASSERT_TRUE(drop_realtime_rights());
    auto pb = start_playing();
    ASSERT_NE(pb, nullptr);
    const auto s = pb->stats();
    EXPECT_EQ(s.sched_policy, SCHED_OTHER);
    EXPECT_FALSE(s.realtime());
    const auto lines = realtime_lines(*pb, 2.0);
    ASSERT_EQ(lines.size(), 1U);
    EXPECT_NE(lines[0].find("no real-time priority"), std::string::npos) << lines[0];
    EXPECT_NE(lines[0].find("RLIMIT_RTPRIO is 0"), std::string::npos) << lines[0];
    EXPECT_NE(lines[0].find("no CAP_SYS_NICE"), std::string::npos) << lines[0];
    EXPECT_NE(lines[0].find("RTKit"), std::string::npos) << lines[0];
    // The audio still plays, at normal priority.
    const auto later = pb->stats();
    EXPECT_TRUE(later.playing);
    EXPECT_GT(later.frames_out, s.frames_out);
    pb->set_source(nullptr);
}

}  // namespace
}  // namespace porthole::test
