#include "porthole/qmp/session.hpp"

#include <fmt/format.h>
#include <asio.hpp>

#include <algorithm>
#include <deque>

namespace porthole::qmp {

using Clock = std::chrono::steady_clock;

struct Session::Impl {
    std::string path;
    std::chrono::milliseconds timeout;
    asio::io_context io;
    asio::local::stream_protocol::socket socket{io};
    std::string buffer;  // bytes read, not yet split into lines
    std::deque<nlohmann::json> events;
    QemuVersion version;
    std::uint64_t next_id = 1;

    Impl(std::string p, std::chrono::milliseconds t) : path(std::move(p)), timeout(t) {}

    // Runs one asynchronous operation to completion or until `deadline`; on
    // expiry the operation is cancelled and its handler run before returning.
    template <class Start>
    asio::error_code run_until(Clock::time_point deadline, Start start) {
        bool done = false;
        asio::error_code result;
        start([&](const asio::error_code& ec, auto&&...) {
            done = true;
            result = ec;
        });
        io.restart();
        io.run_until(deadline);
        if (!done) {
            asio::error_code ignored;
            socket.cancel(ignored);
            io.restart();
            io.run();
            return asio::error::timed_out;
        }
        return result;
    }

    Result<std::string> read_line(Clock::time_point deadline) {
        while (true) {
            if (const auto nl = buffer.find('\n'); nl != std::string::npos) {
                std::string line = buffer.substr(0, nl);
                buffer.erase(0, nl + 1);
                if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
                return line;
            }
            if (buffer.size() > kMaxLine)
                return Error::make("QMP at " + path + " sent a line longer than 4 MiB");
            std::array<char, 16384> chunk{};
            std::size_t got = 0;
            const auto ec = run_until(deadline, [&](auto handler) {
                socket.async_read_some(asio::buffer(chunk),
                                       [&, handler](const asio::error_code& e, std::size_t n) {
                                           got = n;
                                           handler(e);
                                       });
            });
            if (ec == asio::error::timed_out)
                return Error::make(
                    fmt::format("QMP at {} did not answer within {} ms", path, timeout.count()));
            if (ec) return Error::make("QMP connection to " + path + " lost: " + ec.message());
            buffer.append(chunk.data(), got);
        }
    }

    Result<Message> read_message(Clock::time_point deadline) {
        auto line = read_line(deadline);
        if (!line) return line.error();
        return parse_message(*line);
    }

    void keep_event(nlohmann::json e) {
        if (events.size() == kMaxEvents) events.pop_front();
        events.push_back(std::move(e));
    }

    Result<nlohmann::json> execute(std::string_view command, const nlohmann::json& arguments) {
        const std::uint64_t id = next_id++;
        const std::string line = command_line(command, arguments, id);
        const auto deadline = Clock::now() + timeout;
        const auto ec = run_until(deadline, [&](auto handler) {
            asio::async_write(socket, asio::buffer(line), handler);
        });
        if (ec == asio::error::timed_out)
            return Error::make(
                fmt::format("QMP at {} took no command within {} ms", path, timeout.count()));
        if (ec) return Error::make("writing to QMP at " + path + " failed: " + ec.message());
        while (true) {
            auto m = read_message(deadline);
            if (!m) return m.error();
            switch (m->kind) {
                case Message::Kind::event:
                    keep_event(std::move(m->body));
                    continue;
                case Message::Kind::greeting:
                    return Error::make("QMP at " + path + " sent a second greeting");
                case Message::Kind::reply:
                case Message::Kind::error:
                    if (m->id != id)
                        return Error::make(
                            fmt::format("QMP at {} answered {} with the reply to another command",
                                        path, command));
                    if (m->kind == Message::Kind::error)
                        return Error::make(fmt::format("QMP {} failed: {}", command, m->error_desc),
                                           kQemuRefused);
                    return std::move(m->body);
            }
        }
    }
};

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;
Session::~Session() = default;

Result<Session> Session::connect(const std::string& socket_path,
                                 std::chrono::milliseconds timeout) {
    auto impl = std::make_unique<Impl>(socket_path, timeout);
    const auto hint = fmt::format(
        "is the VM running, and QEMU started with -qmp "
        "unix:{},server=on,wait=off?",
        socket_path);
    if (socket_path.empty()) return Error::make("no QMP socket given");
    // sockaddr_un's sun_path holds 108 bytes with the terminating NUL.
    if (socket_path.size() > 107)
        return Error::make("QMP socket path too long (at most 107 bytes): " + socket_path);
    auto& s = *impl;
    auto ec = s.run_until(Clock::now() + timeout, [&](auto handler) {
        s.socket.async_connect(asio::local::stream_protocol::endpoint(socket_path), handler);
    });
    if (ec == asio::error::timed_out)
        return Error::make(fmt::format("cannot connect to QMP at {}: no answer within {} ms ({})",
                                       socket_path, timeout.count(), hint));
    if (ec)
        return Error::make(
            fmt::format("cannot connect to QMP at {}: {} ({})", socket_path, ec.message(), hint),
            ec.value());
    auto greeting = s.read_message(Clock::now() + timeout);
    if (!greeting) return greeting.error();
    if (greeting->kind != Message::Kind::greeting)
        return Error::make("not a QMP socket (no greeting): " + socket_path);
    s.version = greeting_version(greeting->body);
    if (auto r = s.execute("qmp_capabilities", nullptr); !r) return r.error();
    return Session(std::move(impl));
}

Result<nlohmann::json> Session::execute(std::string_view command, const nlohmann::json& arguments) {
    return impl_->execute(command, arguments);
}

Result<nlohmann::json> Session::wait_event(std::string_view name,
                                           const std::function<bool(const nlohmann::json&)>& match,
                                           std::chrono::milliseconds timeout) {
    auto& s = *impl_;
    const auto is_it = [&](const nlohmann::json& e) {
        return e.value("event", "") == name && match(e);
    };
    if (auto it = std::find_if(s.events.begin(), s.events.end(), is_it); it != s.events.end()) {
        auto e = std::move(*it);
        s.events.erase(it);
        return e;
    }
    const auto deadline = Clock::now() + timeout;
    while (true) {
        auto m = s.read_message(deadline);
        if (!m) {
            if (Clock::now() >= deadline)
                return Error::make(
                    fmt::format("QEMU sent no {} event within {} ms", name, timeout.count()));
            return m.error();
        }
        if (m->kind != Message::Kind::event)
            return Error::make("QMP at " + s.path + " sent a reply nobody asked for");
        if (is_it(m->body)) return std::move(m->body);
        s.keep_event(std::move(m->body));
    }
}

QemuVersion Session::version() const {
    return impl_->version;
}

}  // namespace porthole::qmp
