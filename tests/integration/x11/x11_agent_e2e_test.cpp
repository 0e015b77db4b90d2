// porthole-agent --capture x11 on a private Xvfb, with the headless porthole
// client reading the region: the client receives the frames the X changes make.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "child_process.hpp"
#include "x_painter.hpp"
#include "xvfb_server.hpp"

extern char** environ;

namespace {

using namespace std::chrono_literals;
using porthole::protocol::Rect;
using porthole::testing::Child;

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

TEST(X11AgentEndToEnd, ClientReceivesFramesOfAnXvfbDesktop) {
    auto server = porthole::testing::XvfbServer::start(640, 480, 24);
    ASSERT_TRUE(server) << server.error().message;
    auto painter = porthole::testing::XPainter::open(server->display());
    ASSERT_TRUE(painter) << painter.error().message;
    painter->fill(Rect{0, 0, 640, 480}, 0x303030);
    painter->sync();

    char dir_tmpl[] = "/tmp/porthole-x11-e2e-XXXXXX";
    ASSERT_NE(mkdtemp(dir_tmpl), nullptr);
    const std::string dir = dir_tmpl;
    const std::string region = "/dev/shm/porthole-x11-e2e-" + std::to_string(getpid());
    struct Cleanup {
        std::string dir, region;
        ~Cleanup() {
            unlink(region.c_str());
            unlink((dir + "/agent.out").c_str());
            unlink((dir + "/client.out").c_str());
            rmdir(dir.c_str());
        }
    } cleanup{dir, region};

    // The agent reads $DISPLAY (the test's own environment may have none).
    Child agent({PORTHOLE_AGENT_BIN, "--capture", "x11", "--shm", region, "--shm-size", "16"},
                {"DISPLAY=" + server->display()}, dir + "/agent.out");
    ASSERT_TRUE(agent.started());
    struct stat st {};
    for (int i = 0; i < 500 && stat(region.c_str(), &st) != 0; ++i) {
        ASSERT_EQ(agent.poll_exit(), -1)
            << "the agent exited early: " << read_file(dir + "/agent.out");
        std::this_thread::sleep_for(10ms);
    }
    ASSERT_EQ(stat(region.c_str(), &st), 0) << "the agent did not create " << region;

    constexpr int kFrames = 20;
    Child client({PORTHOLE_CLIENT_BIN, "--headless", "--shm", region, "--stats",
                  "--exit-after-frames", std::to_string(kFrames), "--timeout", "20"},
                 {}, dir + "/client.out");
    ASSERT_TRUE(client.started());

    // A small square moving across the desktop: one small damage a step.
    int code = -1;
    for (std::uint32_t step = 0; code < 0 && step < 3000; ++step) {
        const std::uint32_t x = (step * 16) % 600;
        painter->fill(Rect{x, 100 + (step / 37) % 300, 32, 32}, 0x10000u * (step % 256) + 0xFF);
        painter->sync();
        std::this_thread::sleep_for(10ms);
        code = client.poll_exit();
    }
    const std::string client_log = read_file(dir + "/client.out");
    EXPECT_EQ(code, 0) << "the client must exit after " << kFrames
                       << " frames; its output: " << client_log;
    EXPECT_EQ(agent.poll_exit(), -1) << "the agent must still be running";
    EXPECT_EQ(agent.terminate(), 0) << read_file(dir + "/agent.out");
    const std::string agent_log = read_file(dir + "/agent.out");
    EXPECT_NE(agent_log.find("capture: x11"), std::string::npos) << agent_log;
}

}  // namespace
