// The QMP client's backlog while QEMU is slow to answer, against a scripted
// QMP server on a UNIX socket (a real QEMU answers too fast to hold it; the
// integration tests cover QEMU itself): keys and buttons are kept in order,
// motion folds into the motion before it, and nothing is lost.
#include <gtest/gtest.h>
#include <linux/input-event-codes.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <thread>

#include "qmp/client.hpp"
#include "scripted_qmp_server.hpp"

namespace porthole::client::qmp {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using protocol::InputEvent;
using test::SlowQmpServer;

bool wait_for(const std::function<bool()>& done) {
    for (int i = 0; i < 500; ++i) {
        if (done()) return true;
        std::this_thread::sleep_for(10ms);
    }
    return done();
}

void rel_x(QmpClient& c, int v) {
    const InputEvent b[] = {{0, EV_REL, REL_X, v, 0}, {0, EV_SYN, SYN_REPORT, 0, 0}};
    c.send(b);
}
void key(QmpClient& c, std::uint16_t code, int v) {
    const InputEvent b[] = {{0, EV_KEY, code, v, 0}, {0, EV_SYN, SYN_REPORT, 0, 0}};
    c.send(b);
}

// A client (one command in flight at most) whose first command's reply the
// server holds: whatever it is given next waits in the backlog.
struct BusyQemu {
    explicit BusyQemu(std::size_t max_backlog = 4096)
        : client(config(server.path(), max_backlog)) {}
    static QmpConfig config(const std::string& path, std::size_t max_backlog) {
        QmpConfig cfg{path};
        cfg.max_in_flight = 1;
        cfg.max_backlog = max_backlog;
        return cfg;
    }
    // True once the first command is out and its reply held.
    bool occupy() {
        client.start();
        if (!client.wait_connected(5s)) return false;
        server.answer = false;
        rel_x(client, 1);
        return wait_for([&] { return server.commands().size() == 1; });
    }
    SlowQmpServer server;
    QmpClient client;
};

TEST(QmpBacklog, BusyQemuGetsTheBacklogAsOneCommandKeysInOrderMotionFolded) {
    BusyQemu busy;
    ASSERT_TRUE(busy.occupy()) << busy.client.stats().last_error;
    auto& server = busy.server;
    auto& client = busy.client;
    // While QEMU is busy: motion, a key press, more motion, the release, motion.
    rel_x(client, 2);
    rel_x(client, 3);
    key(client, KEY_A, 1);
    for (int i = 0; i < 10; ++i)
        rel_x(client, 1);
    key(client, KEY_A, 0);
    rel_x(client, -5);
    ASSERT_TRUE(wait_for([&] { return client.stats().merged == 10; }))
        << client.stats().merged << " merged";
    server.answer = true;
    ASSERT_TRUE(wait_for([&] { return server.commands().size() == 2; }));
    ASSERT_TRUE(wait_for([&] { return client.stats().accepted == 2; }));
    const auto second = server.commands()[1];
    const json want = json::parse(R"([
        {"type":"rel","data":{"axis":"x","value":5}},
        {"type":"key","data":{"down":true,"key":{"type":"qcode","data":"a"}}},
        {"type":"rel","data":{"axis":"x","value":10}},
        {"type":"key","data":{"down":false,"key":{"type":"qcode","data":"a"}}},
        {"type":"rel","data":{"axis":"x","value":-5}}])");
    EXPECT_EQ(second, want) << second.dump();
    EXPECT_EQ(client.stats().dropped, 0U);
    EXPECT_EQ(client.stats().batches_sent, 2U);
}

TEST(QmpBacklog, AbsolutePositionsKeepTheLatestPerAxis) {
    BusyQemu busy;
    ASSERT_TRUE(busy.occupy()) << busy.client.stats().last_error;
    auto& server = busy.server;
    auto& client = busy.client;
    for (int i = 1; i <= 5; ++i) {
        const InputEvent b[] = {{0, EV_ABS, ABS_X, i * 100, 0},
                                {0, EV_ABS, ABS_Y, i * 200, 0},
                                {0, EV_SYN, SYN_REPORT, 0, 0}};
        client.send(b);
    }
    ASSERT_TRUE(wait_for([&] { return client.stats().merged == 8; }));
    server.answer = true;
    ASSERT_TRUE(wait_for([&] { return server.commands().size() == 2; }));
    const json want = json::parse(R"([
        {"type":"abs","data":{"axis":"x","value":500}},
        {"type":"abs","data":{"axis":"y","value":1000}}])");
    EXPECT_EQ(server.commands()[1], want) << server.commands()[1].dump();
}

TEST(QmpBacklog, AFullBacklogDropsWholeBatchesAndCountsThem) {
    BusyQemu busy(4);
    ASSERT_TRUE(busy.occupy()) << busy.client.stats().last_error;
    auto& server = busy.server;
    auto& client = busy.client;
    for (int i = 0; i < 6; ++i) {  // key presses cannot fold: the fifth on is over the limit
        key(client, KEY_B, 1);
    }
    ASSERT_TRUE(wait_for([&] { return client.stats().dropped == 2; })) << client.stats().dropped;
    server.answer = true;
    ASSERT_TRUE(wait_for([&] { return client.stats().accepted == 2; }));
    EXPECT_EQ(server.commands()[1].size(), 4U);
}

}  // namespace
}  // namespace porthole::client::qmp
