#pragma once
// Every passthrough check in one pass, each pass / warn / fail with its fix.

#include <cstdint>
#include <string>
#include <vector>

#include "porthole/vfio/pci.hpp"

namespace porthole::vfio {

enum class Level { Pass, Warn, Fail, Info };
[[nodiscard]] std::string level_name(Level level);  // "pass", "warn", "fail", "info"

struct Finding {
    std::string check;  // stable id: "iommu", "gpu-rom 0000:01:00.0", ...
    Level level = Level::Pass;
    std::string detail;
    std::string fix;  // empty on pass
};

struct DoctorOptions {
    std::string region_path = "/dev/shm/porthole";
    uint32_t width = 1920;  // resolution the region must hold
    uint32_t height = 1080;
    // Reading a ROM means enabling it (a sysfs write): only when asked (--rom). Without
    // it doctor only reads.
    bool read_roms = false;
    // `--domain NAME` / `--xml FILE`: the domain's XML to check (empty: none).
    std::string domain_xml = {};
};

// AMD GPUs whose reset is broken without gnif/vendor-reset (Polaris, Vega, Navi 10/12/14).
[[nodiscard]] bool needs_vendor_reset(const PciDevice& device);

// Reads every check; writes nothing unless options.read_roms.
[[nodiscard]] std::vector<Finding> run_doctor(System& sys, const PciIds& ids,
                                              const DoctorOptions& options);

}  // namespace porthole::vfio
