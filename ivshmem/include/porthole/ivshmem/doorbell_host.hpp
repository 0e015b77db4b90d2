#pragma once
// The host's side of QEMU's ivshmem-doorbell device: the server that hands the
// region and the peers' eventfds to QEMU and to the client, and the client's
// own connection to it (a peer, as QEMU's device is one). Protocol: QEMU's
// docs/specs/ivshmem-spec.rst ("The ivshmem Client-Server Protocol"): the
// server sends 8-byte little-endian numbers, some with one fd (SCM_RIGHTS);
// peers never send. Debian ships no ivshmem-server, so Porthole has its own.
//
// A guest rings peer P's vector V by writing (P << 16) | V to its device's
// doorbell register; QEMU then signals the eventfd the server made for P's
// vector V, which P polls. The server must outlive the VM: QEMU reads its
// setup once, when the device is realized, and cannot reconnect.

#ifndef _WIN32
#include <sys/stat.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "porthole/util/result.hpp"
#include "porthole/util/unique_fd.hpp"

namespace porthole::ivshmem {

inline constexpr const char* kDefaultDoorbellSocket = "/run/porthole/ivshmem.sock";
inline constexpr std::int64_t kDoorbellProtocolVersion = 0;
inline constexpr int kMaxDoorbellVectors = 64;
inline constexpr std::uint32_t kMaxDoorbellPeers = 65536;  // IDs are 16 bits (the register's)
// The other peers' eventfds a DoorbellPeer keeps (a few VMs' worth).
inline constexpr std::size_t kMaxPeerFds = 256;

class DoorbellServer {
  public:
    struct Options {
        std::string socket_path = kDefaultDoorbellSocket;
        int vectors = 1;  // eventfds per peer; QEMU's device must be given the same number
        mode_t mode = 0660;
        std::optional<gid_t> group;
    };
    // Listens on options.socket_path and serves `memory` (the region file) to
    // every peer. A stale socket left by a dead server is replaced; a live
    // server's socket or any other file there is an error.
    static Result<DoorbellServer> listen(const Options& options, UniqueFd memory);

    DoorbellServer(DoorbellServer&&) noexcept = default;
    DoorbellServer& operator=(DoorbellServer&&) noexcept = default;
    DoorbellServer(const DoorbellServer&) = delete;
    DoorbellServer& operator=(const DoorbellServer&) = delete;
    ~DoorbellServer();  // removes its socket file

    // Waits up to `timeout` for a peer to connect or leave and serves it.
    // Errors are the server's own (the listening socket failing); a peer that
    // misbehaves is dropped and logged.
    Status serve_once(std::chrono::milliseconds timeout);
    [[nodiscard]] std::size_t peer_count() const { return peers_.size(); }
    [[nodiscard]] const std::string& socket_path() const { return options_.socket_path; }

  private:
    struct Peer {
        UniqueFd socket;
        std::vector<UniqueFd> vectors;  // the peer's interrupts: others ring these
    };
    DoorbellServer(Options options, UniqueFd listener, UniqueFd memory);
    void accept_peer();
    void drop_peer(std::uint16_t id);
    std::optional<std::uint16_t> next_free_id();

    Options options_;
    UniqueFd listener_;
    UniqueFd memory_;
    std::map<std::uint16_t, Peer> peers_;
    std::uint32_t next_id_ = 0;
    bool owns_socket_ = true;
};

// The client's connection: a peer like QEMU's device. It learns its ID and
// its own interrupt (vector 0), which the guest rings, and the other peers'
// eventfds, with which it could ring them.
class DoorbellPeer {
  public:
    // Connects and reads the setup (version, ID, the region's fd, the peers
    // present, the own interrupts) within `timeout`.
    static Result<DoorbellPeer> connect(const std::string& socket_path,
                                        std::chrono::milliseconds timeout);

    [[nodiscard]] std::uint16_t id() const { return id_; }
    // Readable when a peer rang this peer's vector 0 (an eventfd: read its count).
    [[nodiscard]] int interrupt_fd() const { return interrupts_.front().get(); }
    [[nodiscard]] int socket_fd() const { return socket_.get(); }
    // True when the server's region is the file at `path` (same device and inode).
    [[nodiscard]] bool serves(const std::string& path) const;
    [[nodiscard]] const struct stat& memory_stat() const { return memory_stat_; }
    // Takes the server's later messages (peers joining and leaving) without
    // blocking. An error once the server has gone: the interrupts still work
    // (QEMU keeps its eventfds), but no new peer can join.
    Status pump();
    [[nodiscard]] std::vector<std::uint16_t> peers() const;
    // Rings `peer`'s interrupt `vector`; an error if it is not connected.
    Status ring(std::uint16_t peer, std::uint16_t vector = 0) const;

  private:
    struct Message {
        std::int64_t value = 0;
        UniqueFd fd;
    };
    explicit DoorbellPeer(UniqueFd socket) : socket_(std::move(socket)) {}
    // One message; nullopt when none is waiting (wait_ms 0) or the wait ended.
    Result<std::optional<Message>> receive(int wait_ms);
    Status take(Message m);  // a message after the region's

    UniqueFd socket_;
    std::uint16_t id_ = 0;
    struct stat memory_stat_ {};
    std::vector<UniqueFd> interrupts_;
    std::map<std::uint16_t, std::vector<UniqueFd>> peers_;
    std::vector<std::uint8_t> partial_;  // bytes of a message split across reads
    UniqueFd partial_fd_;
    bool server_gone_ = false;
};

}  // namespace porthole::ivshmem
#endif
