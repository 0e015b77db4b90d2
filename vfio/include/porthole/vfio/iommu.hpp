#pragma once
// IOMMU groups, the devices in each, and whether a group can go to a guest.

#include <optional>
#include <string>
#include <vector>

#include "porthole/vfio/host_use.hpp"
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
    Ready,           // every endpoint is on vfio-pci (or unbound) and resettable
    NeedsBinding,    // viable once the card's functions are bound to vfio-pci
    SharesWithHost,  // devices that are not functions of the card share the group
    HostNeeds,       // the card itself holds the root disk, the only keyboard or the route
    HostDisplay,     // the boot GPU showing the host's screen: it stays with the host
    NotViable,       // something a bind cannot fix
};

// "ready", "needs-binding", "shares-with-host", "host-needs", "host-display", "not-viable"
[[nodiscard]] std::string verdict_name(Verdict v);
// One line for people: "shares the group with host devices", ...
[[nodiscard]] std::string verdict_text(Verdict v);

// What a user can do about a group the card shares with host devices: another slot,
// the whole group, or the ACS override and what it costs.
[[nodiscard]] std::string shared_group_choices();

struct IommuGroup {
    int number = 0;
    std::vector<PciDevice> devices;
    // Regions the firmware must keep mapped (RMRR); non-relaxable ones block vfio.
    std::vector<std::string> direct_regions;
    Verdict verdict = Verdict::Ready;
    std::vector<std::string> reasons;  // why not ready, each with its fix
};

// The regions the firmware pins for a group that vfio cannot relax ("direct", not
// "direct-relaxable"), as "start-end".
[[nodiscard]] std::vector<std::string> read_direct_regions(const System& sys, int group);

// Every group (numbers may be sparse), sorted by number, with verdicts.
[[nodiscard]] std::vector<IommuGroup> read_iommu_groups(const System& sys, const PciIds& ids);
// Recomputes a group's verdict from its devices (exposed for tests of the rules). The
// card is the group's first display device that is not the boot GPU (else its first
// device); endpoints in another slot are host devices unless already on vfio-pci.
// What the host uses each device for comes from `host` (HostUse::read).
void judge_group(const System& sys, const HostUse& host, IommuGroup& group);
// The same, reading the host's devices first.
void judge_group(const System& sys, IommuGroup& group);

}  // namespace porthole::vfio
