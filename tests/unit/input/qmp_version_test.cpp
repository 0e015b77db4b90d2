// The QMP client asks QEMU's version (query-version) after the handshake and
// names F13..F24 only to a QEMU that knows them (8.0 on), against a scripted
// server reporting the versions this machine's QEMU (7.2) cannot.
#include <gtest/gtest.h>
#include <linux/input-event-codes.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "qmp/client.hpp"
#include "scripted_qmp_server.hpp"

namespace porthole::client::qmp {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using protocol::InputEvent;
using test::SlowQmpServer;

json qemu_version(int major, int minor) {
    return {{"qemu", {{"major", major}, {"minor", minor}, {"micro", 0}}}, {"package", ""}};
}

bool wait_for(const std::function<bool()>& done) {
    for (int i = 0; i < 500; ++i) {
        if (done()) return true;
        std::this_thread::sleep_for(10ms);
    }
    return done();
}

struct Notices {
    std::mutex m;
    std::vector<std::string> lines;
    std::vector<std::string> get() {
        std::lock_guard l(m);
        return lines;
    }
};

QmpConfig config(const std::string& path, Notices& notices) {
    QmpConfig cfg{path};
    cfg.notice = [&notices](const std::string& s) {
        std::lock_guard l(notices.m);
        notices.lines.push_back(s);
    };
    return cfg;
}

// Every key command's qcodes, in the order the server got them.
std::vector<std::string> qcodes_sent(SlowQmpServer& server) {
    std::vector<std::string> out;
    for (const auto& events : server.commands())
        for (const auto& e : events)
            if (e["type"] == "key") out.push_back(e["data"]["key"]["data"].get<std::string>());
    return out;
}

void tap(QmpClient& c, std::uint16_t code) {
    const InputEvent b[] = {
        {0, EV_KEY, code, 1, 0}, {0, EV_KEY, code, 0, 0}, {0, EV_SYN, SYN_REPORT, 0, 0}};
    c.send(b);
}

TEST(QmpQemuVersion, QueryVersionDecidesF13ToF24WhenTheGreetingDoesNotSay) {
    SlowQmpServer server(json::object(), qemu_version(8, 0));
    Notices notices;
    QmpClient client(config(server.path(), notices));
    client.start();
    ASSERT_TRUE(client.wait_connected(5s)) << client.stats().last_error;
    EXPECT_TRUE(server.queried_version);
    EXPECT_EQ(client.stats().qemu_major, 8);
    EXPECT_EQ(client.stats().qemu_minor, 0);
    tap(client, KEY_F13);
    tap(client, KEY_F24);
    ASSERT_TRUE(wait_for([&] { return client.stats().accepted == 2; }));
    EXPECT_EQ(qcodes_sent(server), (std::vector<std::string>{"f13", "f13", "f24", "f24"}));
    EXPECT_EQ(client.stats().needs_newer_qemu, 0U);
    EXPECT_TRUE(notices.get().empty());
}

TEST(QmpQemuVersion, Qemu72GetsNoF13ToF24AndTheUserOneLineNamingTheVersion) {
    SlowQmpServer server(qemu_version(7, 2), qemu_version(7, 2));
    Notices notices;
    QmpClient client(config(server.path(), notices));
    client.start();
    ASSERT_TRUE(client.wait_connected(5s)) << client.stats().last_error;
    tap(client, KEY_F13);
    tap(client, KEY_A);
    tap(client, KEY_F20);
    ASSERT_TRUE(wait_for([&] { return client.stats().needs_newer_qemu == 4; }));
    ASSERT_TRUE(wait_for([&] { return client.stats().accepted == 1; }));
    // QEMU 7.2 refuses a whole command holding a name it does not know: the
    // other keys still go, F13..F24 are left out.
    EXPECT_EQ(qcodes_sent(server), (std::vector<std::string>{"a", "a"}));
    EXPECT_EQ(client.stats().rejected, 0U);
    const auto lines = notices.get();
    ASSERT_EQ(lines.size(), 1U) << "one line per connection, not one per key";
    EXPECT_NE(lines[0].find("QEMU 7.2"), std::string::npos) << lines[0];
    EXPECT_NE(lines[0].find("8.0"), std::string::npos) << lines[0];
}

TEST(QmpQemuVersion, AQemuRefusingQueryVersionKeepsTheGreetingsVersion) {
    SlowQmpServer server(qemu_version(8, 1), nullptr);
    Notices notices;
    QmpClient client(config(server.path(), notices));
    client.start();
    ASSERT_TRUE(client.wait_connected(5s)) << client.stats().last_error;
    EXPECT_TRUE(server.queried_version);
    EXPECT_EQ(client.stats().qemu_major, 8);
    EXPECT_EQ(client.stats().qemu_minor, 1);
    tap(client, KEY_F15);
    ASSERT_TRUE(wait_for([&] { return client.stats().accepted == 1; }));
    EXPECT_EQ(qcodes_sent(server), (std::vector<std::string>{"f15", "f15"}));
}

TEST(QmpQemuVersion, NoVersionAtAllIsTreatedAsTooOldAndSaidSo) {
    SlowQmpServer server(json::object(), json{{"package", "odd"}});
    Notices notices;
    QmpClient client(config(server.path(), notices));
    client.start();
    ASSERT_TRUE(client.wait_connected(5s)) << client.stats().last_error;
    tap(client, KEY_F13);
    ASSERT_TRUE(wait_for([&] { return client.stats().needs_newer_qemu == 2; }));
    EXPECT_TRUE(server.commands().empty());
    const auto lines = notices.get();
    ASSERT_EQ(lines.size(), 1U);
    EXPECT_NE(lines[0].find("unknown version"), std::string::npos) << lines[0];
}

}  // namespace
}  // namespace porthole::client::qmp
