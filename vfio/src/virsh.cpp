#include "porthole/vfio/virsh.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include <fmt/format.h>

#include "porthole/util/unique_fd.hpp"

namespace porthole::vfio {

namespace {

struct Pipe {
    UniqueFd read;
    UniqueFd write;
};

Result<Pipe> make_pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        return Error::make(fmt::format("pipe failed: {}", std::strerror(errno)), errno);
    }
    return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// A child that exits before reading all its input must not kill us with SIGPIPE:
// block it for this thread around the write and drop one raised by it.
ssize_t write_no_sigpipe(int fd, std::string_view data) {
    sigset_t pipe_set, old;
    ::sigemptyset(&pipe_set);
    ::sigaddset(&pipe_set, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    ssize_t w = ::write(fd, data.data(), data.size());
    const int saved = errno;
    if (w < 0 && saved == EPIPE) {
        const timespec zero{0, 0};
        ::sigtimedwait(&pipe_set, nullptr, &zero);
    }
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    errno = saved;
    return w;
}

std::string first_line(const std::string& text) {
    std::string t = text;
    while (!t.empty() && (t.back() == '\n' || t.back() == ' '))
        t.pop_back();
    return t;
}

}  // namespace

Result<CommandOutput> run_captured(const std::vector<std::string>& argv, std::string_view input,
                                   int timeout_s) {
    if (argv.empty()) return Error::make("empty command");
    auto in = make_pipe();
    auto out = make_pipe();
    auto err = make_pipe();
    if (!in) return in.error();
    if (!out) return out.error();
    if (!err) return err.error();
    std::vector<char*> args;
    for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) return Error::make(fmt::format("fork failed: {}", std::strerror(errno)), errno);
    if (pid == 0) {
        ::dup2(in->read.get(), STDIN_FILENO);
        ::dup2(out->write.get(), STDOUT_FILENO);
        ::dup2(err->write.get(), STDERR_FILENO);
        ::execvp(args[0], args.data());
        ::_exit(127);
    }
    in->read.reset();
    out->write.reset();
    err->write.reset();
    ::fcntl(in->write.get(), F_SETFL, O_NONBLOCK);

    CommandOutput result;
    size_t written = 0;
    if (input.empty()) in->write.reset();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    bool timed_out = false;
    while (out->read || err->read) {
        pollfd fds[3];
        nfds_t n = 0;
        UniqueFd* owners[3];
        for (UniqueFd* f : {&out->read, &err->read}) {
            if (*f) {
                fds[n] = {f->get(), POLLIN, 0};
                owners[n++] = f;
            }
        }
        if (in->write) {
            fds[n] = {in->write.get(), POLLOUT, 0};
            owners[n++] = &in->write;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            timed_out = true;
            break;
        }
        int r = ::poll(fds, n, static_cast<int>(left.count()));
        if (r < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (nfds_t i = 0; i < n; ++i) {
            if (fds[i].revents == 0) continue;
            if (owners[i] == &in->write) {
                ssize_t w = write_no_sigpipe(in->write.get(), input.substr(written));
                if (w > 0) written += static_cast<size_t>(w);
                if (w < 0 && errno != EAGAIN && errno != EINTR) in->write.reset();
                if (written == input.size()) in->write.reset();
                continue;
            }
            char buf[65536];
            ssize_t got = ::read(fds[i].fd, buf, sizeof(buf));
            if (got > 0) {
                (owners[i] == &out->read ? result.out : result.err)
                    .append(buf, static_cast<size_t>(got));
            } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
                owners[i]->reset();
            }
        }
    }
    if (timed_out) ::kill(pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return Error::make("waitpid failed", errno);
    }
    if (timed_out) {
        return Error::make(
            fmt::format("'{}' did not finish within {} s and was stopped", argv[0], timeout_s));
    }
    result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return result;
}

std::vector<std::string> Virsh::base() const {
    std::vector<std::string> argv{"virsh", "-q"};
    if (!uri_.empty()) {
        argv.push_back("-c");
        argv.push_back(uri_);
    }
    return argv;
}

std::string Virsh::describe() const {
    return uri_.empty() ? "virsh" : "virsh -c " + uri_;
}

Result<std::optional<std::string>> Virsh::inactive_xml(const std::string& name) const {
    auto argv = base();
    // --domain: a name starting with '-' is not taken for an option.
    argv.insert(argv.end(), {"dumpxml", "--inactive", "--security-info", "--domain", name});
    auto r = run_captured(argv);
    if (!r) return r.error();
    if (r->status == 127) {
        return Error::make(
            "virsh is not installed (Debian: libvirt-clients, Fedora: "
            "libvirt-client, Arch: libvirt)");
    }
    if (r->status != 0) {
        // "failed to get domain" is libvirt's VIR_ERR_NO_DOMAIN wording in virsh.
        if (r->err.find("failed to get domain") != std::string::npos ||
            r->err.find("Domain not found") != std::string::npos) {
            return std::optional<std::string>{};
        }
        return Error::make(
            fmt::format("`{} dumpxml {}` failed: {}", describe(), name, first_line(r->err)));
    }
    return std::optional<std::string>{r->out};
}

Status Virsh::define(const std::string& xml) const {
    auto argv = base();
    argv.insert(argv.end(), {"define", "--file", "/dev/stdin"});
    auto r = run_captured(argv, xml);
    if (!r) return r.error();
    if (r->status == 127) return Error::make("virsh is not installed (Debian: libvirt-clients)");
    if (r->status != 0) {
        return Error::make(
            fmt::format("`{} define` refused the domain: {}", describe(), first_line(r->err)));
    }
    return {};
}

}  // namespace porthole::vfio
