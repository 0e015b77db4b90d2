#include "porthole/vfio/system.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "porthole/util/unique_fd.hpp"

namespace porthole::vfio {

namespace {

bool has_prefix(std::string_view path, std::string_view prefix) {
    return path == prefix ||
           (path.size() > prefix.size() && path.starts_with(prefix) && path[prefix.size()] == '/');
}

std::string errno_text(int err) {
    return std::strerror(err);
}

Status write_existing(const fs::path& physical, const Action& action) {
    UniqueFd fd(::open(physical.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
    if (!fd) {
        int err = errno;
        return Error::make(
            fmt::format("cannot open {} for writing: {}", action.path, errno_text(err)), err);
    }
    const std::string& v = action.value;
    ssize_t n = ::write(fd.get(), v.data(), v.size());
    if (n < 0 || static_cast<size_t>(n) != v.size()) {
        int err = n < 0 ? errno : EIO;
        return Error::make(
            fmt::format("writing '{}' to {} failed: {}", trim(v), action.path, errno_text(err)),
            err);
    }
    return {};
}

Status write_new(const fs::path& physical, const Action& action) {
    std::error_code ec;
    fs::create_directories(physical.parent_path(), ec);
    if (ec) {
        return Error::make(fmt::format("cannot create {}: {}",
                                       fs::path(action.path).parent_path().string(), ec.message()),
                           ec.value());
    }
    UniqueFd fd(::open(physical.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, action.mode));
    if (!fd) {
        int err = errno;
        return Error::make(fmt::format("cannot create {}: {}", action.path, errno_text(err)), err);
    }
    const std::string& v = action.value;
    if (::write(fd.get(), v.data(), v.size()) != static_cast<ssize_t>(v.size()) ||
        ::fchmod(fd.get(), action.mode) != 0) {
        int err = errno;
        return Error::make(fmt::format("cannot write {}: {}", action.path, errno_text(err)), err);
    }
    return {};
}

Status run_command(const Action& action) {
    if (action.argv.empty()) return Error::make("empty command");
    std::vector<char*> args;
    for (const auto& a : action.argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) return Error::make(fmt::format("fork failed: {}", errno_text(errno)), errno);
    if (pid == 0) {
        ::execvp(args[0], args.data());
        ::_exit(127);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return Error::make("waitpid failed", errno);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        return Error::make(fmt::format("'{}' failed (exit status {}){}", describe(action), code,
                                       code == 127 ? ": command not found" : ""));
    }
    return {};
}

Status set_thread_affinity(const Action& action) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int cpu : parse_cpu_list(action.value))
        CPU_SET(static_cast<size_t>(cpu), &set);
    if (::sched_setaffinity(static_cast<pid_t>(action.thread_id), sizeof(set), &set) != 0) {
        int err = errno;
        return Error::make(fmt::format("cannot pin thread {} to CPUs {}: {}", action.thread_id,
                                       action.value, errno_text(err)),
                           err);
    }
    return {};
}

}  // namespace

std::string describe(const Action& action) {
    switch (action.kind) {
        case ActionKind::WriteAttribute:
            return fmt::format("write {} <- {}", action.path,
                               trim(action.value).empty() ? "\"\\n\"" : trim(action.value));
        case ActionKind::WriteFile:
            return fmt::format("create {} (mode {:04o}, {} bytes)", action.path, action.mode,
                               action.value.size());
        case ActionKind::RemoveFile:
            return fmt::format("remove {}", action.path);
        case ActionKind::RunCommand: {
            std::string line = "run";
            for (const auto& a : action.argv)
                line += " " + a;
            return line;
        }
        case ActionKind::SetAffinity:
            return fmt::format("pin thread {} to CPUs {}", action.thread_id, action.value);
    }
    return "?";
}

Status RealBackend::apply(const Action& action, const fs::path& physical) {
    switch (action.kind) {
        case ActionKind::WriteAttribute:
            return write_existing(physical, action);
        case ActionKind::WriteFile:
            return write_new(physical, action);
        case ActionKind::RemoveFile: {
            std::error_code ec;
            fs::remove(physical, ec);
            if (ec) {
                return Error::make(fmt::format("cannot remove {}: {}", action.path, ec.message()),
                                   ec.value());
            }
            return {};
        }
        case ActionKind::RunCommand:
            return run_command(action);
        case ActionKind::SetAffinity:
            return set_thread_affinity(action);
    }
    return Error::make("unknown action");
}

System::System(Roots roots, std::unique_ptr<Backend> backend)
    : roots_(std::move(roots)), backend_(std::move(backend)) {}

fs::path System::physical(std::string_view logical) const {
    auto under = [&](const fs::path& base, std::string_view prefix) {
        std::string_view rest = logical.substr(prefix.size());
        while (!rest.empty() && rest.front() == '/')
            rest.remove_prefix(1);
        return rest.empty() ? base : base / rest;
    };
    if (has_prefix(logical, "/sys")) return under(roots_.sys, "/sys");
    if (has_prefix(logical, "/proc")) return under(roots_.proc, "/proc");
    return under(roots_.root, "");
}

Result<std::string> System::read(std::string_view logical) const {
    std::ifstream in(physical(logical), std::ios::binary);
    if (!in) {
        int err = errno;
        return Error::make(fmt::format("cannot read {}: {}", logical, errno_text(err)), err);
    }
    std::ostringstream buf;
    buf << in.rdbuf();
    if (in.bad()) return Error::make(fmt::format("cannot read {}", logical), EIO);
    return buf.str();
}

std::optional<std::string> System::read_trimmed(std::string_view logical) const {
    auto text = read(logical);
    if (!text) return std::nullopt;
    return trim(*text);
}

bool System::exists(std::string_view logical) const {
    std::error_code ec;
    return fs::exists(fs::symlink_status(physical(logical), ec));
}

std::optional<std::string> System::link_name(std::string_view logical) const {
    std::error_code ec;
    fs::path target = fs::read_symlink(physical(logical), ec);
    if (ec) return std::nullopt;
    return target.filename().string();
}

std::optional<System::FileInfo> System::stat(std::string_view logical) const {
    struct ::stat st {};
    if (::stat(physical(logical).c_str(), &st) != 0) return std::nullopt;
    return FileInfo{static_cast<uint64_t>(st.st_size), st.st_mode & 07777u, st.st_uid, st.st_gid};
}

std::vector<std::string> System::list(std::string_view logical) const {
    std::vector<std::string> names;
    std::error_code ec;
    for (fs::directory_iterator it(physical(logical), ec), end; !ec && it != end;
         it.increment(ec)) {
        names.push_back(it->path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
}

Status System::perform(Action action) {
    fs::path where = action.path.empty() ? fs::path() : physical(action.path);
    journal_.push_back(action);
    return backend_->apply(journal_.back(), where);
}

Status System::write_attribute(std::string logical, std::string value) {
    Action a;
    a.kind = ActionKind::WriteAttribute;
    a.path = std::move(logical);
    a.value = std::move(value);
    return perform(std::move(a));
}

Status System::write_file(std::string logical, std::string content, unsigned mode) {
    Action a;
    a.kind = ActionKind::WriteFile;
    a.path = std::move(logical);
    a.value = std::move(content);
    a.mode = mode;
    return perform(std::move(a));
}

Status System::remove_file(std::string logical) {
    Action a;
    a.kind = ActionKind::RemoveFile;
    a.path = std::move(logical);
    return perform(std::move(a));
}

Status System::run(std::vector<std::string> argv) {
    Action a;
    a.kind = ActionKind::RunCommand;
    a.argv = std::move(argv);
    return perform(std::move(a));
}

Status System::set_affinity(int64_t thread_id, std::string cpu_list) {
    Action a;
    a.kind = ActionKind::SetAffinity;
    a.thread_id = thread_id;
    a.value = std::move(cpu_list);
    return perform(std::move(a));
}

std::vector<int> parse_cpu_list(std::string_view text) {
    std::vector<int> cpus;
    for (const auto& piece : split(text, ",\n ")) {
        auto dash = piece.find('-');
        try {
            if (dash == std::string::npos) {
                cpus.push_back(std::stoi(piece));
            } else {
                int lo = std::stoi(piece.substr(0, dash));
                int hi = std::stoi(piece.substr(dash + 1));
                if (lo < 0 || hi - lo > 65536) continue;  // no kernel writes such a list
                for (int c = lo; c <= hi; ++c)
                    cpus.push_back(c);
            }
        } catch (const std::exception&) {
            // A malformed piece is skipped: callers treat the list as a hint.
        }
    }
    std::sort(cpus.begin(), cpus.end());
    cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
    return cpus;
}

std::string format_cpu_list(const std::vector<int>& input) {
    std::vector<int> cpus = input;
    std::sort(cpus.begin(), cpus.end());
    cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
    std::string out;
    for (size_t i = 0; i < cpus.size();) {
        size_t j = i;
        while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1)
            ++j;
        if (!out.empty()) out += ',';
        out += std::to_string(cpus[i]);
        if (j > i) {
            out += j == i + 1 ? ',' : '-';
            out += std::to_string(cpus[j]);
        }
        i = j + 1;
    }
    return out;
}

std::string trim(std::string_view text) {
    const char* ws = " \t\r\n";
    auto b = text.find_first_not_of(ws);
    if (b == std::string_view::npos) return {};
    auto e = text.find_last_not_of(ws);
    return std::string(text.substr(b, e - b + 1));
}

std::vector<std::string> split(std::string_view text, std::string_view separators) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < text.size()) {
        size_t j = text.find_first_of(separators, i);
        if (j == std::string_view::npos) j = text.size();
        if (j > i) out.emplace_back(text.substr(i, j - i));
        i = j + 1;
    }
    return out;
}

}  // namespace porthole::vfio
