#pragma once
// A child process for the X11 integration tests: started with posix_spawn
// (stdout and stderr into a file), killed and reaped by the destructor.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace porthole::testing {

// A child process started with posix_spawn, killed and reaped by the destructor.
class Child {
  public:
    Child(std::vector<std::string> argv, const std::vector<std::string>& extra_env,
          const std::string& stdout_path) {
        std::vector<std::string> env_store;
        for (char** e = environ; *e != nullptr; ++e)
            env_store.emplace_back(*e);
        for (const auto& e : extra_env)
            env_store.push_back(e);
        std::vector<char*> args, envp;
        for (auto& a : argv)
            args.push_back(a.data());
        args.push_back(nullptr);
        for (auto& e : env_store)
            envp.push_back(e.data());
        envp.push_back(nullptr);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 1, stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                         0600);
        posix_spawn_file_actions_adddup2(&fa, 1, 2);  // the log too
        if (posix_spawn(&pid_, args[0], &fa, nullptr, args.data(), envp.data()) != 0) pid_ = -1;
        posix_spawn_file_actions_destroy(&fa);
    }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;
    ~Child() {
        if (pid_ > 0 && !exited_) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
    }
    [[nodiscard]] bool started() const { return pid_ > 0; }
    // The exit code once the process has exited, else -1 (never blocks).
    int poll_exit() {
        if (exited_) return code_;
        int st = 0;
        if (waitpid(pid_, &st, WNOHANG) == pid_) {
            exited_ = true;
            code_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        return exited_ ? code_ : -1;
    }
    // SIGTERM, then the exit code (SIGKILL after 5 s).
    int terminate() {
        if (!exited_) kill(pid_, SIGTERM);
        for (int i = 0; i < 500 && poll_exit() < 0; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        if (!exited_) kill(pid_, SIGKILL);
        while (poll_exit() < 0)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        return code_;
    }

  private:
    pid_t pid_ = -1;
    bool exited_ = false;
    int code_ = -1;
};

}  // namespace porthole::testing
