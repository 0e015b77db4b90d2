// The QMP client against a real QEMU (TCG, no disk, no guest OS).
#include <gtest/gtest.h>
#include <linux/input-event-codes.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <thread>

#include "porthole/qmp/usb.hpp"
#include "qmp/client.hpp"
#include "qmp/shared_channel.hpp"
#include "qmp/sink.hpp"
#include "qmp/translate.hpp"
#include "support/command_output.hpp"
#include "support/qemu_process.hpp"

namespace porthole::client::qmp {
namespace {

using namespace std::chrono_literals;
using protocol::InputEvent;

struct TempDir {
    std::string path;
    TempDir() {
        char t[] = "/tmp/porthole-qmp-XXXXXX";
        path = ::mkdtemp(t);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

bool wait_for(const std::function<bool()>& f, std::chrono::milliseconds limit = 5s) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        if (f()) return true;
        std::this_thread::sleep_for(5ms);
    }
    return f();
}

TEST(QmpClient, QemuAcceptsKeysButtonsRelativeAndAbsoluteAxes) {
    TempDir dir;
    const std::string sock = dir.path + "/qmp.sock";
    test::QemuProcess qemu(sock);
    ASSERT_TRUE(qemu.listening()) << "qemu-system-x86_64 did not start";
    QmpInputSink sink(QmpConfig{sock});
    ASSERT_TRUE(sink.client().wait_connected(10s)) << sink.client().stats().last_error;
    const InputEvent batches[][4] = {
        {{0, EV_KEY, KEY_A, 1, 0}, {0, EV_KEY, KEY_RIGHTCTRL, 1, 0}, {0, EV_SYN, SYN_REPORT, 0, 0}},
        {{0, EV_KEY, KEY_A, 0, 0}, {0, EV_KEY, KEY_RIGHTCTRL, 0, 0}, {0, EV_SYN, SYN_REPORT, 0, 0}},
        {{0, EV_REL, REL_X, 10, 0},
         {0, EV_REL, REL_Y, -3, 0},
         {0, EV_KEY, BTN_LEFT, 1, 0},
         {0, EV_SYN, 0, 0, 0}},
        {{0, EV_ABS, ABS_X, 32767, 0},
         {0, EV_ABS, ABS_Y, 0, 0},
         {0, EV_KEY, BTN_LEFT, 0, 0},
         {0, EV_SYN, 0, 0, 0}},
        {{0, EV_REL, REL_WHEEL, 1, 0},
         {0, EV_REL, REL_HWHEEL, -1, 0},
         {0, EV_KEY, BTN_SIDE, 1, 0},
         {0, EV_SYN, 0, 0, 0}},
    };
    for (const auto& b : batches)
        sink.deliver(b);
    ASSERT_TRUE(wait_for([&] { return sink.client().stats().accepted == 5; }))
        << sink.client().stats().accepted << " accepted; " << sink.client().stats().last_error;
    EXPECT_EQ(sink.client().stats().rejected, 0U);
    EXPECT_EQ(sink.client().stats().dropped, 0U);
}

// Every key code, named as the client names it for the QEMU it found (the
// greeting's version decides F13..F24): QEMU accepts every name sent.
TEST(QmpClient, QemuKnowsEveryKeyNameTheClientSendsIt) {
    TempDir dir;
    const std::string sock = dir.path + "/qmp.sock";
    test::QemuProcess qemu(sock);
    QmpClient client(QmpConfig{sock});
    client.start();
    ASSERT_TRUE(client.wait_connected(10s)) << client.stats().last_error;
    const QemuVersion version{client.stats().qemu_major, client.stats().qemu_minor};
    ASSERT_GE(version, (QemuVersion{2, 0})) << "no version in QEMU's greeting";
    std::uint64_t sent = 0;
    for (std::uint16_t code = 1; code < 256; ++code) {
        if (qcode_for(code, version).empty()) continue;
        const InputEvent b[] = {
            {0, EV_KEY, code, 1, 0}, {0, EV_KEY, code, 0, 0}, {0, EV_SYN, 0, 0, 0}};
        client.send(b);
        ++sent;
    }
    EXPECT_GT(sent, 130U);
    ASSERT_TRUE(
        wait_for([&] { return client.stats().accepted + client.stats().rejected == sent; }));
    EXPECT_EQ(client.stats().rejected, 0U) << client.stats().last_error;
}

// The version the client asks with query-version is the binary's own
// (`--version`), and QEMU itself draws the F13 line where the client does:
// send-key with the qcode f13 is accepted from 8.0 on and refused before
// (this machine's QEMU 7.2 takes the refusing side).
TEST(QmpClient, QueryVersionIsTheBinarysAndQemuTakesF13ExactlyFromThatVersion) {
    const std::string banner = test::command_output("qemu-system-x86_64 --version");
    int major = -1, minor = -1;
    ASSERT_EQ(std::sscanf(banner.c_str(), "QEMU emulator version %d.%d", &major, &minor), 2)
        << banner;
    TempDir dir;
    const std::string sock = dir.path + "/qmp.sock";
    test::QemuProcess qemu(sock);
    QmpClient client(QmpConfig{sock});
    client.start();
    ASSERT_TRUE(client.wait_connected(10s)) << client.stats().last_error;
    const QemuVersion version{client.stats().qemu_major, client.stats().qemu_minor};
    EXPECT_EQ(version, (QemuVersion{major, minor})) << banner;

    std::mutex m;
    std::optional<Result<nlohmann::json>> reply;
    client.execute("send-key", {{"keys", {{{"type", "qcode"}, {"data", "f13"}}}}},
                   [&](Result<nlohmann::json> r) {
                       std::lock_guard l(m);
                       reply = std::move(r);
                   });
    ASSERT_TRUE(wait_for([&] {
        std::lock_guard l(m);
        return reply.has_value();
    }));
    std::lock_guard l(m);
    const bool accepted = reply->has_value();
    EXPECT_EQ(accepted, version >= kQemuWithF13ToF24)
        << "QEMU " << major << "." << minor << ": "
        << (accepted ? std::string("accepted") : reply->error().message);
    if (!accepted) {
        EXPECT_NE(reply->error().message.find("f13"), std::string::npos) << reply->error().message;
    }
    EXPECT_EQ(qcode_for(KEY_F13, version).empty(), !accepted);
}

// A gaming mouse at 1000 Hz with QEMU slower to answer than that: with two
// commands in flight the rest waits in the backlog, motion folded, keys kept;
// QEMU accepts every command and nothing is dropped.
TEST(QmpClient, FloodOfMotionIsFoldedAndEveryKeyReachesQemu) {
    TempDir dir;
    const std::string sock = dir.path + "/qmp.sock";
    test::QemuProcess qemu(sock);
    QmpConfig cfg{sock};
    cfg.max_in_flight = 2;
    QmpClient client(cfg);
    client.start();
    ASSERT_TRUE(client.wait_connected(10s)) << client.stats().last_error;
    for (int i = 0; i < 3000; ++i) {
        const InputEvent motion[] = {
            {0, EV_REL, REL_X, 1, 0}, {0, EV_REL, REL_Y, -1, 0}, {0, EV_SYN, 0, 0, 0}};
        client.send(motion);
        if (i % 100 == 50) {
            const InputEvent down[] = {{0, EV_KEY, KEY_W, 1, 0}, {0, EV_SYN, 0, 0, 0}};
            const InputEvent up[] = {{0, EV_KEY, KEY_W, 0, 0}, {0, EV_SYN, 0, 0, 0}};
            client.send(down);
            client.send(up);
        }
    }
    ASSERT_TRUE(wait_for([&] {
        const auto s = client.stats();
        return s.batches_sent > 0 && s.accepted + s.rejected == s.batches_sent && s.merged > 0;
    })) << client.stats().accepted
        << " of " << client.stats().batches_sent;
    std::this_thread::sleep_for(200ms);  // the last backlog goes out after a reply
    ASSERT_TRUE(wait_for([&] {
        const auto s = client.stats();
        return s.accepted + s.rejected == s.batches_sent;
    }));
    const auto s = client.stats();
    EXPECT_EQ(s.rejected, 0U) << s.last_error;
    EXPECT_EQ(s.dropped, 0U);
    EXPECT_GT(s.merged, 0U) << "QEMU answered every command before the next: nothing to fold";
    EXPECT_LT(s.batches_sent, 3060U);
}

TEST(QmpClient, RefusedInputIsCountedWithQemusReason) {
    TempDir dir;
    const std::string sock = dir.path + "/qmp.sock";
    test::QemuProcess qemu(sock, /*paused=*/true);  // a stopped VM refuses input
    QmpClient client(QmpConfig{sock});
    client.start();
    ASSERT_TRUE(client.wait_connected(10s)) << client.stats().last_error;
    const InputEvent b[] = {{0, EV_KEY, KEY_B, 1, 0}, {0, EV_SYN, 0, 0, 0}};
    client.send(b);
    ASSERT_TRUE(wait_for([&] { return client.stats().rejected == 1; }));
    EXPECT_NE(client.stats().last_error.find("VM not running"), std::string::npos)
        << client.stats().last_error;
}

TEST(QmpClient, ReconnectsWhenQemuRestarts) {
    TempDir dir;
    const std::string sock = dir.path + "/qmp.sock";
    test::QemuProcess qemu(sock);
    QmpClient client(QmpConfig{sock, 20ms, 200ms});
    client.start();
    ASSERT_TRUE(client.wait_connected(10s));
    qemu.stop();  // QEMU sends its SHUTDOWN event, then closes: the event is skipped
    ASSERT_TRUE(wait_for([&] { return !client.stats().connected; }));
    const InputEvent b[] = {{0, EV_KEY, KEY_C, 1, 0}, {0, EV_SYN, 0, 0, 0}};
    client.send(b);  // nobody to take it: dropped, not replayed later
    ASSERT_TRUE(wait_for([&] { return client.stats().dropped == 1; }));
    qemu.start();
    ASSERT_TRUE(wait_for([&] { return client.stats().connected; }, 10s))
        << client.stats().last_error;
    EXPECT_EQ(client.stats().connects, 2U);
    client.send(b);
    ASSERT_TRUE(wait_for([&] { return client.stats().accepted == 1; }));
}

TEST(QmpClient, MissingSocketIsRetriedAndExplained) {
    QmpClient client(QmpConfig{"/nonexistent/qmp.sock", 10ms, 20ms});
    client.start();
    EXPECT_FALSE(client.wait_connected(100ms));
    // The I/O thread may not have tried yet on a loaded machine: wait for its first failure.
    ASSERT_TRUE(wait_for([&] { return !client.stats().last_error.empty(); }, 10s));
    EXPECT_NE(client.stats().last_error.find("/nonexistent/qmp.sock"), std::string::npos)
        << client.stats().last_error;
}

// QEMU serves one client per QMP socket: tools inside the client (USB devices)
// share the input connection. Commands interleave with input batches, QEMU's
// errors come back as such, and DEVICE_DELETED reaches the waiting side.
TEST(QmpClient, OtherCommandsShareTheInputConnectionWithInputFlowing) {
    TempDir dir;
    const std::string sock = dir.path + "/qmp.sock";
    test::QemuProcess qemu(sock, false, {"-device", "qemu-xhci"});  // running: it takes input
    QmpInputSink sink(QmpConfig{sock});
    ASSERT_TRUE(sink.client().wait_connected(10s)) << sink.client().stats().last_error;
    SharedChannel channel(sink.client());
    const InputEvent move[] = {{0, EV_REL, REL_X, 3, 0}, {0, EV_SYN, SYN_REPORT, 0, 0}};
    sink.deliver(move);
    auto pad = porthole::qmp::attach_usb(channel, *porthole::qmp::parse_usb_selector("045e:028e"));
    ASSERT_TRUE(pad) << pad.error().message;
    sink.deliver(move);
    auto twice =
        porthole::qmp::attach_usb(channel, *porthole::qmp::parse_usb_selector("045e:028e"));
    ASSERT_FALSE(twice);
    EXPECT_EQ(twice.error().code, porthole::qmp::Channel::kQemuRefused);
    EXPECT_NE(twice.error().message.find("attached already"), std::string::npos)
        << twice.error().message;
    auto list = porthole::qmp::list_usb(channel);
    ASSERT_TRUE(list) << list.error().message;
    ASSERT_EQ(list->size(), 1U);
    EXPECT_EQ(list->front().id, "porthole-usb-045e-028e");
    auto gone = porthole::qmp::detach_usb(channel, "045e:028e");
    ASSERT_TRUE(gone) << gone.error().message;
    sink.deliver(move);
    ASSERT_TRUE(wait_for([&] { return sink.client().stats().accepted == 3; }))
        << sink.client().stats().accepted << " input batches accepted; "
        << sink.client().stats().last_error;
    EXPECT_EQ(sink.client().stats().rejected, 0U) << "the commands' replies are not input's";
    auto empty = porthole::qmp::list_usb(channel);
    ASSERT_TRUE(empty) << empty.error().message;
    EXPECT_TRUE(empty->empty());
}

// Without QEMU a shared command fails at once with the reason, not after a timeout.
TEST(QmpClient, ASharedCommandWithoutQemuFailsAtOnce) {
    TempDir dir;
    QmpClient client(QmpConfig{dir.path + "/none.sock"});
    client.start();
    SharedChannel channel(client, 20s);
    const auto start = std::chrono::steady_clock::now();
    auto r = channel.execute("query-status");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("not connected"), std::string::npos) << r.error().message;
    EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

}  // namespace
}  // namespace porthole::client::qmp
