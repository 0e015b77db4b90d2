#pragma once
// The one door to the host: reads of sysfs/procfs/config files under
// relocatable roots, and every side effect (attribute writes, config files,
// commands, CPU affinity) recorded in order and handed to a backend that
// performs it, prints it (--dry-run) or emulates the kernel (tests).

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "porthole/util/result.hpp"

namespace porthole::vfio {

namespace fs = std::filesystem;

// Where the logical paths /sys, /proc and / really live.
struct Roots {
    fs::path sys = "/sys";
    fs::path proc = "/proc";
    fs::path root = "/";  // config files (/etc, /usr/share, /dev/shm, /run)
};

enum class ActionKind {
    WriteAttribute,  // an existing sysfs/procfs file: never created
    WriteFile,       // a config file: created with `mode`, parents made
    RemoveFile,
    RunCommand,   // argv
    SetAffinity,  // thread `thread_id` to CPU list `value`
};

// One side effect, described with logical paths so it prints the same for any root.
struct Action {
    ActionKind kind = ActionKind::WriteAttribute;
    std::string path;   // logical path
    std::string value;  // bytes written, or the CPU list for SetAffinity
    unsigned mode = 0644;
    std::vector<std::string> argv;
    int64_t thread_id = 0;
    // WriteFile over an existing file: the logical path its old content is kept at.
    std::string backup;
    // RunCommand while --root is another system: listed for the user, never executed.
    bool not_run = false;
};

// One human-readable line per action ("write /sys/... <- vfio-pci").
[[nodiscard]] std::string describe(const Action& action);

// Performs actions. `physical` is the action's path resolved under the roots.
class Backend {
  public:
    virtual ~Backend() = default;
    [[nodiscard]] virtual Status apply(const Action& action, const fs::path& physical) = 0;
    // True when nothing really happens, so callers skip verification.
    [[nodiscard]] virtual bool dry_run() const { return false; }
};

// Writes files, runs commands (fork/exec, waits), calls sched_setaffinity. A config
// file is replaced atomically: temp file beside it, fsync, backup of the old content
// (never executable), rename, fsync of the directory; on any failure the file is
// left as it was and the error names the step and the kernel's reason.
class RealBackend : public Backend {
  public:
    [[nodiscard]] Status apply(const Action& action, const fs::path& physical) override;
};

// Records only.
class DryRunBackend : public Backend {
  public:
    [[nodiscard]] Status apply(const Action&, const fs::path&) override { return {}; }
    [[nodiscard]] bool dry_run() const override { return true; }
};

class System {
  public:
    System(Roots roots, std::unique_ptr<Backend> backend);

    [[nodiscard]] const Roots& roots() const { return roots_; }
    // Logical (/sys/..., /proc/..., /etc/...) to the path on disk.
    [[nodiscard]] fs::path physical(std::string_view logical) const;

    // Whole file; an Error names the path and the reason.
    [[nodiscard]] Result<std::string> read(std::string_view logical) const;
    // Whole file, nullopt when it does not exist; any other failure is an Error, so
    // callers never mistake an unreadable file for an empty one.
    [[nodiscard]] Result<std::optional<std::string>> read_if_exists(std::string_view logical) const;
    // Whole file with surrounding whitespace removed; nullopt when unreadable.
    [[nodiscard]] std::optional<std::string> read_trimmed(std::string_view logical) const;
    [[nodiscard]] bool exists(std::string_view logical) const;  // also a dangling symlink
    // Final component of a symlink's target (a driver or group name).
    [[nodiscard]] std::optional<std::string> link_name(std::string_view logical) const;
    struct FileInfo {
        uint64_t size = 0;
        unsigned mode = 0;  // permission bits
        unsigned uid = 0;
        unsigned gid = 0;
    };
    [[nodiscard]] std::optional<FileInfo> stat(std::string_view logical) const;
    // Entry names in a directory, sorted; empty when missing.
    [[nodiscard]] std::vector<std::string> list(std::string_view logical) const;
    // The path on disk with every symlink resolved; nullopt when it does not resolve.
    // Two sysfs paths are parent and child when one canonical path prefixes the other.
    [[nodiscard]] std::optional<fs::path> canonical(std::string_view logical) const;

    // True when --root is this machine's own /: only then do commands run.
    [[nodiscard]] bool commands_run_here() const;
    // With another --root: run commands inside it (chroot ROOT ...) instead of only
    // listing them. Off unless the user asks.
    void set_chroot_commands(bool on) { chroot_commands_ = on; }

    [[nodiscard]] Status write_attribute(std::string logical, std::string value);
    [[nodiscard]] Status write_file(std::string logical, std::string content, unsigned mode = 0644);
    [[nodiscard]] Status remove_file(std::string logical);
    [[nodiscard]] Status run(std::vector<std::string> argv);
    [[nodiscard]] Status set_affinity(int64_t thread_id, std::string cpu_list);

    [[nodiscard]] bool dry_run() const { return backend_->dry_run(); }
    // Every action attempted so far, in order (failed ones included). A WriteFile over
    // an existing file names its backup; a RunCommand under another --root is not_run.
    [[nodiscard]] const std::vector<Action>& journal() const { return journal_; }
    [[nodiscard]] Backend& backend() { return *backend_; }

  private:
    Status perform(Action action);

    Roots roots_;
    std::unique_ptr<Backend> backend_;
    std::vector<Action> journal_;
    bool chroot_commands_ = false;
};

// Highest CPU number accepted anywhere (the kernel's NR_CPUS limit on x86-64).
inline constexpr int kMaxCpuId = 8191;

// "0-3,8,10-11" <-> sorted CPU numbers. Pieces that are malformed or name a CPU
// above kMaxCpuId are dropped, so no list can make it loop or grow without bound.
[[nodiscard]] std::vector<int> parse_cpu_list(std::string_view text);
[[nodiscard]] std::string format_cpu_list(const std::vector<int>& cpus);

// A non-negative decimal number no greater than `max`; nullopt for anything else.
[[nodiscard]] std::optional<uint64_t> parse_decimal(std::string_view text, uint64_t max);
// `text` with every byte sequence that is not UTF-8 replaced by U+FFFD.
[[nodiscard]] std::string valid_utf8(std::string_view text);

// Trims ASCII whitespace from both ends.
[[nodiscard]] std::string trim(std::string_view text);
// Splits on any of `separators`, dropping empty pieces.
[[nodiscard]] std::vector<std::string> split(std::string_view text,
                                             std::string_view separators = " \t\n");

}  // namespace porthole::vfio
