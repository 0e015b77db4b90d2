#pragma once
// Facts about the host CPU, kernel command line and IOMMU, from /proc and /sys.

#include <optional>
#include <string>
#include <vector>

#include "porthole/vfio/system.hpp"

namespace porthole::vfio {

enum class CpuVendor { Intel, Amd, Other };

struct HostInfo {
    CpuVendor vendor = CpuVendor::Other;
    std::string cpu_model;
    bool virtualization_flag = false;      // vmx or svm in /proc/cpuinfo
    std::string cmdline;                   // /proc/cmdline
    std::vector<std::string> iommu_units;  // /sys/class/iommu entries (dmar0, ivhd0)
    bool iommu_groups_present = false;
    std::optional<bool> interrupt_remapping;  // nullopt when /proc/interrupts is unreadable
    bool unsafe_interrupts_allowed = false;
    bool acs_override = false;  // pcie_acs_override= on the command line

    [[nodiscard]] bool iommu_enabled() const {
        return !iommu_units.empty() && iommu_groups_present;
    }
    [[nodiscard]] bool cmdline_has(std::string_view flag) const;
};

[[nodiscard]] HostInfo read_host_info(const System& sys);

[[nodiscard]] std::string vendor_name(CpuVendor vendor);
// Kernel flags that turn the IOMMU on in passthrough mode for this CPU vendor.
[[nodiscard]] std::vector<std::string> iommu_kernel_flags(CpuVendor vendor);
// What to do to turn the IOMMU on for this host.
[[nodiscard]] std::string iommu_enable_steps(const HostInfo& host);
// The sentence users read when the IOMMU is off: what to enable and where.
[[nodiscard]] std::string iommu_off_message(const HostInfo& host);

}  // namespace porthole::vfio
