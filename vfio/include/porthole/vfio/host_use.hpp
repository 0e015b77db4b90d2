#pragma once
// What the running host uses a PCI device for, read from sysfs and procfs: the USB
// devices behind a controller (keyboards and mice), the disks behind a storage
// controller and what is mounted from them, the network interfaces behind a NIC
// with their addresses and the default route, and the screen a GPU drives. A thing
// is behind a device when its canonical sysfs path lies under the device's.

#include <string>
#include <vector>

#include "porthole/vfio/pci.hpp"

namespace porthole::vfio {

struct UsbUse {
    std::string id;    // bus-port path: "3-2", "1-1.4"
    std::string name;  // "Logitech USB Keyboard (046d:c31c)"
    bool keyboard = false;
    bool mouse = false;
};

struct BlockUse {
    std::string name;                 // "sda", "nvme0n1"
    std::vector<std::string> mounts;  // "/ (sda2)", "/boot/efi (sda1)"
    std::vector<std::string> swaps;   // "sda3"
    bool holds_root = false;
};

struct NetUse {
    std::string name;                    // "enp4s0"
    std::vector<std::string> addresses;  // "192.168.1.20", "2001:db8::20", "192.168.1.20 on br0"
    bool default_route = false;          // it, or the bridge/bond it belongs to, carries it
};

struct DisplayUse {
    bool boot_vga = false;
    std::vector<std::string> connected;  // "card0-DP-1"
    bool console = false;                // the framebuffer console draws on it
    std::string firmware_framebuffer;    // "efifb", "simpledrm", ... on its memory; empty if none
    // The boot GPU showing the host's screen: taking it leaves the host blind.
    [[nodiscard]] bool drives_host_display() const {
        return boot_vga && (!connected.empty() || console || !firmware_framebuffer.empty());
    }
    // Sentences saying how it shows the host's screen; empty when it does not.
    [[nodiscard]] std::vector<std::string> evidence() const;
};

struct DeviceUse {
    std::string bdf;
    std::vector<UsbUse> usb;  // keyboards first, then mice, then the rest
    std::vector<BlockUse> block;
    std::vector<NetUse> net;
    DisplayUse display;
};

// The host's devices, read once, then asked about each PCI device. Keeps a reference
// to `sys`, which must outlive it.
class HostUse {
  public:
    [[nodiscard]] static HostUse read(const System& sys);

    [[nodiscard]] DeviceUse of(const PciDevice& device) const;
    // Keyboards on the host that are real hardware (not /sys/devices/virtual).
    [[nodiscard]] int keyboards() const { return keyboards_; }

  private:
    struct Input {
        std::string name;
        std::string path;  // canonical
        bool keyboard = false;
        bool mouse = false;
    };
    struct Usb {
        std::string id;
        std::string name;
        std::string path;
        bool keyboard = false;
        bool mouse = false;
    };
    struct Disk {
        std::string name;
        std::string path;
        std::vector<std::string> mounts;
        std::vector<std::string> swaps;
        bool root = false;
    };
    struct Iface {
        std::string name;
        std::string path;
        std::vector<std::string> addresses;
        bool default_route = false;
    };

    const System* sys_ = nullptr;
    std::vector<Usb> usb_;
    std::vector<Disk> disks_;
    std::vector<Iface> ifaces_;
    int keyboards_ = 0;
};

// The screen a GPU drives for the host, as the host shows it now.
[[nodiscard]] DisplayUse read_display_use(const System& sys, const PciDevice& device);

// What taking `devices` from the host costs it.
struct HostLoss {
    std::vector<std::string> lost;      // one line per thing the host loses, most needed first
    std::vector<std::string> critical;  // why the host cannot spare them: root filesystem,
                                        // its only keyboard, the default route
    std::vector<std::string> critical_devices;  // BDFs behind `critical`
    std::vector<std::string> display;           // the boot GPU showing the host's screen
    std::vector<std::string> display_devices;   // their BDFs
};
[[nodiscard]] HostLoss assess_host_loss(const HostUse& host, const std::vector<PciDevice>& devices);
// Reads the host's devices first.
[[nodiscard]] HostLoss assess_host_loss(const System& sys, const std::vector<PciDevice>& devices);

}  // namespace porthole::vfio
