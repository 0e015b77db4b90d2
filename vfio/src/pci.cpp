#include "porthole/vfio/pci.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

namespace porthole::vfio {

namespace {

std::optional<uint32_t> parse_hex(std::string_view text) {
    if (text.starts_with("0x") || text.starts_with("0X")) text.remove_prefix(2);
    uint32_t value = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
    if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) return std::nullopt;
    return value;
}

bool is_hex_digits(std::string_view text, size_t n) {
    return text.size() == n && std::all_of(text.begin(), text.end(), [](char c) {
               return std::isxdigit(static_cast<unsigned char>(c)) != 0;
           });
}

}  // namespace

bool PciDevice::is_chipset() const {
    uint16_t c = class_id();
    return c == 0x0600 || c == 0x0601 || c == 0x0c05;
}

std::string PciDevice::ids() const {
    return fmt::format("{:04x}:{:04x}", vendor, device);
}

std::string PciDevice::class_name() const {
    switch (class_id()) {
        case 0x0300:
            return "VGA controller";
        case 0x0302:
            return "3D controller";
        case 0x0380:
            return "Display controller";
        case 0x0403:
            return "Audio device";
        case 0x0401:
            return "Multimedia audio controller";
        case 0x0600:
            return "Host bridge";
        case 0x0601:
            return "ISA bridge";
        case 0x0604:
            return "PCI bridge";
        case 0x0c03:
            return "USB controller";
        case 0x0c05:
            return "SMBus";
        case 0x0c80:
            return "Serial bus controller";
        case 0x0106:
            return "SATA controller";
        case 0x0108:
            return "NVMe controller";
        case 0x0200:
            return "Ethernet controller";
        case 0x0280:
            return "Network controller";
        case 0x0500:
            return "RAM memory";
        case 0x1180:
            return "Signal processing controller";
        default:
            return fmt::format("class {:04x}", class_id());
    }
}

std::string PciDevice::display_name() const {
    if (!vendor_name.empty() && !device_name.empty()) return vendor_name + " " + device_name;
    if (!vendor_name.empty()) return vendor_name + " device " + fmt::format("{:04x}", device);
    return ids();
}

std::string PciDevice::slot() const {
    auto dot = bdf.rfind('.');
    return dot == std::string::npos ? bdf : bdf.substr(0, dot);
}

Result<std::string> normalize_bdf(std::string_view text) {
    std::string t = trim(text);
    std::transform(t.begin(), t.end(), t.begin(), [](char c) {
        return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    });
    if (t.size() == 7) t = "0000:" + t;
    // dddd:bb:ss.f
    bool ok = t.size() == 12 && t[4] == ':' && t[7] == ':' && t[10] == '.' &&
              is_hex_digits(std::string_view(t).substr(0, 4), 4) &&
              is_hex_digits(std::string_view(t).substr(5, 2), 2) &&
              is_hex_digits(std::string_view(t).substr(8, 2), 2) && t[11] >= '0' && t[11] <= '7';
    if (!ok) {
        return Error::make(fmt::format(
            "'{}' is not a PCI address: use the form 0000:01:00.0 or 01:00.0 (see `lspci -D`)",
            text));
    }
    return t;
}

PciIds PciIds::parse(std::string_view text) {
    PciIds ids;
    uint16_t current_vendor = 0;
    bool in_vendor = false;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(pos, end - pos);
        pos = end + 1;
        if (line.empty() || line[0] == '#') continue;
        if (line.starts_with("C ")) break;  // device classes follow the vendors
        if (line[0] != '\t') {
            auto id = parse_hex(line.substr(0, 4));
            in_vendor = id.has_value() && line.size() > 6;
            if (in_vendor) {
                current_vendor = static_cast<uint16_t>(*id);
                ids.vendors_[current_vendor] = valid_utf8(trim(line.substr(4)));
            }
        } else if (in_vendor && line.size() > 6 && line[1] != '\t') {
            auto id = parse_hex(line.substr(1, 4));
            if (id) {
                uint32_t key = (uint32_t{current_vendor} << 16) | *id;
                ids.devices_[key] = valid_utf8(trim(line.substr(5)));
            }
        }
    }
    return ids;
}

PciIds PciIds::load(const System& sys, const std::string& explicit_path) {
    if (!explicit_path.empty()) {
        auto text = sys.read(explicit_path.front() == '/' ? explicit_path : "/" + explicit_path);
        return text ? parse(*text) : PciIds{};
    }
    for (const char* path : {"/usr/share/hwdata/pci.ids", "/usr/share/misc/pci.ids"}) {
        auto text = sys.read(path);
        if (text) return parse(*text);
    }
    return {};
}

std::string PciIds::vendor(uint16_t vendor) const {
    auto it = vendors_.find(vendor);
    return it == vendors_.end() ? std::string() : it->second;
}

std::string PciIds::device(uint16_t vendor, uint16_t device) const {
    auto it = devices_.find((uint32_t{vendor} << 16) | device);
    return it == devices_.end() ? std::string() : it->second;
}

Result<PciDevice> read_pci_device(const System& sys, const std::string& bdf, const PciIds& ids) {
    std::string dir = std::string(kPciDevices) + "/" + bdf;
    if (!sys.exists(dir)) {
        return Error::make(fmt::format("no PCI device {} (not in {}); list devices with `lspci -D`",
                                       bdf, kPciDevices),
                           ENOENT);
    }
    PciDevice d;
    d.bdf = bdf;
    auto hex = [&](const char* attr) -> uint32_t {
        auto text = sys.read_trimmed(dir + "/" + attr);
        auto value = text ? parse_hex(*text) : std::nullopt;
        return value.value_or(0);
    };
    d.class_code = hex("class");
    d.vendor = static_cast<uint16_t>(hex("vendor"));
    d.device = static_cast<uint16_t>(hex("device"));
    d.vendor_name = ids.vendor(d.vendor);
    d.device_name = ids.device(d.vendor, d.device);
    d.driver = valid_utf8(sys.link_name(dir + "/driver").value_or(""));
    auto override_text = valid_utf8(sys.read_trimmed(dir + "/driver_override").value_or(""));
    d.driver_override = override_text == "(null)" ? "" : override_text;
    if (auto group = sys.link_name(dir + "/iommu_group")) {
        try {
            d.iommu_group = std::stoi(*group);
        } catch (const std::exception&) {
        }
    }
    if (auto methods = sys.read_trimmed(dir + "/reset_method")) {
        d.reset_methods = split(valid_utf8(*methods));
    } else if (sys.exists(dir + "/reset")) {
        d.reset_methods = {"reset"};  // kernels before 5.15 only expose `reset`
    }
    d.boot_vga = sys.read_trimmed(dir + "/boot_vga").value_or("0") == "1";
    d.has_rom = sys.exists(dir + "/rom");
    if (auto node = sys.read_trimmed(dir + "/numa_node")) {
        try {
            d.numa_node = std::stoi(*node);
        } catch (const std::exception&) {
        }
    }
    return d;
}

std::vector<PciDevice> read_pci_devices(const System& sys, const PciIds& ids) {
    std::vector<PciDevice> out;
    for (const auto& name : sys.list(kPciDevices)) {
        auto bdf = normalize_bdf(name);
        if (!bdf) continue;
        auto dev = read_pci_device(sys, *bdf, ids);
        if (dev) out.push_back(std::move(*dev));
    }
    return out;
}

}  // namespace porthole::vfio
