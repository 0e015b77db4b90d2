#include "porthole/vfio/system.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>

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

// Writes all of `data`, continuing after short writes; the Error carries the errno of
// the call that failed (EFBIG, ENOSPC, EIO...).
Status write_all(int fd, std::string_view data) {
    size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return Error::make(errno_text(errno), errno);
        if (n == 0) return Error::make(errno_text(EIO), EIO);
        done += static_cast<size_t>(n);
    }
    return {};
}

// fchmod, except where the filesystem has no modes: the ESP holding systemd-boot's
// entries is FAT, whose chmod fails with EPERM.
bool set_mode(int fd, unsigned mode) {
    if (::fchmod(fd, mode) == 0) return true;
    int err = errno;
    struct statfs fs_info {};
    constexpr long kMsdos = 0x4d44, kExfat = 0x2011BAB0;
    if (err == EPERM && ::fstatfs(fd, &fs_info) == 0 &&
        (fs_info.f_type == kMsdos || fs_info.f_type == kExfat)) {
        return true;
    }
    errno = err;
    return false;
}

Status sync_directory(const fs::path& dir) {
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd || ::fsync(fd.get()) != 0) return Error::make(errno_text(errno), errno);
    return {};
}

// Puts `data` at `target` atomically: a temp file beside it (mode 0600 until complete),
// fsync, the final mode, rename over the target, fsync of the directory. On failure the
// temp file is removed and the target is untouched. `shown` is the path for messages.
Status atomic_write(const fs::path& target, const std::string& shown, std::string_view data,
                    unsigned mode) {
    const fs::path dir = target.parent_path();
    // Hidden and without the original suffix, so no *.conf / *.cfg / *.rules reader picks it up.
    std::string temp_name = ".";
    temp_name += target.filename().string();
    temp_name += ".porthole-XXXXXX";
    std::string temp = (dir / temp_name).string();
    const std::string shown_temp =
        (fs::path(shown).parent_path() / fs::path(temp).filename()).string();
    UniqueFd fd(::mkostemp(temp.data(), O_CLOEXEC));
    if (!fd) {
        int err = errno;
        return Error::make(
            fmt::format("cannot write {}: creating a temporary file in {} failed: "
                        "{}; {} is unchanged",
                        shown, fs::path(shown).parent_path().string(), errno_text(err), shown),
            err);
    }
    auto fail = [&](const std::string& step, const Error& e) -> Status {
        ::unlink(temp.c_str());
        return Error::make(fmt::format("cannot write {}: {} failed: {}; {} is unchanged", shown,
                                       step, e.message, shown),
                           e.code);
    };
    if (!set_mode(fd.get(), 0600)) return fail("fchmod", Error::make(errno_text(errno), errno));
    if (auto s = write_all(fd.get(), data); !s) {
        return fail(fmt::format("writing {} bytes to {}", data.size(), shown_temp), s.error());
    }
    if (::fsync(fd.get()) != 0) {
        return fail("fsync of " + shown_temp, Error::make(errno_text(errno), errno));
    }
    if (!set_mode(fd.get(), mode)) {
        return fail("fchmod of " + shown_temp, Error::make(errno_text(errno), errno));
    }
    int raw = fd.release();
    if (::close(raw) != 0)
        return fail("closing " + shown_temp, Error::make(errno_text(errno), errno));
    if (::rename(temp.c_str(), target.c_str()) != 0) {
        return fail(fmt::format("renaming {} over it", shown_temp),
                    Error::make(errno_text(errno), errno));
    }
    if (auto s = sync_directory(dir); !s) {
        return Error::make(fmt::format("{} was replaced, but syncing its directory failed: {}",
                                       shown, s.error().message),
                           s.error().code);
    }
    return {};
}

Result<std::string> read_physical(const fs::path& physical, std::string_view shown) {
    UniqueFd fd(::open(physical.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        int err = errno;
        return Error::make(fmt::format("cannot read {}: {}", shown, errno_text(err)), err);
    }
    constexpr size_t kLimit = size_t{256} << 20;  // no file this tool reads comes close
    std::string out;
    char buf[65536];
    while (true) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int err = errno;
            return Error::make(fmt::format("reading {} failed: {}", shown, errno_text(err)), err);
        }
        if (n == 0) break;
        out.append(buf, static_cast<size_t>(n));
        if (out.size() > kLimit) {
            return Error::make(fmt::format("{} is larger than {} MiB: not a file this tool reads",
                                           shown, kLimit >> 20),
                               EFBIG);
        }
    }
    return out;
}

// A config file: created with its parents, or replaced atomically with a backup of the
// old content beside it (mode 0600, so a hook directory never runs it).
Status write_new(const fs::path& physical, const Action& action) {
    std::error_code ec;
    fs::create_directories(physical.parent_path(), ec);
    if (ec) {
        return Error::make(fmt::format("cannot create {}: {}",
                                       fs::path(action.path).parent_path().string(), ec.message()),
                           ec.value());
    }
    fs::path target = physical;
    if (fs::is_symlink(fs::symlink_status(physical, ec))) {
        target = fs::canonical(physical, ec);
        if (ec) {
            return Error::make(fmt::format("cannot write {}: it is a symlink that does not "
                                           "resolve ({}); nothing was written",
                                           action.path, ec.message()),
                               ec.value());
        }
    }
    if (!action.backup.empty()) {
        auto old = read_physical(target, action.path);
        if (!old) {
            return Error::make(old.error().message +
                                   "; nothing was written (the old content "
                                   "could not be kept as a backup)",
                               old.error().code);
        }
        const fs::path backup = physical.parent_path() / fs::path(action.backup).filename();
        if (auto s = atomic_write(backup, action.backup, *old, 0600); !s) {
            return Error::make(s.error().message + "; " + action.path + " is unchanged",
                               s.error().code);
        }
    }
    return atomic_write(target, action.path, action.value, action.mode);
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
    // Sized for kMaxCpuId, past the fixed cpu_set_t's 1024 CPUs.
    constexpr int kCount = kMaxCpuId + 1;
    std::unique_ptr<cpu_set_t, void (*)(cpu_set_t*)> set(CPU_ALLOC(kCount),
                                                         [](cpu_set_t* p) { CPU_FREE(p); });
    if (!set) return Error::make("out of memory for a CPU set", ENOMEM);
    const size_t bytes = CPU_ALLOC_SIZE(kCount);
    CPU_ZERO_S(bytes, set.get());
    for (int cpu : parse_cpu_list(action.value))
        CPU_SET_S(static_cast<size_t>(cpu), bytes, set.get());
    if (::sched_setaffinity(static_cast<pid_t>(action.thread_id), bytes, set.get()) != 0) {
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
            if (!action.backup.empty()) {
                return fmt::format("replace {} (mode {:04o}, {} bytes; the old one kept as {})",
                                   action.path, action.mode, action.value.size(), action.backup);
            }
            return fmt::format("create {} (mode {:04o}, {} bytes)", action.path, action.mode,
                               action.value.size());
        case ActionKind::RemoveFile:
            return fmt::format("remove {}", action.path);
        case ActionKind::RunCommand: {
            std::string line = action.not_run ? "not run (--root is another system):" : "run";
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
    return read_physical(physical(logical), logical);
}

Result<std::optional<std::string>> System::read_if_exists(std::string_view logical) const {
    auto text = read(logical);
    if (text) return std::optional<std::string>(std::move(*text));
    if (text.error().code == ENOENT || text.error().code == ENOTDIR) {
        return std::optional<std::string>();
    }
    return text.error();
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

std::optional<fs::path> System::canonical(std::string_view logical) const {
    std::error_code ec;
    fs::path p = fs::canonical(physical(logical), ec);
    if (ec) return std::nullopt;
    return p;
}

bool System::commands_run_here() const {
    std::error_code ec;
    return roots_.root.lexically_normal() == "/" || fs::equivalent(roots_.root, "/", ec);
}

Status System::perform(Action action) {
    if (action.kind == ActionKind::RunCommand && !commands_run_here()) {
        // The files went to another system: its commands must not touch this one.
        if (chroot_commands_) {
            action.argv.insert(action.argv.begin(), {"chroot", roots_.root.string()});
        } else {
            action.not_run = true;
            journal_.push_back(std::move(action));
            return {};
        }
    }
    fs::path where = action.path.empty() ? fs::path() : physical(action.path);
    journal_.push_back(action);
    return backend_->apply(journal_.back(), where);
}

namespace {

// Where the old content of `logical` goes: FILE.porthole-bak, unless that already holds
// something else (an earlier original), then FILE.porthole-bak-<time>. Empty when the
// existing backup already has exactly this content.
std::string choose_backup(const System& sys, const std::string& logical, const std::string& old) {
    const std::string first = logical + ".porthole-bak";
    auto existing = sys.read_if_exists(first);
    if (existing && !*existing && !sys.exists(first)) return first;
    if (existing && *existing && **existing == old) return {};
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    ::localtime_r(&now, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    std::string name = logical + ".porthole-bak-" + stamp;
    for (int i = 2; sys.exists(name); ++i)
        name = logical + ".porthole-bak-" + stamp + "-" + std::to_string(i);
    return name;
}

}  // namespace

Status System::write_attribute(std::string logical, std::string value) {
    Action a;
    a.kind = ActionKind::WriteAttribute;
    a.path = std::move(logical);
    a.value = std::move(value);
    return perform(std::move(a));
}

Status System::write_file(std::string logical, std::string content, unsigned mode) {
    // What is there now decides the backup; a file that cannot be read is never replaced.
    auto old = read_if_exists(logical);
    if (!old) {
        return Error::make(old.error().message + "; nothing was written", old.error().code);
    }
    Action a;
    a.kind = ActionKind::WriteFile;
    if (*old && **old != content) a.backup = choose_backup(*this, logical, **old);
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

std::optional<uint64_t> parse_decimal(std::string_view text, uint64_t max) {
    if (text.empty() || text.size() > 20) return std::nullopt;
    uint64_t value = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 10);
    if (ec != std::errc() || ptr != text.data() + text.size() || value > max) return std::nullopt;
    return value;
}

std::vector<int> parse_cpu_list(std::string_view text) {
    // Ranges are merged as intervals, so the work is bounded by the text, not its numbers.
    std::vector<std::pair<int, int>> ranges;
    for (const auto& piece : split(text, ",\n \t")) {
        auto dash = piece.find('-');
        auto lo = parse_decimal(std::string_view(piece).substr(0, dash), kMaxCpuId);
        auto hi = dash == std::string::npos
                      ? lo
                      : parse_decimal(std::string_view(piece).substr(dash + 1), kMaxCpuId);
        if (!lo || !hi || *lo > *hi) continue;  // callers treat the list as a hint
        ranges.emplace_back(static_cast<int>(*lo), static_cast<int>(*hi));
    }
    std::sort(ranges.begin(), ranges.end());
    std::vector<int> cpus;
    int next = 0;  // first CPU not yet emitted
    for (const auto& [lo, hi] : ranges) {
        for (int c = std::max(lo, next); c <= hi; ++c)
            cpus.push_back(c);
        next = std::max(next, hi + 1);
    }
    return cpus;
}

std::string valid_utf8(std::string_view text) {
    static constexpr const char* kReplacement = "\xEF\xBF\xBD";
    std::string out;
    out.reserve(text.size());
    size_t i = 0;
    auto byte = [&](size_t at) { return static_cast<unsigned char>(text[at]); };
    while (i < text.size()) {
        unsigned char c = byte(i);
        size_t len = c < 0x80           ? 1
                     : (c >> 5) == 0x6  ? 2
                     : (c >> 4) == 0xE  ? 3
                     : (c >> 3) == 0x1E ? 4
                                        : 0;
        bool ok = len > 0 && i + len <= text.size();
        for (size_t k = 1; ok && k < len; ++k)
            ok = (byte(i + k) & 0xC0) == 0x80;
        if (ok && len > 1) {
            uint32_t cp = c & (0xFF >> (len + 1));
            for (size_t k = 1; k < len; ++k)
                cp = (cp << 6) | (byte(i + k) & 0x3F);
            const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
            ok = cp >= min[len] && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
        }
        if (ok) {
            out.append(text.substr(i, len));
            i += len;
        } else {
            out += kReplacement;
            ++i;
        }
    }
    return out;
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
