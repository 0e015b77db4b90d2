#include "porthole/vfio/usb.hpp"

#include <charconv>
#include <optional>

#include "porthole/util/printable.hpp"

namespace porthole::vfio {

namespace {

std::optional<std::uint16_t> hex16(const std::optional<std::string>& s) {
    if (!s || s->size() != 4) return std::nullopt;
    std::uint16_t v = 0;
    const auto [end, ec] = std::from_chars(s->data(), s->data() + 4, v, 16);
    if (ec != std::errc{} || end != s->data() + 4) return std::nullopt;
    return v;
}

}  // namespace

std::vector<HostUsbDevice> list_host_usb(const System& sys) {
    std::vector<HostUsbDevice> out;
    for (const auto& name : sys.list("/sys/bus/usb/devices")) {
        // "usbN" are root hubs; "3-1.2:1.0" are interfaces of a device.
        if (name.starts_with("usb") || name.find(':') != std::string::npos) continue;
        const std::string dir = "/sys/bus/usb/devices/" + name;
        const auto vendor = hex16(sys.read_trimmed(dir + "/idVendor"));
        const auto product = hex16(sys.read_trimmed(dir + "/idProduct"));
        if (!vendor || !product) continue;
        // Strings come from the device itself: any bytes, any length.
        out.push_back({printable(name), *vendor, *product,
                       printable(sys.read_trimmed(dir + "/manufacturer").value_or("")),
                       printable(sys.read_trimmed(dir + "/product").value_or(""))});
    }
    return out;
}

}  // namespace porthole::vfio
