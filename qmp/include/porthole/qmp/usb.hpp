#pragma once
// Host USB devices given to a running VM through QMP (device_add usb-host),
// the way that works for any guest OS without a driver of ours: a controller,
// a headset, a wheel. A device is named by vendor:product ("046d:c52b") or by
// its place on the host ("3-1.2": bus 3, port path 1.2, as in
// /sys/bus/usb/devices). QEMU accepts a usb-host device whose host device is
// not plugged in yet and attaches it when it appears.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "porthole/qmp/channel.hpp"
#include "porthole/util/result.hpp"

namespace porthole::qmp {

struct UsbSelector {
    std::optional<std::uint16_t> vendor, product;  // both or neither
    std::optional<std::uint32_t> bus;              // with port
    std::string port;                              // "1.2"
    friend bool operator==(const UsbSelector&, const UsbSelector&) = default;
};

// "VVVV:PPPP" (hex) or "BUS-PORT" ("3-1.2"); a clear error for anything else.
Result<UsbSelector> parse_usb_selector(std::string_view text);
// As the user writes it ("046d:c52b", "3-1.2").
std::string to_string(const UsbSelector& s);
// The QEMU device id Porthole gives the device: "porthole-usb-046d-c52b",
// "porthole-usb-3-1.2" (QEMU ids: a letter, then letters, digits, '-', '.', '_').
std::string usb_device_id(const UsbSelector& s);
// device_add's arguments for the selector under `id`.
nlohmann::json usb_device_add_arguments(const UsbSelector& s, std::string_view id);

struct AttachedUsb {
    std::string id;  // QEMU's device id
    UsbSelector selector;
};

// The usb-host devices of the VM that have an id (Porthole's and others').
Result<std::vector<AttachedUsb>> list_usb(Channel& qmp);
// Attaches the device; an error names the device and what QEMU said
// (already attached, no USB controller in the VM, ...).
Result<AttachedUsb> attach_usb(Channel& qmp, const UsbSelector& s);
// Detaches the device Porthole attached for `s` (or the device with id
// `text` when it is not a selector) and waits for QEMU to confirm.
Result<std::string> detach_usb(Channel& qmp, std::string_view selector_or_id,
                               std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace porthole::qmp
