#pragma once
// PCI devices as sysfs shows them under /sys/bus/pci/devices, and names from pci.ids.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "porthole/vfio/system.hpp"

namespace porthole::vfio {

inline constexpr const char* kPciDevices = "/sys/bus/pci/devices";
inline constexpr const char* kPciDrivers = "/sys/bus/pci/drivers";
inline constexpr const char* kVfioDriver = "vfio-pci";

struct PciDevice {
    std::string bdf;          // 0000:01:00.0
    uint32_t class_code = 0;  // 0x030000
    uint16_t vendor = 0;
    uint16_t device = 0;
    std::string vendor_name;  // from pci.ids, empty when unknown
    std::string device_name;
    std::string driver;           // empty when unbound
    std::string driver_override;  // empty when "(null)"
    std::optional<int> iommu_group;
    std::vector<std::string> reset_methods;  // "flr", "bus", ...; empty when none
    bool boot_vga = false;
    bool has_rom = false;
    int numa_node = -1;

    [[nodiscard]] uint8_t base_class() const { return static_cast<uint8_t>(class_code >> 16); }
    [[nodiscard]] uint16_t class_id() const { return static_cast<uint16_t>(class_code >> 8); }
    [[nodiscard]] bool is_display() const { return base_class() == 0x03; }
    [[nodiscard]] bool is_bridge() const { return class_id() == 0x0604 || class_id() == 0x0609; }
    // Host bridge, ISA/LPC bridge, SMBus: the chipset itself; a guest cannot own these.
    [[nodiscard]] bool is_chipset() const;
    [[nodiscard]] std::string ids() const;  // "10de:1b80"
    [[nodiscard]] std::string class_name() const;
    [[nodiscard]] std::string display_name() const;  // pci.ids names or the ids
    // "0000:01:00" for "0000:01:00.0": functions of one slot share it.
    [[nodiscard]] std::string slot() const;
};

// "01:00.0" or "0000:01:00.0" to the canonical form; Error on anything else.
[[nodiscard]] Result<std::string> normalize_bdf(std::string_view text);

// Vendor and device names from a pci.ids file.
class PciIds {
  public:
    PciIds() = default;
    // Loads the first readable of /usr/share/hwdata/pci.ids, /usr/share/misc/pci.ids
    // (under the system root), or `explicit_path` when given. Missing is fine.
    static PciIds load(const System& sys, const std::string& explicit_path = {});
    static PciIds parse(std::string_view text);

    [[nodiscard]] std::string vendor(uint16_t vendor) const;
    [[nodiscard]] std::string device(uint16_t vendor, uint16_t device) const;

  private:
    std::map<uint16_t, std::string> vendors_;
    std::map<uint32_t, std::string> devices_;
};

[[nodiscard]] Result<PciDevice> read_pci_device(const System& sys, const std::string& bdf,
                                                const PciIds& ids);
// Every device, sorted by BDF.
[[nodiscard]] std::vector<PciDevice> read_pci_devices(const System& sys, const PciIds& ids);

}  // namespace porthole::vfio
