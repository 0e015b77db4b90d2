#pragma once
// `vm define`: a complete libvirt domain for a passthrough VM from the detected
// hardware (q35, OVMF, every function of the GPU, huge pages, pinning, Hyper-V
// and code-43 settings, the Porthole region, a QMP socket), with an install mode
// (SPICE, QXL, the installer ISOs) that `vm finish-install` takes out again.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "porthole/vfio/pci.hpp"
#include "porthole/vfio/system.hpp"

namespace porthole::vfio {

// The namespace of the <metadata> element vm define writes: what it made, for
// finish-install and doctor --domain.
inline constexpr const char* kVmMetadataNamespace = "https://porthole.invalid/xmlns/vm/1";
inline constexpr const char* kQemuNamespace = "http://libvirt.org/schemas/domain/qemu/1.0";

struct VmOptions {
    std::string name;
    std::string gpu;  // BDF of the GPU (its other functions follow), or "none"
    std::string memory = "16G";
    int vcpus = 8;
    int host_cores = 1;  // whole cores kept for the host by the pin plan
    int iothreads = 1;
    bool pin = true;                  // <cputune> and topology from the pin plan
    std::string disk = {};            // image file or block device; empty: none
    std::string iso = {};             // installer ISO: install mode (SPICE, QXL, cdroms)
    std::string virtio_iso = {};      // virtio-win drivers, a second cdrom
    std::string network = "default";  // default | bridge:BR | macvtap:IF | user | none
    uint32_t width = 1920;            // the region holds frames this large
    uint32_t height = 1080;
    std::string page = {};                 // "": the reserved pool's size; "2M", "1G"; "none"
    std::string rom = {};                  // GPU option ROM file for <rom file>
    std::string os = "win11";              // win11 | win10 | linux
    std::optional<bool> tpm = {};          // default: on for win11
    std::optional<bool> secure_boot = {};  // default: on for win11
    std::string shm_name = "porthole";     // /dev/shm/<name>
    std::string qmp = {};                  // socket path; default /run/porthole/<name>.qmp
    std::string vendor_id = "porthole00";  // Hyper-V vendor_id (<= 12 characters)
    std::string virt_type = "auto";        // auto (kvm when /dev/kvm exists) | kvm | qemu
    std::string kernel = {};               // direct kernel boot (Linux guests): no firmware
    std::string initrd = {};
    std::string cmdline = {};
    std::string serial_log = {};  // the guest's serial console into this file
    std::string input_bus = {};   // usb | virtio; default: usb for Windows, virtio for Linux
    // Empty: an ivshmem-plain region. Else ivshmem-doorbell, served by
    // porthole-ivshmem-server on this socket (the guest rings the client).
    std::string doorbell = {};
};

struct VmDefinition {
    std::string xml;
    std::vector<std::string> notes;  // choices made and what to do before the first start
    std::string qmp_path;
    std::string region_path;  // /dev/shm/<shm name>
    uint64_t region_bytes = 0;
    bool install_mode = false;
    std::string virt_type;  // "kvm" or "qemu"
};

// libvirt's rules for a name, tightened for the files made from it: 1 to 64 bytes
// of UTF-8, no '/', no control characters, not "." or "..".
[[nodiscard]] Status validate_domain_name(std::string_view name);

[[nodiscard]] Result<VmDefinition> build_domain(const System& sys, const PciIds& ids,
                                                const VmOptions& options);

struct FinishInstall {
    std::string xml;
    std::vector<std::string> removed;  // one line per piece taken out
    bool changed = false;
};

// The domain without its install mode: SPICE graphics and their channels, audio and
// redirection, the QXL video (replaced by <model type='none'/>), the installer
// cdroms; boot order renumbered. Idempotent: a finished domain comes back unchanged.
[[nodiscard]] Result<FinishInstall> finish_install(std::string_view domain_xml);

// `domain_xml` given the identity of the domain it replaces: libvirt refuses a new
// UUID for an existing name, and a new MAC is a new network card to Windows.
// Copies <uuid> and, interface by interface in order, <mac address>.
[[nodiscard]] Result<std::string> keep_identity(std::string_view domain_xml,
                                                std::string_view replaced_xml);

// What vm define recorded in a domain's metadata (absent for other domains).
struct VmMetadata {
    uint32_t width = 0;
    uint32_t height = 0;
    std::string gpu;
};
[[nodiscard]] std::optional<VmMetadata> read_vm_metadata(std::string_view domain_xml);

inline constexpr const char* kDomainBackupDir = "/var/lib/porthole-vfio/backups";

// A dated, unused name in `dir` for a domain's old XML.
[[nodiscard]] std::string backup_path(const System& sys, const std::string& name,
                                      const std::string& dir = kDomainBackupDir);

}  // namespace porthole::vfio
