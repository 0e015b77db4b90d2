#pragma once
// Test helpers: child processes with captured output, killed when the
// handle goes away (also when a test fails), a private temp dir, and an Xvfb
// server on a display number it picks itself (-displayfd).

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace porthole::test {

class Process {
  public:
    Process() = default;
    // Starts argv[0] with argv; stdout and stderr go to the given files;
    // extra_env entries ("NAME=value") are added to the environment.
    Process(const std::vector<std::string>& argv, const std::string& out_path,
            const std::string& err_path, const std::vector<std::string>& extra_env = {}) {
        pid_ = fork();
        if (pid_ == 0) {
            const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            dup2(out, 1);
            dup2(err, 2);
            for (const auto& e : extra_env)
                putenv(const_cast<char*>(e.c_str()));
            std::vector<char*> args;
            for (const auto& a : argv)
                args.push_back(const_cast<char*>(a.c_str()));
            args.push_back(nullptr);
            execv(args[0], args.data());
            _exit(127);
        }
    }
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;
    Process(Process&& o) noexcept : pid_(o.pid_), status_(o.status_) { o.pid_ = -1; }
    Process& operator=(Process&& o) noexcept {
        if (this != &o) {
            kill_now();
            pid_ = o.pid_;
            status_ = o.status_;
            o.pid_ = -1;
        }
        return *this;
    }
    ~Process() { kill_now(); }

    [[nodiscard]] pid_t pid() const { return pid_; }
    // Exit code after the process ends within `limit`; nullopt on timeout
    // (the process is then killed) or a death by signal.
    std::optional<int> wait_exit(std::chrono::milliseconds limit) {
        const auto end = std::chrono::steady_clock::now() + limit;
        while (pid_ > 0) {
            int st = 0;
            const pid_t r = waitpid(pid_, &st, WNOHANG);
            if (r == pid_) {
                pid_ = -1;
                if (WIFEXITED(st)) return status_ = WEXITSTATUS(st);
                return std::nullopt;
            }
            if (std::chrono::steady_clock::now() > end) {
                kill_now();
                return std::nullopt;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return status_;
    }
    // Whether it still runs; once it ended, wait_exit() gives its exit code.
    [[nodiscard]] bool running() {
        if (pid_ <= 0) return false;
        int st = 0;
        const pid_t r = waitpid(pid_, &st, WNOHANG);
        if (r == pid_) {  // reaped here: keep the code, or it is lost
            pid_ = -1;
            if (WIFEXITED(st)) status_ = WEXITSTATUS(st);
            return false;
        }
        return r == 0;
    }
    // SIGTERM, then the exit code.
    std::optional<int> terminate(
        std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
        if (pid_ > 0) kill(pid_, SIGTERM);
        return wait_exit(limit);
    }

  private:
    void kill_now() {
        if (pid_ > 0) {
            kill(pid_, SIGKILL);
            int st = 0;
            waitpid(pid_, &st, 0);
            pid_ = -1;
        }
    }
    pid_t pid_ = -1;
    std::optional<int> status_;
};

inline std::string read_text(const std::string& path) {
    std::ifstream f(path);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

class TempDir {
  public:
    TempDir() {
        std::string tmpl =
            (std::filesystem::temp_directory_path() / "porthole-render-XXXXXX").string();
        path_ = mkdtemp(tmpl.data());
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    [[nodiscard]] std::string file(const std::string& name) const {
        return (path_ / name).string();
    }

  private:
    std::filesystem::path path_;
};

// A private X server; DISPLAY value once started.
class Xvfb {
  public:
    Xvfb() {
        int fds[2];
        if (pipe(fds) != 0) return;
        pid_ = fork();
        if (pid_ == 0) {
            close(fds[0]);
            const std::string fd = std::to_string(fds[1]);
            const int null = open("/dev/null", O_WRONLY);
            dup2(null, 1);
            dup2(null, 2);
            execlp("Xvfb", "Xvfb", "-displayfd", fd.c_str(), "-screen", "0", "1920x1080x24",
                   "-nolisten", "tcp",
                   // No reset when the last client leaves: a client started
                   // then would find the server refusing connections.
                   "-noreset", static_cast<char*>(nullptr));
            _exit(127);
        }
        close(fds[1]);
        std::string number;
        char c = 0;
        // -displayfd writes the chosen number and a newline once the server accepts clients.
        while (read(fds[0], &c, 1) == 1 && c != '\n')
            number += c;
        close(fds[0]);
        if (!number.empty()) display_ = ":" + number;
    }
    Xvfb(const Xvfb&) = delete;
    Xvfb& operator=(const Xvfb&) = delete;
    ~Xvfb() {
        if (pid_ > 0) {
            kill(pid_, SIGTERM);
            int st = 0;
            waitpid(pid_, &st, 0);
        }
    }
    [[nodiscard]] const std::string& display() const { return display_; }

  private:
    pid_t pid_ = -1;
    std::string display_;
};

}  // namespace porthole::test
