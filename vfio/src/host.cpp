#include "porthole/vfio/host.hpp"

#include <fmt/format.h>

namespace porthole::vfio {

bool HostInfo::cmdline_has(std::string_view flag) const {
    for (const auto& word : split(cmdline)) {
        if (word == flag || (word.starts_with(flag) && word.size() > flag.size() &&
                             word[flag.size()] == '=' && flag.find('=') == std::string::npos)) {
            return true;
        }
    }
    return false;
}

HostInfo read_host_info(const System& sys) {
    HostInfo h;
    if (auto cpuinfo = sys.read("/proc/cpuinfo")) {
        size_t pos = 0;
        const std::string& text = *cpuinfo;
        // The first processor block is enough: all cores share vendor and flags.
        while (pos < text.size()) {
            size_t end = text.find('\n', pos);
            if (end == std::string::npos) end = text.size();
            std::string_view line(text.data() + pos, end - pos);
            pos = end + 1;
            if (line.empty() && !h.cpu_model.empty()) break;
            auto colon = line.find(':');
            if (colon == std::string_view::npos) continue;
            std::string key = trim(line.substr(0, colon));
            std::string value = trim(line.substr(colon + 1));
            if (key == "vendor_id") {
                h.vendor = value == "GenuineIntel"   ? CpuVendor::Intel
                           : value == "AuthenticAMD" ? CpuVendor::Amd
                                                     : CpuVendor::Other;
            } else if (key == "model name") {
                h.cpu_model = value;
            } else if (key == "flags") {
                for (const auto& f : split(value)) {
                    if (f == "vmx" || f == "svm") h.virtualization_flag = true;
                }
            }
        }
    }
    h.cmdline = sys.read_trimmed("/proc/cmdline").value_or("");
    h.iommu_units = sys.list("/sys/class/iommu");
    h.iommu_groups_present = !sys.list("/sys/kernel/iommu_groups").empty();
    if (auto interrupts = sys.read("/proc/interrupts")) {
        // Remapped interrupt domains are named IR-PCI-MSI, IR-IO-APIC, AMD-IR-...
        h.interrupt_remapping = interrupts->find("IR-") != std::string::npos;
    }
    h.unsafe_interrupts_allowed =
        sys.read_trimmed("/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts")
            .value_or("N") == "Y";
    h.acs_override = h.cmdline_has("pcie_acs_override");
    return h;
}

std::string vendor_name(CpuVendor vendor) {
    switch (vendor) {
        case CpuVendor::Intel:
            return "Intel";
        case CpuVendor::Amd:
            return "AMD";
        case CpuVendor::Other:
            return "unknown";
    }
    return "unknown";
}

std::vector<std::string> iommu_kernel_flags(CpuVendor vendor) {
    switch (vendor) {
        case CpuVendor::Intel:
            return {"intel_iommu=on", "iommu=pt"};
        // amd_iommu is on by default when the firmware enables it; say so explicitly anyway.
        case CpuVendor::Amd:
            return {"amd_iommu=on", "iommu=pt"};
        case CpuVendor::Other:
            return {"iommu=pt"};
    }
    return {};
}

std::string iommu_enable_steps(const HostInfo& host) {
    std::string flags;
    for (const auto& f : iommu_kernel_flags(host.vendor))
        flags += (flags.empty() ? "" : " ") + f;
    std::string firmware = host.vendor == CpuVendor::Amd     ? "AMD-Vi/IOMMU (and SVM)"
                           : host.vendor == CpuVendor::Intel ? "VT-d (and VT-x)"
                                                             : "the IOMMU";
    return fmt::format(
        "Enable {} in the firmware setup, add `{}` to the kernel command line ({} CPU found; "
        "`porthole-vfio persist` prints the change), then reboot.",
        firmware, flags, vendor_name(host.vendor));
}

std::string iommu_off_message(const HostInfo& host) {
    return "IOMMU is off: no IOMMU groups under /sys/kernel/iommu_groups. " +
           iommu_enable_steps(host);
}

}  // namespace porthole::vfio
