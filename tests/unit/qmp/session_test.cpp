// The blocking QMP session against a scripted server: what a QEMU that hangs,
// a socket that is not QEMU's, and QEMU's errors and events do to it.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>

#include "porthole/qmp/session.hpp"
#include "porthole/util/unique_fd.hpp"

namespace porthole::qmp {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

// One connection served by `script` on its own thread.
class ScriptedServer {
  public:
    explicit ScriptedServer(std::function<void(int fd, ScriptedServer&)> script) {
        char dir[] = "/tmp/porthole-qmp-session-XXXXXX";
        dir_ = ::mkdtemp(dir);
        path_ = dir_ + "/qmp.sock";
        listener_ = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
        if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            ::listen(listener_.get(), 1) != 0)
            throw std::runtime_error("cannot listen on " + path_);
        thread_ = std::thread([this, s = std::move(script)] {
            UniqueFd client(::accept(listener_.get(), nullptr, nullptr));
            if (client) s(client.get(), *this);
            // Hold the connection until the test is done with it.
            while (!done_)
                std::this_thread::sleep_for(5ms);
        });
    }
    ~ScriptedServer() {
        done_ = true;
        ::shutdown(listener_.get(), SHUT_RDWR);
        thread_.join();
        std::filesystem::remove_all(dir_);
    }
    [[nodiscard]] const std::string& path() const { return path_; }

    static void send(int fd, const std::string& text) {
        (void)!::write(fd, text.data(), text.size());
    }
    static void send(int fd, const json& j) { send(fd, j.dump() + "\r\n"); }
    static json read_command(int fd) {
        std::string line;
        char c = 0;
        while (::read(fd, &c, 1) == 1 && c != '\n')
            line += c;
        return json::parse(line, nullptr, false);
    }
    static void greet(int fd) {
        send(fd, json{{"QMP", {{"version", {{"qemu", {{"major", 8}, {"minor", 2}}}}}}}});
        const auto caps = read_command(fd);
        send(fd, json{{"return", json::object()}, {"id", caps["id"]}});
    }

  private:
    std::string dir_, path_;
    UniqueFd listener_;
    std::thread thread_;
    std::atomic<bool> done_{false};
};

TEST(QmpSession, ConnectsReadsTheVersionAndRunsACommand) {
    ScriptedServer server([](int fd, ScriptedServer&) {
        ScriptedServer::greet(fd);
        const auto c = ScriptedServer::read_command(fd);
        EXPECT_EQ(c["execute"], "query-status");
        ScriptedServer::send(fd, json{{"return", {{"status", "running"}}}, {"id", c["id"]}});
    });
    auto s = Session::connect(server.path(), 2s);
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->version(), (QemuVersion{8, 2}));
    auto r = s->execute("query-status");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ((*r)["status"], "running");
}

TEST(QmpSession, ASocketThatNeverGreetsIsAnErrorWithinTheTimeout) {
    ScriptedServer server([](int, ScriptedServer&) {});
    const auto start = std::chrono::steady_clock::now();
    auto s = Session::connect(server.path(), 200ms);
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().message.find("did not answer within 200 ms"), std::string::npos)
        << s.error().message;
    EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

TEST(QmpSession, ASocketThatIsNotQmpIsSaidSo) {
    ScriptedServer server([](int fd, ScriptedServer&) {
        ScriptedServer::send(fd, json{{"hello", "world"}});
    });
    auto s = Session::connect(server.path(), 2s);
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().message.find("neither reply, error nor event"), std::string::npos)
        << s.error().message;
}

TEST(QmpSession, AMissingSocketNamesQemusOption) {
    auto s = Session::connect("/nonexistent/porthole.qmp", 1s);
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().message.find("-qmp unix:/nonexistent/porthole.qmp"), std::string::npos)
        << s.error().message;
}

TEST(QmpSession, QemusErrorNamesTheCommandAndIsMarkedRefused) {
    ScriptedServer server([](int fd, ScriptedServer&) {
        ScriptedServer::greet(fd);
        const auto c = ScriptedServer::read_command(fd);
        ScriptedServer::send(
            fd, json{{"error", {{"class", "GenericError"}, {"desc", "Bus 'x' not found"}}},
                     {"id", c["id"]}});
    });
    auto s = Session::connect(server.path(), 2s);
    ASSERT_TRUE(s) << s.error().message;
    auto r = s->execute("device_add", {{"driver", "usb-host"}});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message, "QMP device_add failed: Bus 'x' not found");
    EXPECT_EQ(r.error().code, Session::kQemuRefused);
}

TEST(QmpSession, AReplyToAnotherCommandIsAnError) {
    ScriptedServer server([](int fd, ScriptedServer&) {
        ScriptedServer::greet(fd);
        const auto c = ScriptedServer::read_command(fd);
        ScriptedServer::send(fd, json{{"return", json::object()}, {"id", c["id"].get<int>() + 5}});
    });
    auto s = Session::connect(server.path(), 2s);
    ASSERT_TRUE(s) << s.error().message;
    auto r = s->execute("query-status");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("reply to another command"), std::string::npos);
}

TEST(QmpSession, EventsBetweenRepliesAreKeptForWaitEvent) {
    ScriptedServer server([](int fd, ScriptedServer&) {
        ScriptedServer::greet(fd);
        const auto c = ScriptedServer::read_command(fd);
        ScriptedServer::send(fd, json{{"event", "DEVICE_DELETED"}, {"data", {{"device", "a"}}}});
        ScriptedServer::send(fd, json{{"return", json::object()}, {"id", c["id"]}});
        std::this_thread::sleep_for(50ms);
        ScriptedServer::send(fd, json{{"event", "RTC_CHANGE"}, {"data", {{"offset", 1}}}});
        ScriptedServer::send(fd, json{{"event", "DEVICE_DELETED"}, {"data", {{"device", "b"}}}});
    });
    auto s = Session::connect(server.path(), 2s);
    ASSERT_TRUE(s) << s.error().message;
    ASSERT_TRUE(s->execute("device_del", {{"id", "a"}}));
    const auto device_is = [](const char* id) {
        return [id](const json& e) { return e["data"].value("device", "") == id; };
    };
    auto b = s->wait_event("DEVICE_DELETED", device_is("b"), 2s);
    ASSERT_TRUE(b) << b.error().message;
    EXPECT_EQ(b->at("data").at("device"), "b");
    auto a = s->wait_event("DEVICE_DELETED", device_is("a"), 2s);
    ASSERT_TRUE(a) << "the event that came before the reply was kept";
    auto again = s->wait_event("DEVICE_DELETED", device_is("a"), 100ms);
    ASSERT_FALSE(again) << "each event is given once";
    EXPECT_NE(again.error().message.find("no DEVICE_DELETED event within 100 ms"),
              std::string::npos)
        << again.error().message;
}

TEST(QmpSession, ALineWithoutEndIsRefusedBeyondItsBound) {
    ScriptedServer server([](int fd, ScriptedServer&) {
        ScriptedServer::greet(fd);
        (void)ScriptedServer::read_command(fd);
        ScriptedServer::send(fd, "{\"return\":\"" + std::string(kMaxLine + 1024, 'x'));
    });
    auto s = Session::connect(server.path(), 5s);
    ASSERT_TRUE(s) << s.error().message;
    auto r = s->execute("query-status");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("longer than 4 MiB"), std::string::npos) << r.error().message;
}

TEST(QmpSession, AConnectionClosedMidReplyIsLost) {
    ScriptedServer server([](int fd, ScriptedServer&) {
        ScriptedServer::greet(fd);
        (void)ScriptedServer::read_command(fd);
        ScriptedServer::send(fd, std::string(R"({"return":)"));
        ::shutdown(fd, SHUT_RDWR);
    });
    auto s = Session::connect(server.path(), 2s);
    ASSERT_TRUE(s) << s.error().message;
    auto r = s->execute("query-status");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("lost"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace porthole::qmp
