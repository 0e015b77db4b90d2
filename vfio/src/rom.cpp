#include "porthole/vfio/rom.hpp"

#include <fmt/format.h>

namespace porthole::vfio {

namespace {

uint16_t le16(std::span<const uint8_t> b, size_t at) {
    return static_cast<uint16_t>(b[at] | (b[at + 1] << 8));
}

}  // namespace

std::string RomImage::code_type_name() const {
    switch (code_type) {
        case 0:
            return "x86 BIOS (legacy)";
        case 1:
            return "Open Firmware";
        case 2:
            return "HP PA-RISC";
        case 3: {
            std::string arch = efi_machine == 0x8664   ? "x64"
                               : efi_machine == 0xAA64 ? "AArch64"
                               : efi_machine == 0x0EBC ? "EBC"
                               : efi_machine == 0x014C
                                   ? "IA32"
                                   : fmt::format("machine {:#06x}", efi_machine);
            return fmt::format("UEFI ({}{})", arch, efi_compressed ? ", compressed" : "");
        }
        default:
            return fmt::format("type {}", code_type);
    }
}

bool RomInfo::has_uefi() const {
    for (const auto& i : images) {
        if (i.code_type == 3) return true;
    }
    return false;
}

Result<RomInfo> parse_option_rom(std::span<const uint8_t> b) {
    RomInfo info;
    size_t offset = 0;
    while (offset + 0x1A <= b.size()) {
        if (b[offset] != 0x55 || b[offset + 1] != 0xAA) {
            if (info.images.empty()) {
                return Error::make(fmt::format(
                    "not an option ROM: no 0x55AA signature at offset {:#x} (the ROM may be "
                    "shadowed or empty; dump it while the GPU is not the boot GPU)",
                    offset));
            }
            info.problems.push_back(fmt::format("no image signature at {:#x}", offset));
            break;
        }
        size_t pcir = offset + le16(b, offset + 0x18);
        if (pcir + 0x18 > b.size() || b[pcir] != 'P' || b[pcir + 1] != 'C' || b[pcir + 2] != 'I' ||
            b[pcir + 3] != 'R') {
            std::string msg = fmt::format("image at {:#x} has no valid PCIR structure", offset);
            if (info.images.empty()) return Error::make(msg);
            info.problems.push_back(msg);
            break;
        }
        RomImage img;
        img.offset = offset;
        img.vendor = le16(b, pcir + 4);
        img.device = le16(b, pcir + 6);
        img.length = size_t{le16(b, pcir + 0x10)} * 512;
        img.code_type = b[pcir + 0x14];
        img.last = (b[pcir + 0x15] & 0x80) != 0;
        if (img.code_type == 3 && offset + 0x0E <= b.size()) {
            img.efi_machine = le16(b, offset + 0x0A);
            img.efi_compressed = le16(b, offset + 0x0C) != 0;
        }
        if (img.length == 0) {
            info.images.push_back(img);
            info.problems.push_back(fmt::format("image at {:#x} declares zero length", offset));
            break;
        }
        if (offset + img.length > b.size()) {
            info.problems.push_back(fmt::format("image at {:#x} is truncated ({} of {} bytes)",
                                                offset, b.size() - offset, img.length));
        }
        info.images.push_back(img);
        if (img.last) break;
        offset += img.length;
    }
    if (info.images.empty()) return Error::make("option ROM too short to hold an image");
    return info;
}

Result<std::vector<uint8_t>> read_device_rom(System& sys, const std::string& bdf) {
    const std::string path = "/sys/bus/pci/devices/" + bdf + "/rom";
    if (!sys.exists(path)) {
        return Error::make(fmt::format("{} exposes no option ROM ({} missing)", bdf, path));
    }
    // The kernel only lets the ROM be read while enabled.
    if (auto s = sys.write_attribute(path, "1"); !s) return s.error();
    auto data = sys.read(path);
    auto disable = sys.write_attribute(path, "0");
    if (!data) {
        return Error::make(fmt::format(
            "reading {} failed ({}): a GPU in use by the host or a guest often refuses; try while "
            "it is bound to vfio-pci and the VM is off, or use `rom --file` with a dumped ROM",
            path, data.error().message));
    }
    (void)disable;
    return std::vector<uint8_t>(data->begin(), data->end());
}

}  // namespace porthole::vfio
