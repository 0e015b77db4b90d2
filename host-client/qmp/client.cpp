#include "qmp/client.hpp"

#include <asio.hpp>
#include <nlohmann/json.hpp>

#include <condition_variable>
#include <deque>
#include <thread>

#include "porthole/qmp/channel.hpp"
#include "porthole/qmp/message.hpp"
#include "porthole/util/adaptive_wait.hpp"
#include "qmp/translate.hpp"

namespace porthole::client::qmp {

struct QmpClient::Impl {
    enum class Phase { disconnected, greeting, capabilities, version, ready };
    struct InFlight {
        std::uint64_t id;
        std::uint64_t queued_ns;
        // Set for a command of execute(); input batches have none.
        std::function<void(Result<nlohmann::json>)> done;
        std::string command;
    };

    explicit Impl(QmpConfig c)
        : config(std::move(c)), socket(io), timer(io), guard(io.get_executor()) {}

    QmpConfig config;
    asio::io_context io;
    asio::local::stream_protocol::socket socket;
    asio::steady_timer timer;
    asio::executor_work_guard<asio::io_context::executor_type> guard;
    asio::streambuf in{porthole::qmp::kMaxLine};  // a longer line fails the connection
    std::thread thread;
    Phase phase = Phase::disconnected;
    std::chrono::milliseconds backoff{0};
    std::deque<std::string> out;  // lines waiting for the socket
    bool writing = false;
    std::deque<InFlight> in_flight;
    nlohmann::json backlog = nlohmann::json::array();  // events waiting for a free slot
    std::uint64_t backlog_since_ns = 0;                // when the oldest of them was queued
    std::uint64_t next_id = 1;
    std::function<void(std::uint64_t, bool)> reply_fn;
    std::function<void(const nlohmann::json&)> event_fn;

    mutable std::mutex mutex;  // guards stats
    mutable std::condition_variable cv;
    QmpStats stats;
    QemuVersion qemu;              // from query-version or the greeting (guarded by mutex)
    bool told_newer_qemu = false;  // the F13..F24 notice was given on this connection

    void connect() {
        phase = Phase::greeting;
        socket.async_connect(asio::local::stream_protocol::endpoint(config.socket_path),
                             [this](const asio::error_code& ec) {
                                 if (ec)
                                     return fail("cannot connect to QMP socket " +
                                                 config.socket_path + ": " + ec.message() +
                                                 " (is QEMU running with -qmp?)");
                                 read_line();
                             });
    }

    void fail(const std::string& why) {
        asio::error_code ignored;
        socket.close(ignored);
        in.consume(in.size());
        out.clear();
        writing = false;
        const bool was_up = phase == Phase::ready;
        phase = Phase::disconnected;
        {
            std::lock_guard lock(mutex);
            stats.connected = false;
            stats.last_error = why;
            stats.dropped += in_flight.size() + (backlog.empty() ? 0 : 1);
        }
        for (auto& f : in_flight)
            if (f.done)
                f.done(Error::make("QMP connection to " + config.socket_path + " lost: " + why));
        in_flight.clear();
        backlog = nlohmann::json::array();
        backoff = was_up ? config.reconnect_min
                         : std::clamp(backoff * 2, config.reconnect_min, config.reconnect_max);
        timer.expires_after(backoff);
        timer.async_wait([this](const asio::error_code& ec) {
            if (!ec) connect();
        });
    }

    void read_line() {
        asio::async_read_until(socket, in, '\n', [this](const asio::error_code& ec, std::size_t n) {
            if (ec)
                return fail("QMP connection to " + config.socket_path + " lost: " + ec.message());
            std::string line(asio::buffers_begin(in.data()),
                             asio::buffers_begin(in.data()) + static_cast<std::ptrdiff_t>(n));
            in.consume(n);
            if (!handle(line)) return;
            read_line();
        });
    }

    // False when the connection was dropped.
    bool handle(std::string_view line) {
        using Kind = porthole::qmp::Message::Kind;
        auto m = porthole::qmp::parse_message(line);
        if (!m) {
            fail(m.error().message);
            return false;
        }
        if (m->kind == Kind::event) {
            if (event_fn) event_fn(m->body);
            return true;
        }
        switch (phase) {
            case Phase::greeting:
                if (m->kind != Kind::greeting) {
                    fail("no QMP greeting on " + config.socket_path);
                    return false;
                }
                {
                    std::lock_guard lock(mutex);
                    qemu = greeting_version(m->body);
                    stats.qemu_major = qemu.major;
                    stats.qemu_minor = qemu.minor;
                }
                phase = Phase::capabilities;
                write(porthole::qmp::command_line("qmp_capabilities", nullptr, 0));
                return true;
            case Phase::capabilities:
                if (m->kind != Kind::reply) {
                    fail("QMP refused qmp_capabilities: " + m->error_desc);
                    return false;
                }
                phase = Phase::version;
                write(porthole::qmp::command_line("query-version", nullptr, 0));
                return true;
            case Phase::version:
                if (m->kind == Kind::greeting || m->id != 0U) {
                    fail("QMP reply with unexpected id to query-version");
                    return false;
                }
                // A QEMU that refuses query-version keeps the greeting's version.
                if (const auto v = porthole::qmp::query_version_result(m->body);
                    m->kind == Kind::reply && v != QemuVersion{}) {
                    std::lock_guard lock(mutex);
                    qemu = v;
                    stats.qemu_major = v.major;
                    stats.qemu_minor = v.minor;
                }
                told_newer_qemu = false;
                phase = Phase::ready;
                backoff = std::chrono::milliseconds{0};
                {
                    std::lock_guard lock(mutex);
                    stats.connected = true;
                    stats.connects++;
                }
                cv.notify_all();
                return true;
            case Phase::ready: {
                // Replies come in order; anything without a matching id is a protocol error.
                if (m->kind == Kind::greeting || in_flight.empty() ||
                    m->id != in_flight.front().id) {
                    fail("QMP reply with unexpected id " +
                         (m->id ? std::to_string(*m->id) : std::string("(none)")));
                    return false;
                }
                InFlight f = std::move(in_flight.front());
                in_flight.pop_front();
                const bool ok = m->kind == Kind::reply;
                if (f.done) {
                    if (ok)
                        f.done(std::move(m->body));
                    else
                        f.done(Error::make("QMP " + f.command + " failed: " + m->error_desc,
                                           porthole::qmp::Channel::kQemuRefused));
                    send_backlog();
                    return true;
                }
                {
                    std::lock_guard lock(mutex);
                    (ok ? stats.accepted : stats.rejected)++;
                    if (!ok) stats.last_error = "QEMU rejected input: " + m->error_desc;
                }
                if (reply_fn) reply_fn(f.queued_ns, ok);
                send_backlog();
                return true;
            }
            case Phase::disconnected:
                return false;
        }
        return false;
    }

    void write(std::string line) {
        out.push_back(std::move(line));
        if (!writing) write_next();
    }

    void write_next() {
        if (out.empty()) {
            writing = false;
            return;
        }
        writing = true;
        asio::async_write(
            socket, asio::buffer(out.front()), [this](const asio::error_code& ec, std::size_t) {
                if (ec)
                    return fail("QMP write to " + config.socket_path + " failed: " + ec.message());
                out.pop_front();
                write_next();
            });
    }

    // Caller holds the mutex.
    void send_command(const nlohmann::json& events, std::uint64_t queued_ns) {
        const std::uint64_t id = next_id++;
        in_flight.push_back({id, queued_ns, nullptr, {}});
        stats.batches_sent++;
        write(input_send_event_command(events, id));
    }

    // Not held back by max_in_flight: a person waits for it, and it is one line.
    void send_other(std::string command, const nlohmann::json& arguments,
                    std::function<void(Result<nlohmann::json>)> done) {
        if (phase != Phase::ready) {
            done(Error::make("QMP at " + config.socket_path +
                             " is not connected (is QEMU running?)"));
            return;
        }
        const std::uint64_t id = next_id++;
        write(porthole::qmp::command_line(command, arguments, id));
        in_flight.push_back({id, monotonic_ns(), std::move(done), std::move(command)});
    }

    void send_batch(std::vector<protocol::InputEvent> batch, std::uint64_t queued_ns) {
        std::unique_lock lock(mutex);
        const QemuVersion version = qemu;
        lock.unlock();
        auto t = to_qmp_events(batch, version);
        // Said once per connection, outside the lock (the callback logs).
        if (t.needs_newer_qemu > 0 && phase == Phase::ready && !told_newer_qemu) {
            told_newer_qemu = true;
            const std::string qemu_name =
                version == QemuVersion{}
                    ? std::string("of unknown version")
                    : std::to_string(version.major) + "." + std::to_string(version.minor);
            if (config.notice)
                config.notice("F13..F24 are not sent to QEMU " + qemu_name + " at " +
                              config.socket_path + ": QEMU names them from " +
                              std::to_string(kQemuWithF13ToF24.major) + "." +
                              std::to_string(kQemuWithF13ToF24.minor) + " on");
        }
        lock.lock();
        stats.unmapped += t.unmapped;
        stats.needs_newer_qemu += t.needs_newer_qemu;
        if (t.events.empty()) return;
        if (phase != Phase::ready) {
            stats.dropped++;
            return;
        }
        if (backlog.empty() && in_flight.size() < config.max_in_flight) {
            send_command(t.events, queued_ns);
            return;
        }
        if (backlog.size() + t.events.size() > config.max_backlog) {
            stats.dropped++;  // QEMU has stopped answering: do not grow without bound
            return;
        }
        if (backlog.empty()) backlog_since_ns = queued_ns;
        for (auto& e : t.events) {
            if (fold_motion(e))
                stats.merged++;
            else
                backlog.push_back(std::move(e));
        }
    }

    // Folds a motion event into the same axis's motion in the backlog's
    // trailing run of motion of its kind; false if there is none to join.
    bool fold_motion(const nlohmann::json& e) {
        const std::string type = e.value("type", "");
        if (type != "rel" && type != "abs") return false;
        const auto& axis = e["data"]["axis"];
        for (auto it = backlog.rbegin(); it != backlog.rend(); ++it) {
            if (it->value("type", "") != type) return false;  // a key or button: keep order
            auto& data = (*it)["data"];
            if (data["axis"] != axis) continue;
            if (type == "rel")
                data["value"] =
                    data["value"].get<std::int64_t>() + e["data"]["value"].get<std::int64_t>();
            else
                data["value"] = e["data"]["value"];
            return true;
        }
        return false;
    }

    void send_backlog() {
        std::lock_guard lock(mutex);
        if (backlog.empty() || phase != Phase::ready || in_flight.size() >= config.max_in_flight)
            return;
        send_command(backlog, backlog_since_ns);
        backlog = nlohmann::json::array();
    }
};

QmpClient::QmpClient(QmpConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {}

QmpClient::~QmpClient() {
    impl_->io.stop();
    if (impl_->thread.joinable()) impl_->thread.join();
}

void QmpClient::start() {
    asio::post(impl_->io, [this] { impl_->connect(); });
    impl_->thread = std::thread([this] { impl_->io.run(); });
}

void QmpClient::send(std::span<const protocol::InputEvent> batch) {
    asio::post(impl_->io, [this, b = std::vector(batch.begin(), batch.end()),
                           t = monotonic_ns()]() mutable { impl_->send_batch(std::move(b), t); });
}

void QmpClient::on_reply(std::function<void(std::uint64_t, bool)> f) {
    asio::post(impl_->io, [this, f = std::move(f)]() mutable { impl_->reply_fn = std::move(f); });
}

void QmpClient::execute(std::string command, nlohmann::json arguments,
                        std::function<void(Result<nlohmann::json>)> done) {
    asio::post(impl_->io, [this, c = std::move(command), a = std::move(arguments),
                           d = std::move(done)]() mutable {
        impl_->send_other(std::move(c), a, std::move(d));
    });
}

void QmpClient::on_event(std::function<void(const nlohmann::json&)> f) {
    asio::post(impl_->io, [this, f = std::move(f)]() mutable { impl_->event_fn = std::move(f); });
}

QmpStats QmpClient::stats() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->stats;
}

bool QmpClient::wait_connected(std::chrono::milliseconds timeout) const {
    std::unique_lock lock(impl_->mutex);
    return impl_->cv.wait_for(lock, timeout, [this] { return impl_->stats.connected; });
}

}  // namespace porthole::client::qmp
