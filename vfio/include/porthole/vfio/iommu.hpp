#pragma once
// IOMMU groups, the devices in each, and whether a group can go to a guest.

#include <optional>
#include <string>
#include <vector>

#include "porthole/vfio/pci.hpp"

namespace porthole::vfio {

// A firmware framebuffer (efifb, simpledrm, vesafb) living inside a device's BAR.
struct FramebufferClaim {
    std::string bdf;
    std::string owner;  // name in /proc/iomem: "efifb", "BOOTFB", "simple-framebuffer"
    int bar = -1;
    uint64_t start = 0;
    uint64_t end = 0;
};

[[nodiscard]] std::vector<FramebufferClaim> find_framebuffer_claims(const System& sys,
                                                                    const PciDevice& dev);
// Explains a claim and how to release it.
[[nodiscard]] std::string explain_framebuffer(const FramebufferClaim& claim);

enum class Verdict {
    Ready,         // every endpoint is on vfio-pci (or unbound) and resettable
    NeedsBinding,  // viable once the listed devices are bound to vfio-pci
    NotViable,     // something a bind cannot fix
};

[[nodiscard]] std::string verdict_name(Verdict v);  // "ready", "needs-binding", "not-viable"

struct IommuGroup {
    int number = 0;
    std::vector<PciDevice> devices;
    // Regions the firmware must keep mapped (RMRR); non-relaxable ones block vfio.
    std::vector<std::string> direct_regions;
    Verdict verdict = Verdict::Ready;
    std::vector<std::string> reasons;  // why not ready, each with its fix
};

// Every group (numbers may be sparse), sorted by number, with verdicts.
[[nodiscard]] std::vector<IommuGroup> read_iommu_groups(const System& sys, const PciIds& ids);
// Recomputes a group's verdict from its devices (exposed for tests of the rules).
void judge_group(const System& sys, IommuGroup& group);

}  // namespace porthole::vfio
