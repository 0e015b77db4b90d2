#pragma once
// A QEMU with no disk and no guest, just a QMP socket: QEMU accepts
// input-send-event from its monitor even with no OS running. Started in a
// private temp dir and killed (by pid) when the object goes.

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "porthole/util/unique_fd.hpp"
#include "support/spawn.hpp"

namespace porthole::test {

class QemuProcess {
  public:
    explicit QemuProcess(std::string socket, bool paused = false,
                         std::vector<std::string> extra_args = {})
        : socket_(std::move(socket)), extra_(std::move(extra_args)) {
        start(paused);
    }
    ~QemuProcess() { stop(); }
    QemuProcess(const QemuProcess&) = delete;
    QemuProcess& operator=(const QemuProcess&) = delete;

    void start(bool paused = false) {
        std::filesystem::remove(socket_);
        std::vector<std::string> args{"qemu-system-x86_64", "-machine", "q35", "-accel", "tcg",
                                      "-m", "64", "-nodefaults", "-display", "none",
                                      // absolute axes need a device that takes them
                                      "-device", "virtio-tablet-pci", "-qmp",
                                      "unix:" + socket_ + ",server=on,wait=off"};
        if (paused) args.push_back("-S");
        args.insert(args.end(), extra_.begin(), extra_.end());
        // QEMU's own messages go to a log beside the socket.
        pid_ = porthole::testing::spawn_logged(args, socket_ + ".log", /*new_session=*/true);
        // Ready once a connect succeeds (up to 30 s: a loaded machine, TCG
        // start-up). The socket's file appears at bind(), before listen(): a
        // test that connected as soon as the file existed was refused (an
        // ASan run, QmpUsb.AttachListAndDetach..., 32 ms in).
        listening_ = false;
        for (int i = 0; i < 1200 && !(listening_ = accepts()); ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(25));
        }
    }
    void stop() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGTERM);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
    }
    [[nodiscard]] bool listening() const { return listening_; }

  private:
    // A connection QEMU's monitor takes (and drops: it then serves the next).
    [[nodiscard]] bool accepts() const {
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        if (socket_.size() >= sizeof addr.sun_path) return false;
        std::memcpy(addr.sun_path, socket_.c_str(), socket_.size() + 1);
        const UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
        const auto* sa = reinterpret_cast<const sockaddr*>(&addr);
        return fd && ::connect(fd.get(), sa, sizeof addr) == 0;
    }

    std::string socket_;
    std::vector<std::string> extra_;
    pid_t pid_ = -1;
    bool listening_ = false;
};

}  // namespace porthole::test
