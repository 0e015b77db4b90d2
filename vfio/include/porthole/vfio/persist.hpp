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

struct PersistPlan {
    std::vector<std::string> cmdline_add;  // flags not yet on the command line
    std::string bootloader;                // "grub", "systemd-boot", "unknown"
    std::vector<std::string> initramfs;    // generators found: "initramfs-tools", ...
    bool uses_ids = false;                 // vfio-pci.ids (else the driver_override rule)
    std::vector<PersistFile> files;
    std::vector<std::vector<std::string>> commands;  // run after writing, in order
    std::vector<std::string> notes;
};

inline constexpr const char* kOverrideScript = "/usr/local/sbin/porthole-vfio-override";
inline constexpr const char* kModprobeConf = "/etc/modprobe.d/porthole-vfio.conf";

[[nodiscard]] Result<PersistPlan> plan_persist(const System& sys, const PciIds& ids,
                                               const std::vector<std::string>& bdfs);
// Writes every file and runs every command, in order.
[[nodiscard]] Status apply_persist(System& sys, const PersistPlan& plan);

}  // namespace porthole::vfio
