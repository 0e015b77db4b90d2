#pragma once
// A QEMU with no disk and no guest, just a QMP socket: QEMU accepts
// input-send-event from its monitor even with no OS running. Started in a
// private temp dir and killed (by pid) when the object goes.

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

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
        pid_ = ::fork();
        if (pid_ == 0) {
            ::setsid();
            // QEMU's own messages go to a log beside the socket.
            const std::string log = socket_ + ".log";
            const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
            if (fd >= 0) {
                ::dup2(fd, 1);
                ::dup2(fd, 2);
            }
            std::vector<char*> argv;
            for (auto& a : args)
                argv.push_back(a.data());
            argv.push_back(nullptr);
            ::execvp(argv[0], argv.data());
            ::_exit(127);
        }
        // The socket appears once QEMU listens (up to 30 s: a loaded machine, TCG start-up).
        for (int i = 0; i < 1200 && !std::filesystem::exists(socket_); ++i) {
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
    [[nodiscard]] bool listening() const { return std::filesystem::exists(socket_); }

  private:
    std::string socket_;
    std::vector<std::string> extra_;
    pid_t pid_ = -1;
};

}  // namespace porthole::test
