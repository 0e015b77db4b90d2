// The doorbell: QEMU's ivshmem server protocol between the server and peers
// over real unix sockets and eventfds, a Linux guest's doorbell register
// through a fixture sysfs tree, and the agent's ringer.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>
#include <vector>

#include "porthole/ivshmem/doorbell.hpp"
#include "porthole/ivshmem/doorbell_host.hpp"
#include "temp_dir.hpp"

namespace porthole::test {
namespace {

using ivshmem::DoorbellPeer;
using ivshmem::DoorbellServer;
using namespace std::chrono_literals;

UniqueFd region_fd(const ScratchDir& dir, std::size_t size = std::size_t{1} << 20) {
    const auto path = dir.write("region", size);
    return UniqueFd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
}

// A server on its own thread, serving until stopped.
class ServerThread {
  public:
    explicit ServerThread(DoorbellServer server) : server_(std::move(server)) {
        thread_ = std::thread([this] {
            while (!stop_.load())
                ASSERT_TRUE(server_.serve_once(10ms));
        });
    }
    ServerThread(const ServerThread&) = delete;
    ServerThread& operator=(const ServerThread&) = delete;
    ~ServerThread() {
        stop_.store(true);
        thread_.join();
    }

  private:
    DoorbellServer server_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

bool readable(int fd, int ms) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, ms) == 1;
}

std::uint64_t drain(int fd) {
    std::uint64_t v = 0;
    return ::read(fd, &v, sizeof v) == sizeof v ? v : 0;
}

// Pumps `peer` until it knows `want` peers (the server's notices are async).
bool wait_for_peers(DoorbellPeer& peer, std::size_t want) {
    for (int i = 0; i < 500; ++i) {
        if (!peer.pump()) return false;
        if (peer.peers().size() == want) return true;
        std::this_thread::sleep_for(5ms);
    }
    return false;
}

DoorbellServer::Options options_for(const ScratchDir& dir, int vectors = 1) {
    DoorbellServer::Options o;
    o.socket_path = dir.file("ivshmem.sock");
    o.vectors = vectors;
    o.mode = 0600;
    return o;
}

TEST(Doorbell, PeersLearnTheirIdsTheRegionAndRingEachOther) {
    ScratchDir dir;
    auto server = DoorbellServer::listen(options_for(dir), region_fd(dir));
    ASSERT_TRUE(server) << server.error().message;
    ServerThread serving(std::move(*server));

    auto a = DoorbellPeer::connect(dir.file("ivshmem.sock"), 2s);
    ASSERT_TRUE(a) << a.error().message;
    auto b = DoorbellPeer::connect(dir.file("ivshmem.sock"), 2s);
    ASSERT_TRUE(b) << b.error().message;
    EXPECT_EQ(a->id(), 0) << "the first peer gets ID 0 (the spec)";
    EXPECT_EQ(b->id(), 1);
    EXPECT_TRUE(a->serves(dir.file("region"))) << "the region's fd is the file's";
    EXPECT_FALSE(a->serves(dir.write("other", 4096)));

    ASSERT_TRUE(wait_for_peers(*a, 1)) << "a hears of b joining";
    ASSERT_TRUE(wait_for_peers(*b, 1)) << "b heard of a in its setup";
    ASSERT_TRUE(a->ring(b->id()));
    ASSERT_TRUE(readable(b->interrupt_fd(), 2000)) << "b's interrupt rang";
    EXPECT_EQ(drain(b->interrupt_fd()), 1U);
    EXPECT_FALSE(readable(a->interrupt_fd(), 0)) << "only the peer rung";
    ASSERT_TRUE(b->ring(a->id()));
    EXPECT_TRUE(readable(a->interrupt_fd(), 2000));
    EXPECT_FALSE(a->ring(42)) << "no such peer";
}

TEST(Doorbell, APeerThatLeavesIsForgottenByTheOthers) {
    ScratchDir dir;
    auto server = DoorbellServer::listen(options_for(dir), region_fd(dir));
    ASSERT_TRUE(server) << server.error().message;
    ServerThread serving(std::move(*server));
    auto a = DoorbellPeer::connect(dir.file("ivshmem.sock"), 2s);
    ASSERT_TRUE(a);
    std::uint16_t gone = 0;
    {
        auto b = DoorbellPeer::connect(dir.file("ivshmem.sock"), 2s);
        ASSERT_TRUE(b);
        gone = b->id();
        ASSERT_TRUE(wait_for_peers(*a, 1));
    }
    ASSERT_TRUE(wait_for_peers(*a, 0)) << "the server told a that b left";
    EXPECT_FALSE(a->ring(gone));
    auto c = DoorbellPeer::connect(dir.file("ivshmem.sock"), 2s);
    ASSERT_TRUE(c);
    EXPECT_NE(c->id(), gone) << "IDs go round: a late ring for b never reaches c";
}

TEST(Doorbell, EveryVectorOfAPeerIsHandedOut) {
    ScratchDir dir;
    auto server = DoorbellServer::listen(options_for(dir, 3), region_fd(dir));
    ASSERT_TRUE(server) << server.error().message;
    ServerThread serving(std::move(*server));
    auto a = DoorbellPeer::connect(dir.file("ivshmem.sock"), 2s);
    auto b = DoorbellPeer::connect(dir.file("ivshmem.sock"), 2s);
    ASSERT_TRUE(a && b);
    ASSERT_TRUE(wait_for_peers(*a, 1));
    EXPECT_TRUE(a->ring(b->id(), 2)) << "vector 2 of 3";
    EXPECT_FALSE(a->ring(b->id(), 3));
    EXPECT_FALSE(readable(b->interrupt_fd(), 100)) << "vector 2 is not vector 0";
}

TEST(Doorbell, ReplacesAStaleSocketButNeverALiveServerOrAnotherFile) {
    ScratchDir dir;
    const auto path = dir.file("ivshmem.sock");
    {
        // A socket file whose server died.
        UniqueFd s(::socket(AF_UNIX, SOCK_STREAM, 0));
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
        ASSERT_EQ(::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    }
    auto first = DoorbellServer::listen(options_for(dir), region_fd(dir));
    ASSERT_TRUE(first) << first.error().message;
    auto second = DoorbellServer::listen(options_for(dir), region_fd(dir));
    ASSERT_FALSE(second);
    EXPECT_NE(second.error().message.find("already listens"), std::string::npos)
        << second.error().message;

    auto o = options_for(dir);
    o.socket_path = dir.write_text("precious.txt", "user data");
    auto third = DoorbellServer::listen(o, region_fd(dir));
    ASSERT_FALSE(third);
    EXPECT_NE(third.error().message.find("not a socket"), std::string::npos);
    std::ifstream in(o.socket_path);
    std::string text;
    std::getline(in, text);
    EXPECT_EQ(text, "user data") << "the file is left alone";
}

TEST(Doorbell, TheServerRemovesItsSocketWhenItStops) {
    ScratchDir dir;
    {
        auto server = DoorbellServer::listen(options_for(dir), region_fd(dir));
        ASSERT_TRUE(server);
        EXPECT_TRUE(std::filesystem::exists(dir.file("ivshmem.sock")));
    }
    EXPECT_FALSE(std::filesystem::exists(dir.file("ivshmem.sock")));
}

// A server that says what it likes, for the peer's validation.
class ScriptedServer {
  public:
    explicit ScriptedServer(const std::string& path) : path_(path) {
        listener_ = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
        EXPECT_EQ(::bind(listener_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        EXPECT_EQ(::listen(listener_.get(), 1), 0);
    }
    // Accepts one peer and sends it `messages` (value, with an fd when fd >= 0).
    std::thread serve(std::vector<std::pair<std::int64_t, int>> messages) {
        return std::thread([this, messages] {
            UniqueFd c(::accept(listener_.get(), nullptr, nullptr));
            for (const auto& [v, fd] : messages) {
                std::array<std::uint8_t, 8> b{};
                std::memcpy(b.data(), &v, 8);
                iovec iov{b.data(), 8};
                msghdr m{};
                m.msg_iov = &iov;
                m.msg_iovlen = 1;
                alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int))> ctl{};
                if (fd >= 0) {
                    m.msg_control = ctl.data();
                    m.msg_controllen = ctl.size();
                    cmsghdr* h = CMSG_FIRSTHDR(&m);
                    h->cmsg_level = SOL_SOCKET;
                    h->cmsg_type = SCM_RIGHTS;
                    h->cmsg_len = CMSG_LEN(sizeof(int));
                    std::memcpy(CMSG_DATA(h), &fd, sizeof fd);
                }
                ::sendmsg(c.get(), &m, MSG_NOSIGNAL);
            }
            std::this_thread::sleep_for(300ms);  // the peer reads before the close
        });
    }

  private:
    std::string path_;
    UniqueFd listener_;
};

TEST(Doorbell, APeerRefusesAServerThatBreaksTheProtocol) {
    ScratchDir dir;
    UniqueFd region = region_fd(dir);
    struct Case {
        const char* what;
        std::vector<std::pair<std::int64_t, int>> messages;
        const char* expect;
    };
    const std::vector<Case> cases = {
        {"another version", {{1, -1}}, "version 1"},
        {"an ID out of range", {{0, -1}, {70000, -1}}, "peer ID 70000"},
        {"no region fd", {{0, -1}, {3, -1}, {-1, -1}}, "no region"},
        {"silence after the region", {{0, -1}, {3, -1}, {-1, region.get()}}, "closed"},
    };
    for (const auto& c : cases) {
        const auto path = dir.file(std::string("s-") + std::to_string(&c - cases.data()));
        ScriptedServer s(path);
        auto t = s.serve(c.messages);
        auto peer = DoorbellPeer::connect(path, 2s);
        t.join();
        ASSERT_FALSE(peer) << c.what;
        EXPECT_NE(peer.error().message.find(c.expect), std::string::npos)
            << c.what << ": " << peer.error().message;
    }
}

TEST(Doorbell, APeerGivesUpOnAServerThatNeverAnswers) {
    ScratchDir dir;
    const auto path = dir.file("stuck.sock");
    UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::listen(listener.get(), 0), 0);  // never accepts
    // The first peer waits in the backlog and hears nothing: a timeout.
    auto first = DoorbellPeer::connect(path, 300ms);
    ASSERT_FALSE(first);
    EXPECT_NE(first.error().message.find("sent no setup"), std::string::npos)
        << first.error().message;
    // Once the backlog is full, connecting fails at once instead of hanging.
    std::vector<UniqueFd> fill;
    for (int i = 0; i < 4; ++i) {
        UniqueFd c(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        (void)::connect(c.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
        fill.push_back(std::move(c));
    }
    auto late = DoorbellPeer::connect(path, 60s);
    ASSERT_FALSE(late);
    EXPECT_NE(late.error().message.find("takes no connections"), std::string::npos)
        << late.error().message;
}

TEST(Doorbell, APeerWithoutAServerSaysHowToStartOne) {
    ScratchDir dir;
    auto peer = DoorbellPeer::connect(dir.file("none.sock"), 1s);
    ASSERT_FALSE(peer);
    EXPECT_NE(peer.error().message.find("porthole-ivshmem-server"), std::string::npos)
        << peer.error().message;
}

// ---- the guest's side ----

void add_device(const ScratchDir& root, const std::string& bdf, bool doorbell) {
    const std::string dev = "bus/pci/devices/" + bdf + "/";
    root.write_text(dev + "vendor", "0x1af4\n");
    root.write_text(dev + "device", "0x1110\n");
    root.write_text(dev + "enable", "0\n");
    root.write(dev + "resource0", 256);
    if (doorbell) root.write(dev + "resource1", 4096);
    root.write(dev + "resource2", std::size_t{1} << 20);
}

std::uint32_t reg(const ScratchDir& root, const std::string& bdf, std::size_t offset) {
    std::ifstream in(root.file("bus/pci/devices/" + bdf + "/resource0"), std::ios::binary);
    in.seekg(static_cast<std::streamoff>(offset));
    std::uint32_t v = 0;
    in.read(reinterpret_cast<char*>(&v), sizeof v);
    return v;
}

TEST(GuestDoorbell, RingsByWritingPeerAndVectorToTheDoorbellRegister) {
    ScratchDir root;
    add_device(root, "0000:00:03.0", true);
    auto bell = ivshmem::open_guest_doorbell("auto", root.file(""));
    ASSERT_TRUE(bell) << bell.error().message;
    ASSERT_TRUE((*bell)->ring(7, 1));
    EXPECT_EQ(reg(root, "0000:00:03.0", ivshmem::kRegDoorbell), (7U << 16) | 1U);
    EXPECT_NE((*bell)->describe().find("0000:00:03.0"), std::string::npos);
}

TEST(GuestDoorbell, APlainDeviceHasNone) {
    ScratchDir root;
    add_device(root, "0000:00:03.0", false);
    auto bell = ivshmem::open_guest_doorbell("auto", root.file(""));
    ASSERT_FALSE(bell);
    EXPECT_NE(bell.error().message.find("ivshmem-plain"), std::string::npos)
        << bell.error().message;
}

// Records rings: the ringer's logic without a device.
class FakeDoorbell final : public ivshmem::Doorbell {
  public:
    explicit FakeDoorbell(std::vector<std::pair<std::uint16_t, std::uint16_t>>& log) : log_(log) {}
    Status ring(std::uint16_t peer, std::uint16_t vector) override {
        log_.emplace_back(peer, vector);
        return {};
    }
    [[nodiscard]] std::uint16_t own_id() const override { return 9; }
    [[nodiscard]] std::string describe() const override { return "fake"; }

  private:
    std::vector<std::pair<std::uint16_t, std::uint16_t>>& log_;
};

TEST(PeerRinger, RingsTheClientsCurrentPeerAndNothingWithoutOne) {
    std::vector<std::pair<std::uint16_t, std::uint16_t>> log;
    std::optional<std::uint16_t> client;
    ivshmem::PeerRinger ringer(std::make_unique<FakeDoorbell>(log), [&client] { return client; });
    ASSERT_TRUE(ringer.ring());
    EXPECT_TRUE(log.empty()) << "no client doorbell: no ring";
    client = 4;
    ASSERT_TRUE(ringer.ring());
    client = 11;  // the client restarted with a new peer ID
    ASSERT_TRUE(ringer.ring());
    EXPECT_EQ(log, (std::vector<std::pair<std::uint16_t, std::uint16_t>>{{4, 0}, {11, 0}}));
    EXPECT_EQ(ringer.rings(), 2U);
}

}  // namespace
}  // namespace porthole::test
