// --set-guest-res end to end: porthole's window on one Xvfb, porthole-agent
// --capture x11 on another (the guest's desktop, offering a few RandR modes).
// The window's size reaches the agent, the agent switches the guest's mode,
// and the frames the client receives have the new size.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
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
using porthole::testing::Child;
using porthole::testing::XPainter;
using porthole::testing::XvfbServer;

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1))
        ++n;
    return n;
}

class GuestRes : public ::testing::Test {
  protected:
    void SetUp() override {
#ifndef PORTHOLE_TEST_HAVE_XRANDR
        GTEST_SKIP() << "built without libXrandr: cannot offer modes on the test screen";
#endif
        auto g = XvfbServer::start(1920, 1080, 24);
        ASSERT_TRUE(g) << g.error().message;
        guest_x_ = std::make_unique<XvfbServer>(std::move(*g));
        auto p = XPainter::open(guest_x_->display());
        ASSERT_TRUE(p) << p.error().message;
        guest_ = std::make_unique<XPainter>(std::move(*p));
        // The guest display's modes (Xvfb itself offers only 1920x1080).
        for (const auto& [w, h] :
             {std::pair{1280u, 720u}, std::pair{1024u, 768u}, std::pair{800u, 600u}})
            ASSERT_TRUE(guest_->add_mode(w, h)) << w << "x" << h;
        char tmpl[] = "/tmp/porthole-guest-res-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        region_ = "/dev/shm/porthole-guest-res-" + std::to_string(getpid());
    }
    void TearDown() override {
        client_.reset();
        agent_.reset();
        unlink(region_.c_str());
        unlink((dir_ + "/agent.out").c_str());
        unlink((dir_ + "/client.out").c_str());
        if (!dir_.empty()) rmdir(dir_.c_str());
    }

    void start_agent() {
        agent_ = std::make_unique<Child>(
            std::vector<std::string>{PORTHOLE_AGENT_BIN, "--capture", "x11", "--display",
                                     guest_x_->display(), "--shm", region_, "--shm-size", "32",
                                     "--input", "none", "--clipboard", "none"},
            std::vector<std::string>{}, dir_ + "/agent.out");
        ASSERT_TRUE(agent_->started());
        struct stat st {};
        for (int i = 0; i < 500 && stat(region_.c_str(), &st) != 0; ++i)
            std::this_thread::sleep_for(10ms);
        ASSERT_TRUE(wait_log(dir_ + "/agent.out", "guest resolution: x11")) << logs();
    }
    bool wait_log(const std::string& file, const std::string& text, std::size_t times = 1) {
        for (int i = 0; i < 300; ++i) {
            if (count(read_file(file), text) >= times) return true;
            std::this_thread::sleep_for(100ms);
        }
        return false;
    }
    [[nodiscard]] std::string logs() const {
        return "\n--- client:\n" + read_file(dir_ + "/client.out") + "\n--- agent:\n" +
               read_file(dir_ + "/agent.out");
    }

    std::string dir_, region_;
    std::unique_ptr<XvfbServer> guest_x_;
    std::unique_ptr<XPainter> guest_;
    std::unique_ptr<Child> agent_, client_;
};

// Headless, the --size is the "window": the request is written on connect.
TEST_F(GuestRes, HeadlessClientAsksForItsSizeAndGetsTheLargestModeInside) {
    start_agent();
    client_ = std::make_unique<Child>(
        std::vector<std::string>{PORTHOLE_CLIENT_BIN, "--headless", "--shm", region_, "--size",
                                 "1100x800", "--set-guest-res", "--timeout", "30"},
        std::vector<std::string>{}, dir_ + "/client.out");
    ASSERT_TRUE(wait_log(dir_ + "/agent.out", "guest resolution: 1100x800 asked, 1024x768 set"))
        << logs();
    EXPECT_EQ(guest_->screen_size(), (std::pair{1024u, 768u})) << "the guest's X screen";
    EXPECT_TRUE(wait_log(dir_ + "/client.out", "guest frames are 1024x768")) << logs();
}

TEST_F(GuestRes, WithoutTheOptionTheGuestKeepsItsMode) {
    start_agent();
    client_ = std::make_unique<Child>(
        std::vector<std::string>{PORTHOLE_CLIENT_BIN, "--headless", "--shm", region_, "--size",
                                 "1100x800", "--timeout", "30"},
        std::vector<std::string>{}, dir_ + "/client.out");
    ASSERT_TRUE(wait_log(dir_ + "/client.out", "guest frames are 1920x1080")) << logs();
    std::this_thread::sleep_for(1s);
    EXPECT_EQ(guest_->screen_size(), (std::pair{1920u, 1080u}));
    EXPECT_EQ(read_file(dir_ + "/agent.out").find("asked"), std::string::npos) << logs();
}

// The window on a second Xvfb: its size on connect, then resizes. A burst of
// sizes (a drag) sends only the last one.
TEST_F(GuestRes, TheGuestFollowsTheWindowAfterAResizeSettles) {
    auto h = XvfbServer::start(1920, 1080, 24);
    ASSERT_TRUE(h) << h.error().message;
    const std::string host_display = h->display();
    start_agent();
    const std::string title = "guest-res-" + std::to_string(getpid());
    client_ = std::make_unique<Child>(
        std::vector<std::string>{PORTHOLE_CLIENT_BIN, "--shm", region_, "--size", "1280x720",
                                 "--title", title, "--set-guest-res", "--input", "none", "--audio",
                                 "off", "--clipboard", "off", "--timeout", "50"},
        std::vector<std::string>{"DISPLAY=" + host_display, "SDL_VIDEODRIVER=x11"},
        dir_ + "/client.out");
    ASSERT_TRUE(wait_log(dir_ + "/agent.out", "guest resolution: 1280x720 asked, 1280x720 set"))
        << logs();
    ASSERT_TRUE(wait_log(dir_ + "/client.out", "guest frames are 1280x720")) << logs();
    ASSERT_EQ(count(read_file(dir_ + "/client.out"), "asking for"), 1U) << logs();

    // A drag: ten sizes 30 ms apart, ending at 1100x800.
    const std::string xdotool =
        "DISPLAY=" + host_display + " xdotool search --name '^" + title + "$' windowsize --sync ";
    for (int i = 9; i >= 0; --i) {
        const int w = 1100 + i * 40, hgt = 800 + i * 10;
        ASSERT_EQ(std::system((xdotool + std::to_string(w) + " " + std::to_string(hgt)).c_str()),
                  0);
        std::this_thread::sleep_for(30ms);
    }
    ASSERT_TRUE(wait_log(dir_ + "/agent.out", "guest resolution: 1100x800 asked, 1024x768 set"))
        << logs();
    EXPECT_TRUE(wait_log(dir_ + "/client.out", "guest frames are 1024x768")) << logs();
    EXPECT_EQ(guest_->screen_size(), (std::pair{1024u, 768u}));
    const auto client_log = read_file(dir_ + "/client.out");
    EXPECT_EQ(count(client_log, "asking for"), 2U) << "the drag's sizes were sent" << logs();

    // Smaller than every mode: the guest stays as it is.
    ASSERT_EQ(std::system((xdotool + "640 480").c_str()), 0);
    ASSERT_TRUE(wait_log(dir_ + "/agent.out", "no mode fits 640x480")) << logs();
    EXPECT_EQ(guest_->screen_size(), (std::pair{1024u, 768u}));
}

}  // namespace
