#include "porthole/vfio/iommu.hpp"

#include <algorithm>

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
        case Verdict::NotViable:
            return "not-viable";
    }
    return "?";
}

void judge_group(const System& sys, IommuGroup& group) {
    group.reasons.clear();
    bool hard = false;
    std::vector<std::string> to_bind;
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
        if (d.boot_vga) {
            auto claims = find_framebuffer_claims(sys, d);
            for (const auto& c : claims) {
                hard = true;
                group.reasons.push_back(explain_framebuffer(c));
            }
        }
        if (!d.driver.empty() && d.driver != kVfioDriver) {
            to_bind.push_back(d.bdf);
            group.reasons.push_back(fmt::format(
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
    group.verdict = hard              ? Verdict::NotViable
                    : to_bind.empty() ? Verdict::Ready
                                      : Verdict::NeedsBinding;
}

std::vector<IommuGroup> read_iommu_groups(const System& sys, const PciIds& ids) {
    std::vector<IommuGroup> groups;
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
        if (auto regions = sys.read(dir + "/reserved_regions")) {
            for (const auto& line : split(*regions, "\n")) {
                auto f = split(line);
                if (f.size() == 3 && f[2] == "direct")
                    g.direct_regions.push_back(f[0] + "-" + f[1]);
            }
        }
        judge_group(sys, g);
        groups.push_back(std::move(g));
    }
    std::sort(groups.begin(), groups.end(),
              [](const IommuGroup& a, const IommuGroup& b) { return a.number < b.number; });
    return groups;
}

}  // namespace porthole::vfio
