#include "porthole/vfio/iommu.hpp"

#include <algorithm>

#include "porthole/vfio/host_use.hpp"

#include <fmt/format.h>

namespace porthole::vfio {

namespace {

struct Range {
    uint64_t start = 0;
    uint64_t end = 0;
};

std::optional<uint64_t> hex64(std::string_view text) {
    if (text.starts_with("0x")) text.remove_prefix(2);
    if (text.empty()) return std::nullopt;
    try {
        return std::stoull(std::string(text), nullptr, 16);
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

// BARs 0-5 from the sysfs `resource` file: "start end flags" per line.
std::vector<Range> read_bars(const System& sys, const std::string& bdf) {
    std::vector<Range> bars;
    auto text = sys.read(std::string(kPciDevices) + "/" + bdf + "/resource");
    if (!text) return bars;
    for (const auto& line : split(*text, "\n")) {
        if (bars.size() == 6) break;
        auto fields = split(line);
        Range r;
        if (fields.size() >= 2) {
            r.start = hex64(fields[0]).value_or(0);
            r.end = hex64(fields[1]).value_or(0);
        }
        bars.push_back(r);
    }
    return bars;
}

bool is_firmware_framebuffer(std::string_view name) {
    return name == "efifb" || name == "BOOTFB" || name == "simple-framebuffer" ||
           name == "simpledrm" || name == "vesafb" || name == "EFI VGA";
}

}  // namespace

std::vector<FramebufferClaim> find_framebuffer_claims(const System& sys, const PciDevice& dev) {
    std::vector<FramebufferClaim> claims;
    auto iomem = sys.read("/proc/iomem");
    if (!iomem) return claims;
    auto bars = read_bars(sys, dev.bdf);
    for (const auto& line : split(*iomem, "\n")) {
        auto sep = line.find(" : ");
        if (sep == std::string::npos) continue;
        std::string name = trim(line.substr(sep + 3));
        if (!is_firmware_framebuffer(name)) continue;
        std::string range = trim(line.substr(0, sep));
        auto dash = range.find('-');
        if (dash == std::string::npos) continue;
        auto start = hex64(range.substr(0, dash));
        auto end = hex64(range.substr(dash + 1));
        if (!start || !end || *start == 0) continue;  // zeros: iomem read without root
        for (size_t i = 0; i < bars.size(); ++i) {
            if (bars[i].end > bars[i].start && *start >= bars[i].start && *end <= bars[i].end) {
                claims.push_back({dev.bdf, name, static_cast<int>(i), *start, *end});
            }
        }
    }
    return claims;
}

std::string explain_framebuffer(const FramebufferClaim& c) {
    return fmt::format(
        "the firmware framebuffer '{}' holds BAR {} of {} ({:#x}-{:#x}): the host console draws "
        "there, and QEMU will fail to map the BAR (\"BAR {}: can't reserve\"). Add "
        "`video=efifb:off video=simplefb:off` (or `initcall_blacklist=sysfb_init`) to the kernel "
        "command line, or move the host console to another GPU in the firmware setup",
        c.owner, c.bar, c.bdf, c.start, c.end, c.bar);
}

std::string verdict_name(Verdict v) {
    switch (v) {
        case Verdict::Ready:
            return "ready";
        case Verdict::NeedsBinding:
            return "needs-binding";
        case Verdict::SharesWithHost:
            return "shares-with-host";
        case Verdict::HostNeeds:
            return "host-needs";
        case Verdict::HostDisplay:
            return "host-display";
        case Verdict::NotViable:
            return "not-viable";
    }
    return "?";
}

std::string verdict_text(Verdict v) {
    switch (v) {
        case Verdict::Ready:
            return "ready for a guest";
        case Verdict::NeedsBinding:
            return "ready once bound to vfio-pci";
        case Verdict::SharesWithHost:
            return "shares the group with host devices";
        case Verdict::HostNeeds:
            return "the host needs it";
        case Verdict::HostDisplay:
            return "host display: the host's screen runs on it";
        case Verdict::NotViable:
            return "cannot be passed";
    }
    return "?";
}

std::string shared_group_choices() {
    return "Choices: move the card to another slot (a slot wired to the CPU usually has a group "
           "of its own; `porthole-vfio groups` shows every slot's group); or give the guest the "
           "whole group, only if the host can do without those devices; or the ACS override "
           "(`pcie_acs_override=downstream,multifunction` on a kernel that carries the patch, "
           "such as linux-zen), which splits the group at a cost: the kernel then assumes an "
           "isolation the hardware does not enforce, so the card can still reach those host "
           "devices by peer-to-peer DMA, and a hostile or buggy guest driver can read or "
           "corrupt what they carry";
}

void judge_group(const System& sys, IommuGroup& group) {
    judge_group(sys, HostUse::read(sys), group);
}

void judge_group(const System& sys, const HostUse& host, IommuGroup& group) {
    group.reasons.clear();
    bool hard = false;
    bool host_display = false;
    std::vector<std::string> to_bind;

    // The card: the first GPU that is not the boot GPU, else the first GPU, else the first
    // endpoint. Endpoints in other slots are not its functions.
    const PciDevice* card = nullptr;
    for (int pass = 0; pass < 3 && !card; ++pass) {
        for (const auto& d : group.devices) {
            if (d.is_bridge() || d.is_chipset()) continue;
            if ((pass == 0 && d.is_display() && !d.boot_vga) || (pass == 1 && d.is_display()) ||
                pass == 2) {
                card = &d;
                break;
            }
        }
    }
    const std::string card_slot = card ? card->slot() : std::string();
    std::vector<const PciDevice*> host_devices;
    for (const auto& d : group.devices) {
        if (!d.is_bridge() && !d.is_chipset() && !card_slot.empty() && d.slot() != card_slot &&
            d.driver != kVfioDriver) {
            host_devices.push_back(&d);
        }
    }
    if (!host_devices.empty()) {
        std::string list;
        for (const auto* d : host_devices) {
            list += fmt::format("{}{} ({}{})", list.empty() ? "" : ", ", d->bdf, d->class_name(),
                                d->driver.empty() ? "" : ", " + d->driver);
        }
        group.reasons.push_back(
            fmt::format("{} {} not part of the card in {} but {} its IOMMU group: a group goes "
                        "to a guest whole, so passing the card takes {} from the host. {}",
                        list, host_devices.size() == 1 ? "is" : "are", card_slot,
                        host_devices.size() == 1 ? "shares" : "share",
                        host_devices.size() == 1 ? "it" : "them", shared_group_choices()));
    }

    // What the host would lose with this group: nothing of it is ever advised for binding.
    std::vector<PciDevice> in_use;
    for (const auto& d : group.devices) {
        if (!d.is_bridge() && !d.is_chipset() && d.driver != kVfioDriver) in_use.push_back(d);
    }
    const HostLoss loss = assess_host_loss(host, in_use);
    auto listed = [](const std::vector<std::string>& v, const std::string& bdf) {
        return std::find(v.begin(), v.end(), bdf) != v.end();
    };
    bool card_needed = false;
    for (const auto& bdf : loss.critical_devices) {
        if (std::none_of(host_devices.begin(), host_devices.end(),
                         [&](const PciDevice* h) { return h->bdf == bdf; })) {
            card_needed = true;
        }
    }
    for (const auto& c : loss.critical)
        group.reasons.push_back("the host needs this group: " + c);

    for (const auto& d : group.devices) {
        if (d.is_bridge()) continue;  // vfio accepts bridges left on pcieport
        if (d.is_chipset()) {
            hard = true;
            group.reasons.push_back(fmt::format(
                "{} is the chipset's {}: the host needs it. The slot is not isolated; use a "
                "CPU-attached slot (or the ACS override patch, which only hides the problem)",
                d.bdf, d.class_name()));
            continue;
        }
        if (d.reset_methods.empty()) {
            hard = true;
            group.reasons.push_back(fmt::format(
                "{} has no reset method: the guest cannot reset it between boots{}", d.bdf,
                d.vendor == 0x1002 && d.is_display()
                    ? " (install vendor-reset: https://github.com/gnif/vendor-reset)"
                    : ""));
        }
        if (d.is_display()) {
            DisplayUse display = read_display_use(sys, d);
            if (display.drives_host_display()) {
                host_display = true;
                std::string how;
                for (const auto& e : display.evidence())
                    how += (how.empty() ? "" : "; ") + e;
                group.reasons.push_back(fmt::format(
                    "{} is the boot GPU and shows the host's screen ({}): it stays with the "
                    "host. Give the guest another GPU; single-GPU passthrough needs hooks that "
                    "stop the display manager and release the console before the VM starts",
                    d.bdf, how));
                for (const auto& c : find_framebuffer_claims(sys, d))
                    group.reasons.push_back(explain_framebuffer(c));
            }
        }
        const bool hosts_own = std::any_of(host_devices.begin(), host_devices.end(),
                                           [&](const PciDevice* h) { return h->bdf == d.bdf; }) ||
                               listed(loss.critical_devices, d.bdf) ||
                               listed(loss.display_devices, d.bdf);
        if (!d.driver.empty() && d.driver != kVfioDriver && !hosts_own) {
            to_bind.push_back(fmt::format(
                "{} ({}) is bound to the host driver {}: bind it to vfio-pci with the rest of the "
                "group",
                d.bdf, d.class_name(), d.driver));
        }
    }
    if (!group.direct_regions.empty()) {
        hard = true;
        group.reasons.push_back(fmt::format(
            "the firmware reserves memory for this group (RMRR {}): the kernel refuses to hand it "
            "to vfio. Try another slot or a firmware update",
            group.direct_regions.front()));
    }
    group.verdict = hard                    ? Verdict::NotViable
                    : host_display          ? Verdict::HostDisplay
                    : card_needed           ? Verdict::HostNeeds
                    : !host_devices.empty() ? Verdict::SharesWithHost
                    : to_bind.empty()       ? Verdict::Ready
                                            : Verdict::NeedsBinding;
    // What the host keeps is never advised for binding, not even its other functions.
    if (group.verdict != Verdict::HostDisplay && group.verdict != Verdict::HostNeeds) {
        group.reasons.insert(group.reasons.end(), to_bind.begin(), to_bind.end());
    }
}

std::vector<std::string> read_direct_regions(const System& sys, int group) {
    std::vector<std::string> out;
    auto regions = sys.read(fmt::format("/sys/kernel/iommu_groups/{}/reserved_regions", group));
    if (!regions) return out;
    for (const auto& line : split(*regions, "\n")) {
        auto f = split(line);
        if (f.size() == 3 && f[2] == "direct") out.push_back(f[0] + "-" + f[1]);
    }
    return out;
}

std::vector<IommuGroup> read_iommu_groups(const System& sys, const PciIds& ids) {
    std::vector<IommuGroup> groups;
    const HostUse host = HostUse::read(sys);
    for (const auto& name : sys.list("/sys/kernel/iommu_groups")) {
        IommuGroup g;
        try {
            g.number = std::stoi(name);
        } catch (const std::exception&) {
            continue;
        }
        std::string dir = "/sys/kernel/iommu_groups/" + name;
        for (const auto& bdf : sys.list(dir + "/devices")) {
            auto dev = read_pci_device(sys, bdf, ids);
            if (dev) g.devices.push_back(std::move(*dev));
        }
        g.direct_regions = read_direct_regions(sys, g.number);
        judge_group(sys, host, g);
        groups.push_back(std::move(g));
    }
    std::sort(groups.begin(), groups.end(),
              [](const IommuGroup& a, const IommuGroup& b) { return a.number < b.number; });
    return groups;
}

}  // namespace porthole::vfio
