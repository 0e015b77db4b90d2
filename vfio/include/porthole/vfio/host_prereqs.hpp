#pragma once
// What a host needs before it can run a passthrough VM: QEMU, a running libvirtd,
// OVMF (found the way QEMU and libvirt find it: firmware descriptors first), swtpm
// for a TPM, libvirt's default network; each missing piece with the package to
// install on this distribution.

#include <string>
#include <vector>

#include "porthole/vfio/doctor.hpp"
#include "porthole/vfio/system.hpp"

namespace porthole::vfio {

enum class Distro { Debian, Fedora, Arch, Unknown };

// From /etc/os-release (ID, then ID_LIKE): Ubuntu counts as Debian, RHEL as Fedora.
[[nodiscard]] Distro detect_distro(const System& sys);

// Packages for one need on each distribution family.
struct PackageNames {
    std::string debian;
    std::string fedora;
    std::string arch;
};
// "apt install ovmf" on Debian; every family's command when the distribution is unknown.
[[nodiscard]] std::string install_command(Distro distro, const PackageNames& packages);

// One UEFI firmware build usable for an x86_64 q35 guest (logical paths).
struct Firmware {
    std::string code;  // the read-only executable flash
    std::string vars;  // the NVRAM template copied per VM
    bool secure_boot = false;
    bool enrolled_keys = false;  // Microsoft's keys are in the template: Secure Boot is on
    bool requires_smm = false;
    std::string source;  // the descriptor it came from, or "known path"
};

// Every usable firmware, best first: QEMU's descriptors (/etc/qemu/firmware overriding
// /usr/share/qemu/firmware, in file name order; raw flash images only), or on a host
// without descriptors the known Debian, Fedora and Arch paths. Only files that exist.
[[nodiscard]] std::vector<Firmware> find_ovmf(const System& sys);

// The firmware for a guest: with `secure_boot`, one with Secure Boot, preferring
// enrolled keys; without, one without Secure Boot (falling back to any).
[[nodiscard]] Result<Firmware> choose_ovmf(const System& sys, bool secure_boot);

struct PrereqOptions {
    bool tpm = false;              // a TPM is asked for: a missing swtpm fails
    bool default_network = false;  // the VM uses the 'default' network: missing fails
};

// The checks, each pass / warn / fail with its fix ("qemu", "kvm-device", "libvirtd",
// "ovmf", "swtpm", "libvirt-default-network").
[[nodiscard]] std::vector<Finding> check_host_prerequisites(const System& sys,
                                                            const PrereqOptions& options);

}  // namespace porthole::vfio
