#include "xvfb_server.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include <utility>

#include "porthole/util/unique_fd.hpp"

namespace porthole::testing {

Result<XvfbServer> XvfbServer::start(std::uint32_t width, std::uint32_t height,
                                     std::uint32_t depth) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        return Error::make(std::string("pipe for Xvfb -displayfd: ") + std::strerror(errno), errno);
    }
    UniqueFd rd(fds[0]), wr(fds[1]);
    const std::string screen =
        std::to_string(width) + "x" + std::to_string(height) + "x" + std::to_string(depth);
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0) return Error::make(std::string("fork for Xvfb: ") + std::strerror(errno), errno);
    if (pid == 0) {
        // Child: only async-signal-safe calls until exec.
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) _exit(127);
        dup2(wr.get(), 3);  // dup2 clears O_CLOEXEC on fd 3
        const int null = ::open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
        }
        setpgid(0, 0);
        execlp("Xvfb", "Xvfb", "-displayfd", "3", "-screen", "0", screen.c_str(), "-nolisten",
               "tcp", "-noreset", static_cast<char*>(nullptr));
        _exit(127);
    }
    wr.reset();
    XvfbServer server(pid, "");
    std::string number;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return Error::make("Xvfb did not report its display within 15 s");
        pollfd p{rd.get(), POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) < 0 && errno != EINTR) {
            return Error::make(std::string("poll on Xvfb's -displayfd pipe: ") +
                               std::strerror(errno));
        }
        char buf[32];
        const ssize_t n = ::read(rd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            return Error::make(
                "Xvfb exited before reporting a display (is the package xvfb installed? run "
                "`Xvfb -displayfd 1 -screen 0 " +
                screen + "` by hand to see why)");
        }
        number.append(buf, static_cast<std::size_t>(n));
        if (number.find('\n') != std::string::npos) break;
    }
    number.erase(number.find('\n'));
    server.display_ = ":" + number;
    return server;
}

XvfbServer::XvfbServer(XvfbServer&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)), display_(std::move(o.display_)) {}

XvfbServer& XvfbServer::operator=(XvfbServer&& o) noexcept {
    if (this != &o) {
        stop();
        pid_ = std::exchange(o.pid_, -1);
        display_ = std::move(o.display_);
    }
    return *this;
}

XvfbServer::~XvfbServer() {
    stop();
}

void XvfbServer::stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 200; ++i) {  // up to 2 s, then SIGKILL
        if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
            pid_ = -1;
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
}

}  // namespace porthole::testing
