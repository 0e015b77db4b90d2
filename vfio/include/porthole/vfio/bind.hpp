#pragma once
// Moving devices to vfio-pci and back, the way libvirt does it:
// driver_override -> unbind -> drivers_probe, each step verified, all devices
// returned to their previous drivers when any later step fails.

#include <optional>
#include <string>
#include <vector>

#include "porthole/vfio/iommu.hpp"

namespace porthole::vfio {

struct BindOptions {
    bool with_group = false;      // also bind group-mates still on host drivers
    bool with_functions = false;  // also bind other functions of the same card (HDMI audio, USB-C)
    bool force = false;  // take what the host needs (root disk, only keyboard, default route,
                         // its display) or an RMRR-pinned device anyway
};

struct BindReport {
    std::vector<std::string> bound;    // moved to vfio-pci by this call
    std::vector<std::string> already;  // were on vfio-pci before
    std::vector<std::string> notes;    // related functions, framebuffer, console
};

struct UnbindReport {
    std::vector<std::string> restored;  // "0000:01:00.0 -> nvidia"
    std::vector<std::string> skipped;   // not on vfio-pci
    std::vector<std::string> notes;
};

// Where bind remembers each device's previous driver, for unbind.
[[nodiscard]] std::string previous_driver_file(const std::string& bdf);

// The driver remembered for `bdf`, only when the file holds a driver name
// ([A-Za-z0-9_-], at most 64 bytes) of a PCI driver that exists; anything else is
// ignored with a note saying why.
[[nodiscard]] std::optional<std::string> remembered_driver(const System& sys,
                                                           const std::string& bdf,
                                                           std::vector<std::string>& notes);

// Checks every requested device's whole IOMMU group, its RMRR and what the host would
// lose (USB keyboards and mice, disks and mounts, network, display) first; refuses
// without --force when the host needs it, and writes nothing on refusal.
[[nodiscard]] Result<BindReport> bind_devices(System& sys, const PciIds& ids,
                                              const std::vector<std::string>& bdfs,
                                              const BindOptions& options);

// Returns devices to their native (or remembered) drivers.
[[nodiscard]] Result<UnbindReport> unbind_devices(System& sys, const PciIds& ids,
                                                  const std::vector<std::string>& bdfs);

}  // namespace porthole::vfio
