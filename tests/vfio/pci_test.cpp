#include <gtest/gtest.h>

#include "test_support.hpp"

namespace porthole::vfio {
namespace {

TEST(PciAddress, ShortFormGetsDomainZero) {
    auto bdf = normalize_bdf("01:00.1");
    ASSERT_TRUE(bdf);
    EXPECT_EQ(*bdf, "0000:01:00.1");
    EXPECT_EQ(*normalize_bdf("0000:0B:00.0"), "0000:0b:00.0");
}

TEST(PciAddress, GarbageIsRefusedWithTheExpectedForm) {
    for (const char* bad : {"1:0.0", "0000:01:00.8", "gpu", "0000:01:00"}) {
        auto bdf = normalize_bdf(bad);
        ASSERT_FALSE(bdf) << bad;
        EXPECT_NE(bdf.error().message.find("lspci -D"), std::string::npos);
    }
}

TEST(PciIds, ParsesVendorsAndDevicesAndStopsAtClasses) {
    auto ids = PciIds::parse(
        "# c\n10de  NVIDIA Corporation\n\t1b80  GP104 [GeForce GTX 1080]\n"
        "\t\t1043 8591  a subsystem\nC 03  Display controller\n\t00  VGA\n");
    EXPECT_EQ(ids.vendor(0x10de), "NVIDIA Corporation");
    EXPECT_EQ(ids.device(0x10de, 0x1b80), "GP104 [GeForce GTX 1080]");
    EXPECT_EQ(ids.device(0x10de, 0x1b81), "");
}

TEST(PciDevice, ReadsEveryAttributeFromSysfs) {
    testing::FakeMachine m("intel-desktop");
    auto d = read_pci_device(m.sys, "0000:01:00.0", m.ids);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->ids(), "10de:1b80");
    EXPECT_TRUE(d->is_display());
    EXPECT_EQ(d->driver, "nvidia");
    EXPECT_EQ(d->driver_override, "");
    EXPECT_EQ(d->iommu_group, 2);
    EXPECT_EQ(d->reset_methods, std::vector<std::string>{"bus"});
    EXPECT_FALSE(d->boot_vga);
    EXPECT_TRUE(d->has_rom);
    EXPECT_EQ(d->device_name, "GP104 [GeForce GTX 1080]");
    EXPECT_EQ(d->slot(), "0000:01:00");
}

TEST(PciDevice, MissingDeviceErrorNamesIt) {
    testing::FakeMachine m("intel-desktop");
    auto d = read_pci_device(m.sys, "0000:09:00.0", m.ids);
    ASSERT_FALSE(d);
    EXPECT_NE(d.error().message.find("0000:09:00.0"), std::string::npos);
}

}  // namespace
}  // namespace porthole::vfio
