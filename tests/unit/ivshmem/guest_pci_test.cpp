// A Linux guest's side: the IVSHMEM PCI device's BAR2 found under a sysfs
// tree (a fixture here: regular files stand in for the device's resource files).
#include <gtest/gtest.h>

#include <cstring>

#include "porthole/ivshmem/mapping.hpp"
#include "temp_dir.hpp"

namespace porthole::test {
namespace {

constexpr std::size_t kMiB = std::size_t{1} << 20;

// A PCI function under root/bus/pci/devices with the given ids.
void add_device(const ScratchDir& root, const std::string& bdf, const std::string& vendor,
                const std::string& device) {
    const std::string dev = "bus/pci/devices/" + bdf + "/";
    root.write_text(dev + "vendor", vendor + "\n");
    root.write_text(dev + "device", device + "\n");
    root.write_text(dev + "enable", "0\n");
}

TEST(GuestPci, FindsOnlyIvshmemDevicesInBdfOrder) {
    ScratchDir root;
    add_device(root, "0000:00:04.0", "0x1af4", "0x1110");
    add_device(root, "0000:00:01.0", "0x8086", "0x29c0");  // the q35 host bridge
    add_device(root, "0000:00:03.0", "0x1af4", "0x1110");
    add_device(root, "0000:00:02.0", "0x1af4", "0x1000");  // virtio-net: same vendor
    const auto devs = ivshmem::find_ivshmem_devices(root.file(""));
    EXPECT_EQ(devs, (std::vector<std::string>{"0000:00:03.0", "0000:00:04.0"}));
}

TEST(GuestPci, MapsBar2PreferringWriteCombining) {
    ScratchDir root;
    add_device(root, "0000:00:03.0", "0x1af4", "0x1110");
    root.write("bus/pci/devices/0000:00:03.0/resource2", 2 * kMiB);
    root.write("bus/pci/devices/0000:00:03.0/resource2_wc", 4 * kMiB);
    auto m = ivshmem::open_guest_pci("auto", root.file(""));
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_EQ(m->bytes().size(), 4 * kMiB);  // resource2_wc's
    EXPECT_NE(m->description().find("0000:00:03.0"), std::string::npos) << m->description();
}

TEST(GuestPci, FallsBackToResource2AndAcceptsAShortBdf) {
    ScratchDir root;
    add_device(root, "0000:00:05.0", "0x1af4", "0x1110");
    const auto res = root.write("bus/pci/devices/0000:00:05.0/resource2", 2 * kMiB);
    auto m = ivshmem::open_guest_pci("00:05.0", root.file(""));
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_EQ(m->bytes().size(), 2 * kMiB);
    // The mapping is the resource file itself (MAP_SHARED), as the BAR would be.
    std::memcpy(m->bytes().data(), "bar2", 4);
    auto again = ivshmem::open_guest_pci("0000:00:05.0", root.file(""));
    ASSERT_TRUE(again);
    EXPECT_EQ(std::memcmp(again->bytes().data(), "bar2", 4), 0);
}

TEST(GuestPci, NoDeviceSaysHowToAddOne) {
    ScratchDir root;
    add_device(root, "0000:00:01.0", "0x8086", "0x29c0");
    auto m = ivshmem::open_guest_pci("auto", root.file(""));
    ASSERT_FALSE(m);
    EXPECT_NE(m.error().message.find("ivshmem-plain"), std::string::npos) << m.error().message;
    EXPECT_NE(m.error().message.find("<shmem>"), std::string::npos) << m.error().message;
}

TEST(GuestPci, NamedDeviceThatIsNotIvshmemIsRefused) {
    ScratchDir root;
    add_device(root, "0000:00:02.0", "0x1af4", "0x1000");
    root.write("bus/pci/devices/0000:00:02.0/resource2", kMiB);
    auto m = ivshmem::open_guest_pci("0000:00:02.0", root.file(""));
    ASSERT_FALSE(m);
    EXPECT_NE(m.error().message.find("not an IVSHMEM device"), std::string::npos)
        << m.error().message;
    auto missing = ivshmem::open_guest_pci("0000:00:09.0", root.file(""));
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find("no PCI device 0000:00:09.0"), std::string::npos)
        << missing.error().message;
}

TEST(GuestPci, DeviceWithoutBar2OrWithAnEmptyOneIsAnError) {
    ScratchDir root;
    add_device(root, "0000:00:03.0", "0x1af4", "0x1110");
    auto none = ivshmem::open_guest_pci("auto", root.file(""));
    ASSERT_FALSE(none);
    EXPECT_NE(none.error().message.find("no BAR2"), std::string::npos) << none.error().message;
    root.write("bus/pci/devices/0000:00:03.0/resource2", 0);
    auto empty = ivshmem::open_guest_pci("auto", root.file(""));
    ASSERT_FALSE(empty);
    EXPECT_NE(empty.error().message.find("no size"), std::string::npos) << empty.error().message;
}

}  // namespace
}  // namespace porthole::test
