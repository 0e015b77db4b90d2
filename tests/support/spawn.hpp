#pragma once
// Starting a program for a test: forked, its stdout and stderr in a log file.

#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace porthole::testing {

// Runs `args` (args[0] found on PATH, or a path) with stdout and stderr in
// `log`; `new_session` puts it in its own session (signals to the test's
// process group miss it). Returns the child's pid, -1 when fork failed.
inline pid_t spawn_logged(std::vector<std::string> args, const std::string& log,
                          bool new_session = false) {
    const pid_t pid = ::fork();
    if (pid != 0) return pid;
    if (new_session) ::setsid();
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

}  // namespace porthole::testing
