#pragma once
// A scripted QMP server on a UNIX socket for the QMP client's unit tests: a
// real QEMU answers too fast to hold a reply, and reports only its own version.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "porthole/util/unique_fd.hpp"

namespace porthole::test {

using nlohmann::json;

// Greets (with `greeting_version`, when given), accepts qmp_capabilities,
// answers query-version (with `query_version`, or refuses it when null), then
// answers input-send-event commands only while `answer` is set, keeping each
// command's events.
class SlowQmpServer {
  public:
    explicit SlowQmpServer(nlohmann::json greeting_version = nlohmann::json::object(),
                           nlohmann::json query_version = nullptr)
        : greeting_version_(std::move(greeting_version)), query_version_(std::move(query_version)) {
        char tmpl[] = "/tmp/porthole-qmp-XXXXXX";
        dir_ = ::mkdtemp(tmpl);
        path_ = dir_ + "/qmp.sock";
        listen_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        path_.copy(a.sun_path, sizeof a.sun_path - 1);
        if (::bind(listen_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
            ::listen(listen_.get(), 1) != 0)
            throw std::runtime_error("cannot listen on " + path_);
        thread_ = std::thread([this] { serve(); });
    }
    ~SlowQmpServer() {
        stop_ = true;
        ::shutdown(listen_.get(), SHUT_RDWR);
        if (conn_) ::shutdown(conn_.get(), SHUT_RDWR);
        thread_.join();
        std::filesystem::remove_all(dir_);
    }
    SlowQmpServer(const SlowQmpServer&) = delete;
    SlowQmpServer& operator=(const SlowQmpServer&) = delete;

    [[nodiscard]] const std::string& path() const { return path_; }
    std::atomic<bool> answer{true};
    std::atomic<bool> queried_version{false};
    std::vector<json> commands() {
        std::lock_guard l(m_);
        return commands_;
    }

  private:
    void send(const std::string& line) {
        [[maybe_unused]] const auto n = ::write(conn_.get(), line.data(), line.size());
    }
    void serve() {
        conn_.reset(::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!conn_) return;
        send(json{{"QMP", {{"version", greeting_version_}, {"capabilities", json::array()}}}}
                 .dump() +
             "\n");
        std::string buf;
        std::vector<std::uint64_t> unanswered;
        char c[4096];
        while (!stop_) {
            if (answer) {
                for (auto id : unanswered)
                    send(json{{"return", json::object()}, {"id", id}}.dump() + "\n");
                unanswered.clear();
            }
            pollfd p{conn_.get(), POLLIN, 0};
            if (::poll(&p, 1, 5) <= 0) continue;
            const ssize_t n = ::read(conn_.get(), c, sizeof c);
            if (n <= 0) return;
            buf.append(c, static_cast<std::size_t>(n));
            for (auto nl = buf.find('\n'); nl != std::string::npos; nl = buf.find('\n')) {
                const auto cmd = json::parse(buf.substr(0, nl));
                buf.erase(0, nl + 1);
                if (cmd["execute"] == "qmp_capabilities") {
                    send(json{{"return", json::object()}, {"id", cmd["id"]}}.dump() + "\n");
                    continue;
                }
                if (cmd["execute"] == "query-version") {
                    queried_version = true;
                    if (query_version_.is_null())  // as a QEMU without the command would
                        send(json{{"error",
                                   {{"class", "CommandNotFound"},
                                    {"desc", "The command query-version has not been found"}}},
                                  {"id", cmd["id"]}}
                                 .dump() +
                             "\n");
                    else
                        send(json{{"return", query_version_}, {"id", cmd["id"]}}.dump() + "\n");
                    continue;
                }
                {
                    std::lock_guard l(m_);
                    commands_.push_back(cmd["arguments"]["events"]);
                }
                unanswered.push_back(cmd["id"].get<std::uint64_t>());
            }
        }
    }

    nlohmann::json greeting_version_, query_version_;
    std::string dir_, path_;
    UniqueFd listen_, conn_;
    std::atomic<bool> stop_{false};
    std::mutex m_;
    std::vector<json> commands_;
    std::thread thread_;
};

}  // namespace porthole::test
