// QEMU's ivshmem server protocol, server and peer (see doorbell_host.hpp).
#include "porthole/ivshmem/doorbell_host.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include <spdlog/spdlog.h>

namespace porthole::ivshmem {
namespace {

std::string errno_text(int err) {
    return std::strerror(err);
}

Result<sockaddr_un> socket_address(const std::string& path) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof a.sun_path) {
        return Error::make("doorbell socket path '" + path + "' is empty or longer than " +
                               std::to_string(sizeof a.sun_path - 1) + " bytes",
                           ENAMETOOLONG);
    }
    std::memcpy(a.sun_path, path.data(), path.size());
    return a;
}

std::array<std::uint8_t, 8> little_endian(std::int64_t v) {
    std::array<std::uint8_t, 8> b{};
    auto u = static_cast<std::uint64_t>(v);
    for (auto& x : b) {
        x = static_cast<std::uint8_t>(u & 0xFF);
        u >>= 8;
    }
    return b;
}

std::int64_t from_little_endian(const std::uint8_t* b) {
    std::uint64_t u = 0;
    for (int i = 7; i >= 0; --i)
        u = (u << 8) | b[i];
    return static_cast<std::int64_t>(u);
}

// One message, never blocking: a peer that does not read its socket is dropped
// once its buffer is full, never waited for.
bool send_message(int sock, std::int64_t value, int fd = -1) {
    auto bytes = little_endian(value);
    iovec iov{bytes.data(), bytes.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int))> control{};
    if (fd >= 0) {
        msg.msg_control = control.data();
        msg.msg_controllen = control.size();
        cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
    }
    ssize_t n = 0;
    do {
        n = ::sendmsg(sock, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    return n == static_cast<ssize_t>(bytes.size());
}

// Whether something listens on `path` (a live server), for the stale-socket check.
bool someone_listens(const sockaddr_un& a) {
    UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!s) return false;
    return ::connect(s.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0;
}

}  // namespace

// ---- server ----

DoorbellServer::DoorbellServer(Options options, UniqueFd listener, UniqueFd memory)
    : options_(std::move(options)), listener_(std::move(listener)), memory_(std::move(memory)) {}

DoorbellServer::~DoorbellServer() {
    if (listener_ && owns_socket_) ::unlink(options_.socket_path.c_str());
}

Result<DoorbellServer> DoorbellServer::listen(const Options& options, UniqueFd memory) {
    if (options.vectors < 1 || options.vectors > kMaxDoorbellVectors) {
        return Error::make("vectors must be 1.." + std::to_string(kMaxDoorbellVectors) + ", not " +
                               std::to_string(options.vectors),
                           EINVAL);
    }
    if (!memory) return Error::make("the doorbell server has no region to serve", EBADF);
    auto addr = socket_address(options.socket_path);
    if (!addr) return addr.error();

    const std::string& path = options.socket_path;
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return Error::make(path + " exists and is not a socket: not replacing it", EEXIST);
        if (someone_listens(*addr))
            return Error::make("a server already listens on " + path, EADDRINUSE);
        if (::unlink(path.c_str()) != 0) {
            const int err = errno;
            return Error::make("cannot remove the stale socket " + path + ": " + errno_text(err),
                               err);
        }
    }
    const auto dir = std::filesystem::path(path).parent_path();
    if (!dir.empty() && !std::filesystem::is_directory(dir)) {
        if (::mkdir(dir.c_str(), 0755) != 0) {
            const int err = errno;
            return Error::make(
                "cannot create " + dir.string() + " for the doorbell socket: " + errno_text(err),
                err);
        }
    }

    UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!s) return Error::make("socket: " + errno_text(errno), errno);
    if (::bind(s.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) != 0) {
        const int err = errno;
        return Error::make("cannot bind " + path + ": " + errno_text(err), err);
    }
    // From here on the file is ours: removed again on every failure below.
    DoorbellServer server(options, UniqueFd{}, std::move(memory));
    if (::chmod(path.c_str(), options.mode) != 0 ||
        (options.group && ::chown(path.c_str(), static_cast<uid_t>(-1), *options.group) != 0)) {
        const int err = errno;
        ::unlink(path.c_str());
        return Error::make("cannot set the owner or mode of " + path + ": " + errno_text(err), err);
    }
    if (::listen(s.get(), 16) != 0) {
        const int err = errno;
        ::unlink(path.c_str());
        return Error::make("cannot listen on " + path + ": " + errno_text(err), err);
    }
    server.listener_ = std::move(s);
    return server;
}

std::optional<std::uint16_t> DoorbellServer::next_free_id() {
    // IDs go round rather than reuse the lowest free one: a ring meant for a
    // peer that just left seldom reaches a newcomer.
    for (std::uint32_t i = 0; i < kMaxDoorbellPeers; ++i) {
        const auto id = static_cast<std::uint16_t>((next_id_ + i) % kMaxDoorbellPeers);
        if (!peers_.contains(id)) {
            next_id_ = (std::uint32_t{id} + 1) % kMaxDoorbellPeers;
            return id;
        }
    }
    return std::nullopt;
}

void DoorbellServer::accept_peer() {
    UniqueFd s(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!s) return;  // EAGAIN, or the peer gave up already
    const auto id = next_free_id();
    if (!id) {
        spdlog::warn("doorbell: {} peers connected, refusing another", peers_.size());
        return;
    }
    Peer peer{std::move(s), {}};
    for (int v = 0; v < options_.vectors; ++v) {
        UniqueFd e(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
        if (!e) {
            spdlog::warn("doorbell: no eventfd for a new peer: {}", errno_text(errno));
            return;
        }
        peer.vectors.push_back(std::move(e));
    }
    const int sock = peer.socket.get();
    bool ok = send_message(sock, kDoorbellProtocolVersion) && send_message(sock, *id) &&
              send_message(sock, -1, memory_.get());
    for (const auto& [other_id, other] : peers_) {
        for (const auto& fd : other.vectors)
            ok = ok && send_message(sock, other_id, fd.get());
    }
    for (const auto& fd : peer.vectors)
        ok = ok && send_message(sock, *id, fd.get());
    if (!ok) {
        // Also a liveness probe (another server starting) that hung up at once.
        spdlog::info("doorbell: a peer left during its setup");
        return;
    }
    std::vector<std::uint16_t> failed;
    for (const auto& [other_id, other] : peers_) {
        bool sent = true;
        for (const auto& fd : peer.vectors)
            sent = sent && send_message(other.socket.get(), *id, fd.get());
        if (!sent) failed.push_back(other_id);
    }
    peers_.emplace(*id, std::move(peer));
    spdlog::info("doorbell: peer {} connected ({} connected)", *id, peers_.size());
    for (const auto f : failed) {
        spdlog::warn("doorbell: peer {} does not read its socket; dropped", f);
        drop_peer(f);
    }
}

void DoorbellServer::drop_peer(std::uint16_t id) {
    if (peers_.erase(id) == 0) return;
    spdlog::info("doorbell: peer {} left ({} connected)", id, peers_.size());
    std::vector<std::uint16_t> failed;
    for (const auto& [other_id, other] : peers_) {
        if (!send_message(other.socket.get(), id)) failed.push_back(other_id);
    }
    for (const auto f : failed)
        drop_peer(f);
}

Status DoorbellServer::serve_once(std::chrono::milliseconds timeout) {
    std::vector<pollfd> fds;
    std::vector<std::uint16_t> ids;
    fds.push_back({listener_.get(), POLLIN, 0});
    for (const auto& [id, p] : peers_) {
        fds.push_back({p.socket.get(), POLLIN, 0});
        ids.push_back(id);
    }
    const int n = ::poll(fds.data(), fds.size(), static_cast<int>(timeout.count()));
    if (n < 0) {
        if (errno == EINTR) return {};
        return Error::make("poll: " + errno_text(errno), errno);
    }
    if (n == 0) return {};
    // Peers never send: anything readable is a departure or a protocol error.
    for (std::size_t i = 1; i < fds.size(); ++i) {
        if (fds[i].revents == 0) continue;
        std::array<char, 64> junk{};
        const ssize_t got = ::recv(fds[i].fd, junk.data(), junk.size(), MSG_DONTWAIT);
        if (got > 0)
            spdlog::warn("doorbell: peer {} sent data (peers never send); dropped", ids[i - 1]);
        if (got >= 0 || (errno != EAGAIN && errno != EINTR)) drop_peer(ids[i - 1]);
    }
    if ((fds[0].revents & (POLLERR | POLLNVAL)) != 0)
        return Error::make("the doorbell socket " + options_.socket_path + " failed", EIO);
    if ((fds[0].revents & POLLIN) != 0) accept_peer();
    return {};
}

// ---- peer ----

Result<DoorbellPeer> DoorbellPeer::connect(const std::string& socket_path,
                                           std::chrono::milliseconds timeout) {
    auto addr = socket_address(socket_path);
    if (!addr) return addr.error();
    // Nonblocking: a unix connect waits while a stuck server's backlog is
    // full, and the client must never hang at start for a doorbell.
    UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!s) return Error::make("socket: " + errno_text(errno), errno);
    if (::connect(s.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) != 0) {
        const int err = errno;
        if (err == EAGAIN) {
            return Error::make("the doorbell server at " + socket_path +
                                   " takes no connections (its backlog is full)",
                               err);
        }
        return Error::make("cannot connect to the doorbell server at " + socket_path + ": " +
                               errno_text(err) +
                               (err == ENOENT || err == ECONNREFUSED
                                    ? " (start porthole-ivshmem-server, or --doorbell off)"
                                    : ""),
                           err);
    }
    DoorbellPeer peer(std::move(s));
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    const auto next = [&]() -> Result<Message> {
        for (;;) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) break;
            auto m = peer.receive(static_cast<int>(left.count()));
            if (!m) return m.error();
            if (*m) return std::move(**m);
        }
        return Error::make("the doorbell server at " + socket_path + " sent no setup within " +
                               std::to_string(timeout.count()) + " ms",
                           ETIMEDOUT);
    };
    auto version = next();
    if (!version) return version.error();
    if (version->value != kDoorbellProtocolVersion || version->fd) {
        return Error::make(socket_path + " speaks ivshmem protocol version " +
                               std::to_string(version->value) + ", not 0",
                           EPROTO);
    }
    auto id = next();
    if (!id) return id.error();
    if (id->value < 0 || id->value >= kMaxDoorbellPeers || id->fd) {
        return Error::make(
            socket_path + " gave the peer ID " + std::to_string(id->value) + " (IDs are 0..65535)",
            EPROTO);
    }
    peer.id_ = static_cast<std::uint16_t>(id->value);
    auto memory = next();
    if (!memory) return memory.error();
    if (memory->value != -1 || !memory->fd)
        return Error::make(socket_path + " sent no region (message -1 with its fd)", EPROTO);
    if (::fstat(memory->fd.get(), &peer.memory_stat_) != 0)
        return Error::make("cannot stat the doorbell server's region: " + errno_text(errno), errno);
    // Peers present, then this peer's own interrupts: ready at the first.
    while (peer.interrupts_.empty()) {
        auto m = next();
        if (!m) return m.error();
        if (auto ok = peer.take(std::move(*m)); !ok) return ok.error();
    }
    return peer;
}

Result<std::optional<DoorbellPeer::Message>> DoorbellPeer::receive(int wait_ms) {
    pollfd p{socket_.get(), POLLIN, 0};
    const int n = ::poll(&p, 1, wait_ms);
    if (n < 0 && errno != EINTR) return Error::make("poll: " + errno_text(errno), errno);
    if (n <= 0) return std::optional<Message>{};
    std::array<std::uint8_t, 8> buf{};
    const std::size_t want = buf.size() - partial_.size();
    iovec iov{buf.data(), want};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    // Room for several fds: a hostile server's extras are closed, never leaked.
    alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int) * 8)> control{};
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    const ssize_t got = ::recvmsg(socket_.get(), &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (got < 0) {
        if (errno == EAGAIN || errno == EINTR) return std::optional<Message>{};
        return Error::make("doorbell server connection: " + errno_text(errno), errno);
    }
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (std::size_t i = 0; i < count; ++i) {
            int fd = -1;
            std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            if (!partial_fd_) {
                partial_fd_.reset(fd);
            } else {
                ::close(fd);
            }
        }
    }
    if (got == 0) {
        server_gone_ = true;
        return Error::make("the doorbell server closed the connection", ECONNRESET);
    }
    partial_.insert(partial_.end(), buf.begin(), buf.begin() + got);
    if (partial_.size() < 8) return std::optional<Message>{};
    Message m{from_little_endian(partial_.data()), std::move(partial_fd_)};
    partial_.clear();
    return std::optional<Message>{std::move(m)};
}

Status DoorbellPeer::take(Message m) {
    if (m.value < 0 || m.value >= kMaxDoorbellPeers) {
        return Error::make("the doorbell server sent a bad peer ID " + std::to_string(m.value),
                           EPROTO);
    }
    const auto id = static_cast<std::uint16_t>(m.value);
    if (id == id_) {
        // Our interrupts; one vector is all we wait on (extras close).
        if (m.fd && interrupts_.empty()) interrupts_.push_back(std::move(m.fd));
        return {};
    }
    if (m.fd) {
        // Bounded: a server announcing peers without end must not take all
        // our descriptors (extras are closed; those peers cannot be rung).
        std::size_t held = 0;
        for (const auto& [_, v] : peers_)
            held += v.size();
        auto& v = peers_[id];
        if (v.size() < kMaxDoorbellVectors && held < kMaxPeerFds) v.push_back(std::move(m.fd));
    } else {
        peers_.erase(id);  // it left
    }
    return {};
}

Status DoorbellPeer::pump() {
    if (server_gone_) return Error::make("the doorbell server has gone", ECONNRESET);
    for (int i = 0; i < 256; ++i) {
        auto m = receive(0);
        if (!m) return m.error();
        if (!*m) return {};
        if (auto ok = take(std::move(**m)); !ok) return ok;
    }
    return {};
}

std::vector<std::uint16_t> DoorbellPeer::peers() const {
    std::vector<std::uint16_t> out;
    for (const auto& [id, v] : peers_)
        out.push_back(id);
    return out;
}

Status DoorbellPeer::ring(std::uint16_t peer, std::uint16_t vector) const {
    const auto it = peers_.find(peer);
    if (it == peers_.end() || vector >= it->second.size()) {
        return Error::make("doorbell peer " + std::to_string(peer) + " vector " +
                               std::to_string(vector) + " is not connected",
                           ENOENT);
    }
    const std::uint64_t one = 1;
    if (::write(it->second[vector].get(), &one, sizeof one) != sizeof one) {
        return Error::make("ringing peer " + std::to_string(peer) + ": " + errno_text(errno),
                           errno);
    }
    return {};
}

bool DoorbellPeer::serves(const std::string& path) const {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && st.st_dev == memory_stat_.st_dev &&
           st.st_ino == memory_stat_.st_ino;
}

}  // namespace porthole::ivshmem
