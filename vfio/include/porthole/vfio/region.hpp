#pragma once
// The shared region's permissions: a systemd-tmpfiles rule that creates the
// region file (/dev/shm/porthole) before the VM starts, owned by the desktop
// user and QEMU's group with mode 0660, so QEMU (running as libvirt's QEMU
// user) and the client can both map it, at every boot.

#include <optional>
#include <string>
#include <vector>

#include "porthole/vfio/system.hpp"

namespace porthole::vfio {

inline constexpr const char* kRegionRuleFile = "/etc/tmpfiles.d/porthole.conf";

struct RegionRuleOptions {
    std::string user = {};   // the desktop user who runs porthole
    std::string vm = {};     // a libvirt domain: its <shmem name='X'> gives /dev/shm/X
    std::string path = {};   // the region file; default /dev/shm/porthole (or the VM's)
    std::string group = {};  // default: QEMU's group (qemu.conf, else libvirt-qemu, qemu, kvm)
};

struct RegionRule {
    std::string path;
    std::string user;
    std::string group;
    std::string group_source;  // why this group: "group in /etc/libvirt/qemu.conf", ...
    std::string line;          // "f /dev/shm/porthole 0660 alice libvirt-qemu -"
    std::string content;       // the whole new rule file (other regions' lines kept)
    std::vector<std::string> notes;
};

// The rule for the options, checked against /etc/passwd and /etc/group under the root.
[[nodiscard]] Result<RegionRule> plan_region_rule(const System& sys,
                                                  const RegionRuleOptions& options);
// Writes kRegionRuleFile (atomically, the old one kept as a backup) and, on this
// machine, runs systemd-tmpfiles so the file is right now, not only after a reboot.
[[nodiscard]] Status apply_region_rule(System& sys, const RegionRule& rule);

// The tmpfiles.d line for `path` in kRegionRuleFile, when there is one.
[[nodiscard]] std::optional<std::string> region_rule_line(const System& sys,
                                                          const std::string& path);

}  // namespace porthole::vfio
