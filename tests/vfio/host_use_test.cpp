// What the host uses each PCI device for, read from fixture trees and from
// variations written into them: the rules, not one machine's answers.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "porthole/vfio/host_use.hpp"
#include "porthole/vfio/iommu.hpp"
#include "test_support.hpp"

namespace porthole::vfio {
namespace {

namespace fs = std::filesystem;
using testing::FakeMachine;

PciDevice device(const FakeMachine& m, const std::string& bdf) {
    auto d = read_pci_device(m.sys, bdf, m.ids);
    if (!d) throw std::runtime_error(d.error().message);
    return *d;
}

bool has(const std::vector<std::string>& v, const std::string& text) {
    return std::any_of(v.begin(), v.end(),
                       [&](const std::string& s) { return s.find(text) != std::string::npos; });
}

using testing::add_ps2_keyboard;

void link(const FakeMachine& m, const std::string& at, const std::string& to) {
    testing::add_link(m, at, to);
}

TEST(HostUse, FindsTheKeyboardAndMouseBehindAUsbController) {
    FakeMachine m("usb-keyboard-group");
    HostUse host = HostUse::read(m.sys);
    EXPECT_EQ(host.keyboards(), 1);
    DeviceUse use = host.of(device(m, "0000:04:00.0"));
    ASSERT_EQ(use.usb.size(), 3u);
    EXPECT_TRUE(use.usb[0].keyboard);  // keyboards first, then mice, then the rest
    EXPECT_EQ(use.usb[0].name, "Logitech USB Keyboard (046d:c31c)");
    EXPECT_TRUE(use.usb[1].mouse);
    EXPECT_EQ(use.usb[2].name, "SanDisk Cruzer Blade (0781:5567)");
    EXPECT_TRUE(host.of(device(m, "0000:00:14.0")).usb.empty());  // the PCH's controller
}

TEST(HostUse, AHidBootKeyboardWithoutItsInputNodeStillCounts) {
    FakeMachine m("usb-keyboard-group");
    fs::remove(m.copy.dir() / "sys/class/input/input0");  // usbhid not bound
    HostUse host = HostUse::read(m.sys);
    EXPECT_EQ(host.keyboards(), 1);
    EXPECT_TRUE(host.of(device(m, "0000:04:00.0")).usb[0].keyboard);
}

TEST(HostUse, VirtualKeyboardsAreNotTheHostsKeyboard) {
    FakeMachine m("usb-keyboard-group");
    const std::string dir = "sys/devices/virtual/input/input77";  // a uinput keyboard
    m.copy.write(dir + "/name", "ydotoold virtual device\n");
    m.copy.write(dir + "/capabilities/ev", "120013\n");
    m.copy.write(dir + "/capabilities/key", "fffffffffffffffe\n");
    link(m, "sys/class/input/input77", dir);
    EXPECT_EQ(HostUse::read(m.sys).keyboards(), 1);
    add_ps2_keyboard(m);
    EXPECT_EQ(HostUse::read(m.sys).keyboards(), 2);
}

TEST(HostUse, DisksBehindAControllerWithTheirMountsSwapAndRoot) {
    FakeMachine m("sata-root-group");
    HostUse host = HostUse::read(m.sys);
    DeviceUse sata = host.of(device(m, "0000:07:00.0"));
    ASSERT_EQ(sata.block.size(), 1u);
    EXPECT_EQ(sata.block[0].name, "sda");
    EXPECT_TRUE(sata.block[0].holds_root);
    EXPECT_TRUE(has(sata.block[0].mounts, "/ (sda2)"));
    EXPECT_TRUE(has(sata.block[0].mounts, "/boot (sda1)"));
    EXPECT_EQ(sata.block[0].swaps, std::vector<std::string>{"sda3"});
    EXPECT_TRUE(host.of(device(m, "0000:04:00.0")).block.empty());
}

TEST(HostUse, RootOnDeviceMapperCountsAgainstTheDiskBelowIt) {
    FakeMachine m("sata-root-group");
    // LUKS or LVM: / is dm-0, which sits on sda2.
    const std::string dm = "sys/devices/virtual/block/dm-0";
    m.copy.write(dm + "/dev", "254:0\n");
    m.copy.write(dm + "/dm/name", "cryptroot\n");
    link(m, "sys/block/dm-0", dm);
    link(m,
         "sys/bus/pci/devices/0000:07:00.0/ata1/host0/target0:0:0/0:0:0:0/block/sda/sda2/"
         "holders/dm-0",
         dm);
    std::string info = m.copy.read("proc/self/mountinfo");
    info.replace(info.find(" 8:2 "), 5, " 254:0 ");
    m.copy.write("proc/self/mountinfo", info);
    EXPECT_TRUE(HostUse::read(m.sys).of(device(m, "0000:07:00.0")).block[0].holds_root);

    // Without mountinfo, /proc/mounts names the device-mapper device.
    fs::remove(m.copy.dir() / "proc/self/mountinfo");
    m.copy.write("proc/mounts", "/dev/mapper/cryptroot / ext4 rw,relatime 0 0\n");
    auto block = HostUse::read(m.sys).of(device(m, "0000:07:00.0")).block;
    EXPECT_TRUE(block[0].holds_root);
    EXPECT_TRUE(has(block[0].mounts, "/ (dm-0)"));
}

TEST(HostUse, NicBehindABridgeCarriesTheBridgesDefaultRouteAndAddress) {
    FakeMachine m("sata-root-group");
    DeviceUse nic = HostUse::read(m.sys).of(device(m, "0000:05:00.0"));
    ASSERT_EQ(nic.net.size(), 1u);
    EXPECT_EQ(nic.net[0].name, "enp5s0");
    EXPECT_TRUE(nic.net[0].default_route);
    EXPECT_EQ(nic.net[0].addresses, std::vector<std::string>{"192.168.0.10 on br0"});
}

TEST(HostUse, Ipv4AndIpv6AddressesAndAnIpv6OnlyDefaultRoute) {
    FakeMachine m("usb-keyboard-group");
    DeviceUse nic = HostUse::read(m.sys).of(device(m, "0000:00:1f.6"));
    ASSERT_EQ(nic.net.size(), 1u);
    EXPECT_EQ(nic.net[0].addresses, (std::vector<std::string>{"192.168.1.50", "2001:db8::50"}));
    EXPECT_TRUE(nic.net[0].default_route);
    // Drop the IPv4 default: the IPv6 one still carries the host's traffic.
    std::string route = m.copy.read("proc/net/route");
    route.erase(route.find("eno1\t00000000"),
                route.find('\n', route.find("eno1\t00000000")) - route.find("eno1\t00000000") + 1);
    m.copy.write("proc/net/route", route);
    EXPECT_TRUE(HostUse::read(m.sys).of(device(m, "0000:00:1f.6")).net[0].default_route);
    m.copy.write("proc/net/ipv6_route", "");
    EXPECT_FALSE(HostUse::read(m.sys).of(device(m, "0000:00:1f.6")).net[0].default_route);
}

TEST(HostDisplay, ConnectedMonitorAndConsoleMakeTheBootGpuTheHostsScreen) {
    FakeMachine m("boot-gpu-display");
    DisplayUse d = read_display_use(m.sys, device(m, "0000:0a:00.0"));
    EXPECT_TRUE(d.drives_host_display());
    EXPECT_EQ(d.connected, std::vector<std::string>{"card0-HDMI-A-1"});
    EXPECT_TRUE(d.console);
    EXPECT_TRUE(d.firmware_framebuffer.empty());
}

TEST(HostDisplay, EachSignAloneIsEnoughAndNoneMeansHeadless) {
    FakeMachine m("boot-gpu-display");
    const PciDevice gpu = device(m, "0000:0a:00.0");
    // Monitor unplugged: the console alone still makes it the host's screen.
    m.copy.write("sys/bus/pci/devices/0000:0a:00.0/drm/card0/card0-HDMI-A-1/status",
                 "disconnected\n");
    EXPECT_TRUE(read_display_use(m.sys, gpu).drives_host_display());
    // Console unbound too: nothing shows the host on it.
    m.copy.write("sys/class/vtconsole/vtcon1/bind", "0\n");
    EXPECT_FALSE(read_display_use(m.sys, gpu).drives_host_display());
    // A firmware framebuffer still bound (seen through the platform bus, as non-root sees it).
    m.copy.write("sys/bus/platform/drivers/efi-framebuffer/bind", "");
    m.copy.write("sys/devices/platform/efi-framebuffer.0/uevent", "");
    link(m, "sys/bus/platform/devices/efi-framebuffer.0", "sys/devices/platform/efi-framebuffer.0");
    link(m, "sys/devices/platform/efi-framebuffer.0/driver",
         "sys/bus/platform/drivers/efi-framebuffer");
    DisplayUse d = read_display_use(m.sys, gpu);
    EXPECT_EQ(d.firmware_framebuffer, "efi-framebuffer");
    EXPECT_TRUE(d.drives_host_display());
}

TEST(HostDisplay, TheConsoleOnAnotherGpusFramebufferIsNotThisGpus) {
    FakeMachine m("sata-root-group");
    // fb0 belongs to the RX 6600; the RTX 3060 is not the boot GPU and shows nothing.
    EXPECT_TRUE(read_display_use(m.sys, device(m, "0000:0a:00.0")).console);
    DisplayUse guest = read_display_use(m.sys, device(m, "0000:04:00.0"));
    EXPECT_FALSE(guest.console);
    EXPECT_FALSE(guest.drives_host_display());
}

TEST(HostDisplay, AHeadlessBmcBootGpuIsNotTheHostsScreen) {
    FakeMachine m("rmrr-server");
    EXPECT_FALSE(read_display_use(m.sys, device(m, "0000:01:00.1")).drives_host_display());
}

TEST(HostLoss, OnlyKeyboardRootAndDefaultRouteAreCritical) {
    FakeMachine m("sata-root-group");
    HostLoss loss = assess_host_loss(
        m.sys, {device(m, "0000:05:00.0"), device(m, "0000:06:00.0"), device(m, "0000:07:00.0")});
    EXPECT_EQ(loss.critical.size(), 2u);
    EXPECT_TRUE(has(loss.critical, "holds the root filesystem"));
    EXPECT_TRUE(has(loss.critical, "carries the default route"));
    EXPECT_TRUE(has(loss.lost, "SanDisk Ultra Fit"));  // named, not critical
    // The keyboard is on the CPU's controller: taking it alone takes the only keyboard.
    HostLoss cpu_usb = assess_host_loss(m.sys, {device(m, "0000:0b:00.3")});
    ASSERT_EQ(cpu_usb.critical.size(), 1u);
    EXPECT_TRUE(has(cpu_usb.critical, "only keyboard (Corsair Corsair K70 RGB Gaming Keyboard"));
    EXPECT_TRUE(has(cpu_usb.lost, "mouse Logitech G502"));
}

TEST(IommuGroups, UsbControllerWithTheOnlyKeyboardMakesTheGroupSharedWithTheHost) {
    FakeMachine m("usb-keyboard-group");
    auto groups = read_iommu_groups(m.sys, m.ids);
    auto g =
        std::find_if(groups.begin(), groups.end(), [](const auto& x) { return x.number == 13; });
    ASSERT_NE(g, groups.end());
    EXPECT_EQ(g->verdict, Verdict::SharesWithHost);
    EXPECT_TRUE(has(g->reasons, "0000:04:00.0 (USB controller, xhci_hcd) is not part of the card"));
    EXPECT_TRUE(has(g->reasons, "only keyboard"));
    EXPECT_TRUE(has(g->reasons, "pcie_acs_override"));
    // The card's own functions may be bound; the host's controller is never advised.
    EXPECT_TRUE(has(g->reasons, "0000:03:00.1 (Audio device) is bound to the host driver"));
    EXPECT_FALSE(has(g->reasons, "0000:04:00.0 (USB controller) is bound to the host driver"));
}

TEST(IommuGroups, ChipsetGroupWithSataNicAndUsbSharesWithTheHost) {
    FakeMachine m("sata-root-group");
    auto groups = read_iommu_groups(m.sys, m.ids);
    auto g =
        std::find_if(groups.begin(), groups.end(), [](const auto& x) { return x.number == 15; });
    ASSERT_NE(g, groups.end());
    EXPECT_EQ(g->verdict, Verdict::SharesWithHost);
    for (const char* bdf : {"0000:05:00.0", "0000:06:00.0", "0000:07:00.0"})
        EXPECT_TRUE(has(g->reasons, bdf)) << bdf;
    EXPECT_TRUE(has(g->reasons, "root filesystem"));
    EXPECT_FALSE(has(g->reasons, "0000:02:00.0"));  // bridges are fine
}

TEST(IommuGroups, AnotherGpuInTheGroupIsAHostDevice) {
    FakeMachine m("rmrr-server");
    IommuGroup g;
    g.number = 99;
    for (const char* bdf : {"0000:04:00.0", "0000:04:00.1", "0000:08:00.0", "0000:08:00.1"})
        g.devices.push_back(device(m, bdf));
    judge_group(m.sys, g);
    EXPECT_EQ(g.verdict, Verdict::SharesWithHost);
    EXPECT_TRUE(has(g.reasons, "0000:08:00.0 (VGA controller, nouveau), 0000:08:00.1"));
    EXPECT_TRUE(has(g.reasons, "not part of the card in 0000:04:00"));
    // Once the second card is on vfio-pci, the guest has it already: nothing of the host's.
    for (auto& d : g.devices) {
        if (d.slot() == "0000:08:00") d.driver = kVfioDriver;
    }
    judge_group(m.sys, g);
    EXPECT_EQ(g.verdict, Verdict::NeedsBinding);
}

TEST(IommuGroups, TheDiskTheHostRunsFromIsHostNeedsNotNeedsBinding) {
    FakeMachine m("usb-keyboard-group");
    auto groups = read_iommu_groups(m.sys, m.ids);
    auto g =
        std::find_if(groups.begin(), groups.end(), [](const auto& x) { return x.number == 2; });
    ASSERT_NE(g, groups.end());
    EXPECT_EQ(g->verdict, Verdict::HostNeeds);
    EXPECT_TRUE(has(g->reasons, "root filesystem"));
    EXPECT_FALSE(has(g->reasons, "bind it to vfio-pci"));
}

TEST(IommuGroups, BootGpuDrivingTheMonitorIsHostDisplay) {
    for (auto [machine, number] :
         {std::pair{"boot-gpu-display", 4}, {"usb-keyboard-group", 1}, {"sata-root-group", 3}}) {
        FakeMachine m(machine);
        auto groups = read_iommu_groups(m.sys, m.ids);
        auto g = std::find_if(groups.begin(), groups.end(),
                              [number = number](const auto& x) { return x.number == number; });
        ASSERT_NE(g, groups.end()) << machine;
        EXPECT_EQ(g->verdict, Verdict::HostDisplay) << machine;
        EXPECT_FALSE(has(g->reasons, "bind it to vfio-pci")) << machine;
    }
}

}  // namespace
}  // namespace porthole::vfio
