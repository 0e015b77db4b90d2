#pragma once
// Boot-time configuration so the passed devices reach vfio-pci before any host
// driver: kernel command line (GRUB or systemd-boot), modprobe.d softdeps, and
// the initramfs (initramfs-tools, dracut, mkinitcpio).

#include <string>
#include <vector>

#include "porthole/vfio/pci.hpp"

namespace porthole::vfio {

struct PersistFile {
    std::string path;  // logical
    std::string content;
    unsigned mode = 0644;
    std::string purpose;
};

struct PersistOptions {
    std::vector<std::string> bdfs = {};  // devices for vfio-pci at boot
    std::string hugepages = {};          // e.g. "16G": reserved at boot; empty: none
    std::string hugepage_size = {};      // "2M" or "1G"; empty: the host's default choice
    bool force = false;                  // take what the host needs anyway
};

struct PersistPlan {
    std::vector<std::string> cmdline_add;  // flags the boot configuration lacks
    std::string bootloader;                // "grub", "systemd-boot", "unknown"
    std::vector<std::string> initramfs;    // generators found: "initramfs-tools", ...
    bool uses_ids = false;                 // vfio-pci.ids (else the driver_override rule)
    std::vector<PersistFile> files;
    std::vector<std::vector<std::string>> commands;  // run after writing, in order
    std::vector<std::string> notes;
};

inline constexpr const char* kOverrideScript = "/usr/local/sbin/porthole-vfio-override";
inline constexpr const char* kModprobeConf = "/etc/modprobe.d/porthole-vfio.conf";
inline constexpr const char* kVendorResetRule = "/etc/udev/rules.d/99-porthole-vendor-reset.rules";
inline constexpr const char* kVendorResetLoad = "/etc/modules-load.d/porthole-vendor-reset.conf";

// Compares with the boot configuration it would edit (GRUB defaults, /etc/kernel/cmdline
// or systemd-boot entries), never with the running kernel's /proc/cmdline. Any boot
// file that exists but cannot be read is an Error: nothing is planned from a guess.
// Refuses without `force` to give vfio-pci what the host needs at boot (root disk,
// only keyboard, default route, or its only display).
[[nodiscard]] Result<PersistPlan> plan_persist(const System& sys, const PciIds& ids,
                                               const PersistOptions& options);
// Writes every file (atomically, each replaced file kept as a backup) and runs every
// command, in order; under another --root the commands are listed, not run.
[[nodiscard]] Status apply_persist(System& sys, const PersistPlan& plan);

}  // namespace porthole::vfio
