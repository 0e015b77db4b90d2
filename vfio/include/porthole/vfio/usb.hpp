#pragma once
// This host's USB devices as sysfs lists them (/sys/bus/usb/devices), for
// `porthole-vfio usb list`: the names users give `usb attach` (vendor:product
// or bus-port) beside what each device says it is.

#include <cstdint>
#include <string>
#include <vector>

#include "porthole/vfio/system.hpp"

namespace porthole::vfio {

struct HostUsbDevice {
    std::string name;  // sysfs name, also the bus-port selector: "3-1.2"
    std::uint16_t vendor = 0, product = 0;
    std::string manufacturer, description;  // as the device reports them, made printable
};

// Devices (not interfaces, not root hubs), sorted by name; entries whose ids
// cannot be read are left out.
std::vector<HostUsbDevice> list_host_usb(const System& sys);

}  // namespace porthole::vfio
