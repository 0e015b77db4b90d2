#pragma once
// The kernel command line as the boot configuration will give it at the next boot:
// GRUB's /etc/default/grub (+ grub.d/*.cfg, read as the shell sources them),
// kernel-install's /etc/kernel/cmdline, and systemd-boot loader entries; and
// edits that add flags while keeping every other byte of those files.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "porthole/vfio/shell.hpp"
#include "porthole/vfio/system.hpp"

namespace porthole::vfio {

// Words of a kernel command line, split as the kernel does (double quotes group).
[[nodiscard]] std::vector<std::string> kernel_cmdline_words(std::string_view text);
// True when `flag` is among `words`: the same word, or the same parameter (with '-'
// and '_' alike) whose comma-separated values include all of the flag's.
[[nodiscard]] bool kernel_flag_present(const std::vector<std::string>& words,
                                       std::string_view flag);
// Words giving `flag`'s parameter another value (they lose: the kernel takes the last).
[[nodiscard]] std::vector<std::string> kernel_flag_conflicts(const std::vector<std::string>& words,
                                                             std::string_view flag);

struct BootFile {
    std::string path;  // logical
    std::string text;
};

// GRUB's defaults as grub-mkconfig sources them: /etc/default/grub, then
// /etc/default/grub.d/*.cfg in name order.
struct GrubDefaults {
    std::vector<BootFile> files;
    std::vector<ShellScan> scans;  // one per file
    ShellEnv env;                  // after every file
};

inline constexpr const char* kGrubDefault = "/etc/default/grub";
inline constexpr const char* kGrubCmdline = "GRUB_CMDLINE_LINUX";
inline constexpr const char* kGrubCmdlineDefault = "GRUB_CMDLINE_LINUX_DEFAULT";

// Every file read; any file that exists but cannot be read, or that the shell would
// reject, is an Error naming it.
[[nodiscard]] Result<GrubDefaults> read_grub_defaults(const System& sys);
// The words the normal boot entries get: GRUB_CMDLINE_LINUX then _DEFAULT. An Error
// when a value depends on something not modelled (a command, $(...), a condition).
[[nodiscard]] Result<std::vector<std::string>> grub_kernel_words(const GrubDefaults& grub);
// Adds `flags` to the effective GRUB_CMDLINE_LINUX_DEFAULT assignment (the last one
// the shell runs, whichever file holds it), or appends an assignment to
// /etc/default/grub when there is none. Returns the one changed file, after
// checking that sourcing the result gives the old value plus the flags and leaves
// every other variable as it was.
[[nodiscard]] Result<BootFile> grub_add_flags(const GrubDefaults& grub,
                                              const std::vector<std::string>& flags);

// A one-line command line file (/etc/kernel/cmdline) with `flags` appended after its
// last word; everything else kept.
[[nodiscard]] std::string append_to_cmdline_text(std::string_view text,
                                                 const std::vector<std::string>& flags);

// systemd-boot loader entries (Type #1): the words of every `options` line.
[[nodiscard]] std::vector<std::string> loader_entry_words(std::string_view entry);
// True for an entry that boots a Linux kernel (has a `linux` key).
[[nodiscard]] bool loader_entry_is_linux(std::string_view entry);
// `flags` appended to the entry's last `options` line (or a new one).
[[nodiscard]] std::string loader_entry_add_flags(std::string_view entry,
                                                 const std::vector<std::string>& flags);
// The directory holding loader entries (/boot, /efi or /boot/efi), if any.
[[nodiscard]] std::optional<std::string> loader_entries_dir(const System& sys);

}  // namespace porthole::vfio
