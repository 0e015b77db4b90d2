#pragma once
// PCI option ROM images: 0x55AA headers chained by PCIR structures. OVMF needs
// a UEFI (code type 3) image to show the guest's boot screen on a passed GPU.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "porthole/vfio/system.hpp"

namespace porthole::vfio {

struct RomImage {
    size_t offset = 0;
    size_t length = 0;  // bytes, from the PCIR image length
    uint16_t vendor = 0;
    uint16_t device = 0;
    uint8_t code_type = 0;  // 0 x86 BIOS, 1 Open Firmware, 2 HP PA-RISC, 3 UEFI
    bool last = false;
    uint16_t efi_machine = 0;  // UEFI images only: 0x8664 x64, 0xAA64 AArch64, 0x0EBC EBC
    bool efi_compressed = false;

    [[nodiscard]] std::string code_type_name() const;
};

struct RomInfo {
    std::vector<RomImage> images;
    std::vector<std::string> problems;  // trailing junk, bad checksums: informative only

    [[nodiscard]] bool has_uefi() const;
};

// Errors only when not even the first image is valid.
[[nodiscard]] Result<RomInfo> parse_option_rom(std::span<const uint8_t> bytes);

// Reads /sys/bus/pci/devices/<bdf>/rom (enabling it for the read, disabling after).
[[nodiscard]] Result<std::vector<uint8_t>> read_device_rom(System& sys, const std::string& bdf);

}  // namespace porthole::vfio
