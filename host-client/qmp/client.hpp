#pragma once
// A QMP connection that sends input batches to QEMU. Asio drives the UNIX
// socket on the client's own thread: connect, greeting, qmp_capabilities,
// then one input-send-event per batch; asynchronous events are skipped,
// every reply is checked against its command id, and a lost connection
// (QEMU restarted) is retried with backoff. After qmp_capabilities the client
// asks query-version: the keys QEMU names depend on it (F13..F24 from 8.0). Batches given while no
// QEMU is connected are dropped and counted: stale input must not replay later. While max_in_flight
// commands await replies (QEMU busy), new events wait in a backlog sent as one command at the next
// reply: keys and buttons are kept in order (a lost release would stick a key), motion folds into
// the motion just before it (the sum of relative moves, the latest absolute position).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>

#include "porthole/protocol/region.hpp"
#include "porthole/qmp/message.hpp"
#include "porthole/util/result.hpp"

namespace porthole::client::qmp {

struct QmpConfig {
    std::string socket_path;  // QEMU's -qmp unix:PATH,server=on,wait=off
    std::chrono::milliseconds reconnect_min{50};
    std::chrono::milliseconds reconnect_max{2000};
    std::size_t max_in_flight = 256;  // commands sent without a reply yet
    std::size_t max_backlog = 4096;   // events waiting for a free slot; beyond, batches drop
    // Told (on the I/O thread) what the user should know once per connection:
    // keys left out because this QEMU has no names for them.
    std::function<void(const std::string&)> notice = nullptr;
};

struct QmpStats {
    bool connected = false;
    std::uint64_t batches_sent = 0;
    std::uint64_t accepted = 0;          // replies with "return"
    std::uint64_t rejected = 0;          // replies with "error"
    std::uint64_t dropped = 0;           // batches not sent (no connection, backlog full)
    std::uint64_t merged = 0;            // motion events folded into the backlog's previous motion
    std::uint64_t unmapped = 0;          // events QEMU has no name for
    std::uint64_t needs_newer_qemu = 0;  // of those, keys a newer QEMU names (F13..F24)
    std::uint64_t connects = 0;
    // From query-version after the handshake (the greeting's when QEMU
    // refused it); 0.0 if QEMU did not say.
    int qemu_major = 0, qemu_minor = 0;
    std::string last_error;
};

using porthole::qmp::parse_qmp_address;  // "unix:/path" or a bare path

class QmpClient {
  public:
    explicit QmpClient(QmpConfig config);
    ~QmpClient();  // stops the thread, closes the socket
    QmpClient(const QmpClient&) = delete;
    QmpClient& operator=(const QmpClient&) = delete;

    // Starts the I/O thread; connection attempts begin at once.
    void start();
    // Queues one batch (any thread); sent as one input-send-event.
    void send(std::span<const protocol::InputEvent> batch);
    // Called on the I/O thread for each reply: the time send() took the batch, and success.
    void on_reply(std::function<void(std::uint64_t queued_ns, bool ok)> f);
    // Runs one other command on this connection (any thread; QEMU serves one
    // client per QMP socket, so tools that share it go through here). `done`
    // runs on the I/O thread with the "return" value, QEMU's error
    // (code porthole::qmp::Channel::kQemuRefused) or the connection's.
    void execute(std::string command, nlohmann::json arguments,
                 std::function<void(Result<nlohmann::json>)> done);
    // Called on the I/O thread with every asynchronous event QEMU sends.
    void on_event(std::function<void(const nlohmann::json&)> f);
    [[nodiscard]] QmpStats stats() const;
    // Waits until the handshake completed (tests, start-up).
    bool wait_connected(std::chrono::milliseconds timeout) const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace porthole::client::qmp
