#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "porthole/vfio/bind.hpp"
#include "porthole/vfio/doctor.hpp"
#include "porthole/vfio/libvirt.hpp"
#include "test_support.hpp"

namespace porthole::vfio {
namespace {

Finding finding(const std::vector<Finding>& all, const std::string& check) {
    auto it =
        std::find_if(all.begin(), all.end(), [&](const Finding& f) { return f.check == check; });
    if (it == all.end()) throw std::runtime_error("no finding " + check);
    return *it;
}

bool has_check(const std::vector<Finding>& all, const std::string& check) {
    return std::any_of(all.begin(), all.end(), [&](const Finding& f) { return f.check == check; });
}

TEST(Doctor, IommuOffFailsWithTheKernelFlags) {
    testing::FakeMachine m("iommu-off");
    auto f = run_doctor(m.sys, m.ids, {});
    EXPECT_EQ(finding(f, "cpu-virtualization").level, Level::Pass);
    EXPECT_EQ(finding(f, "iommu").level, Level::Fail);
    EXPECT_NE(finding(f, "iommu").fix.find("intel_iommu=on"), std::string::npos);
    EXPECT_FALSE(has_check(f, "interrupt-remapping"));  // meaningless without an IOMMU
}

TEST(Doctor, IntelDesktopFindings) {
    testing::FakeMachine m("intel-desktop");
    auto f = run_doctor(m.sys, m.ids, {});
    EXPECT_EQ(finding(f, "iommu").level, Level::Warn);  // intel_iommu=on without iommu=pt
    EXPECT_EQ(finding(f, "interrupt-remapping").level, Level::Pass);
    // The NIC's RMRR does not concern a guest that gets the GTX 1080.
    EXPECT_EQ(finding(f, "rmrr").level, Level::Pass);
    EXPECT_EQ(finding(f, "rmrr").detail.find("0000:00:1f.6"), std::string::npos);
    EXPECT_EQ(finding(f, "group 2 (0000:01:00.0)").level, Level::Warn);
    EXPECT_NE(finding(f, "group 2 (0000:01:00.0)").fix.find("bind 0000:01:00.0 0000:01:00.1"),
              std::string::npos);
    EXPECT_EQ(finding(f, "gpu-rom 0000:01:00.0").level, Level::Info);  // read only with --rom
    EXPECT_EQ(finding(run_doctor(m.sys, m.ids, {.read_roms = true}), "gpu-rom 0000:01:00.0").level,
              Level::Pass);
    EXPECT_EQ(finding(f, "vfio-driver").level, Level::Pass);
    EXPECT_FALSE(has_check(f, "group 1 (0000:00:02.0)"));  // the boot iGPU is the host's
}

TEST(Doctor, RyzenFindings) {
    testing::FakeMachine m("ryzen-2ccd");
    auto f = run_doctor(m.sys, m.ids, {.read_roms = true});
    EXPECT_EQ(finding(f, "vendor-reset 0000:0b:00.0").level, Level::Warn);
    EXPECT_EQ(finding(f, "gpu-rom 0000:0b:00.0").level, Level::Warn);
    EXPECT_NE(finding(f, "gpu-rom 0000:0b:00.0").detail.find("no UEFI image"), std::string::npos);
    EXPECT_EQ(finding(f, "vfio-driver").level, Level::Warn);
    EXPECT_EQ(finding(f, "acs-override").level, Level::Pass);
}

TEST(Doctor, VendorResetLoadedPassesOnlyWithTheDeviceSpecificReset) {
    testing::FakeMachine m("ryzen-2ccd");
    m.copy.write("sys/module/vendor_reset/refcnt", "0\n");
    // Loaded, but the RX 580 still resets by bus: vendor-reset's reset never runs.
    EXPECT_EQ(finding(run_doctor(m.sys, m.ids, {}), "vendor-reset 0000:0b:00.0").level,
              Level::Warn);
    m.copy.write("sys/bus/pci/devices/0000:0b:00.0/reset_method", "device_specific\n");
    EXPECT_EQ(finding(run_doctor(m.sys, m.ids, {}), "vendor-reset 0000:0b:00.0").level,
              Level::Pass);
}

TEST(Doctor, NumaServerFindings) {
    testing::FakeMachine m("numa-server");
    auto f = run_doctor(m.sys, m.ids, {});
    EXPECT_EQ(finding(f, "acs-override").level, Level::Warn);
    EXPECT_EQ(finding(f, "group 70 (0000:af:00.0)").level, Level::Pass);
    EXPECT_EQ(finding(f, "hugepages").level, Level::Pass);
    EXPECT_EQ(finding(f, "iommu").level, Level::Pass);
}

TEST(Doctor, RegionFileTooSmallFailsAndWorldWritableWarns) {
    testing::FakeMachine m("numa-server");
    const auto region = m.copy.dir() / "root/dev/shm/porthole";
    std::filesystem::create_directories(region.parent_path());
    m.copy.write("root/dev/shm/porthole", "");
    std::filesystem::resize_file(region, 1 << 20);
    EXPECT_EQ(finding(run_doctor(m.sys, m.ids, {}), "region-file").level, Level::Fail);

    std::filesystem::resize_file(region, region_size_bytes(1920, 1080));
    std::filesystem::permissions(region, std::filesystem::perms(0666));
    auto f = finding(run_doctor(m.sys, m.ids, {}), "region-file");
    EXPECT_EQ(f.level, Level::Warn);
    EXPECT_NE(f.detail.find("world-writable"), std::string::npos);

    std::filesystem::permissions(region, std::filesystem::perms(0660));
    EXPECT_EQ(finding(run_doctor(m.sys, m.ids, {}), "region-file").level, Level::Pass);
    // A bigger resolution needs a bigger region.
    EXPECT_EQ(
        finding(run_doctor(m.sys, m.ids, {.width = 7680, .height = 4320}), "region-file").level,
        Level::Fail);
}

TEST(Doctor, VendorResetListCoversPolarisButNotNewerCards) {
    PciDevice d;
    d.vendor = 0x1002;
    d.class_code = 0x030000;
    d.device = 0x67df;  // RX 580
    EXPECT_TRUE(needs_vendor_reset(d));
    d.device = 0x73bf;  // RX 6800: resets fine
    EXPECT_FALSE(needs_vendor_reset(d));
}

TEST(Doctor, WritesNothingUnlessAskedToReadTheRoms) {
    testing::FakeMachine m("intel-desktop");
    (void)run_doctor(m.sys, m.ids, {});
    EXPECT_TRUE(m.sys.journal().empty());
    (void)run_doctor(m.sys, m.ids, {.read_roms = true});
    ASSERT_EQ(m.sys.journal().size(), 2u);  // enable, read, disable the GTX 1080's ROM
    EXPECT_EQ(describe(m.sys.journal()[0]), "write /sys/bus/pci/devices/0000:01:00.0/rom <- 1");
    EXPECT_EQ(describe(m.sys.journal()[1]), "write /sys/bus/pci/devices/0000:01:00.0/rom <- 0");
}

TEST(Doctor, AReservedGigabytePoolIsHugePagesEvenWhenMeminfoSaysNone) {
    testing::FakeMachine m("usb-keyboard-group");
    auto f = finding(run_doctor(m.sys, m.ids, {}), "hugepages");
    EXPECT_EQ(f.level, Level::Pass);
    EXPECT_NE(f.detail.find("8 x 1G (8 free; node 0: 8)"), std::string::npos) << f.detail;
}

TEST(Doctor, RmrrIsCheckedOnlyOnTheGuestsDevices) {
    testing::FakeMachine m("rmrr-server");
    auto f = finding(run_doctor(m.sys, m.ids, {}), "rmrr");
    EXPECT_EQ(f.level, Level::Fail);  // the P2000 is pinned
    EXPECT_NE(f.detail.find("0000:04:00.0 (group 30, RMRR"), std::string::npos);
    EXPECT_EQ(f.detail.find("0000:02:00.0"), std::string::npos);  // the NIC is not the guest's
    EXPECT_NE(f.fix.find("another slot"), std::string::npos);
    // Once the clean card is on vfio-pci it is the guest's GPU, and RMRR no longer matters.
    ASSERT_TRUE(bind_devices(m.sys, m.ids, {"08:00.0", "08:00.1"}, {}));
    f = finding(run_doctor(m.sys, m.ids, {}), "rmrr");
    EXPECT_EQ(f.level, Level::Pass);
    EXPECT_NE(f.detail.find("0000:08:00.0, 0000:08:00.1"), std::string::npos);
}

TEST(Doctor, ASharedGroupsFixExplainsTheChoicesAndIsNeverABindLine) {
    testing::FakeMachine m("usb-keyboard-group");
    auto f = finding(run_doctor(m.sys, m.ids, {}), "group 13 (0000:03:00.0)");
    EXPECT_EQ(f.level, Level::Fail);
    EXPECT_NE(f.detail.find("shares the group with host devices"), std::string::npos);
    EXPECT_NE(f.fix.find("another slot"), std::string::npos);
    EXPECT_NE(f.fix.find("pcie_acs_override"), std::string::npos);
    EXPECT_NE(f.fix.find("peer-to-peer DMA"), std::string::npos);
    EXPECT_EQ(f.fix.find("porthole-vfio bind"), std::string::npos);
    EXPECT_EQ(f.detail.find("porthole-vfio bind"), std::string::npos);
}

TEST(Doctor, VendorResetIsJudgedByEachGpusResetMethod) {
    testing::FakeMachine m("amd-vendor-reset");
    auto f = run_doctor(m.sys, m.ids, {});
    EXPECT_EQ(finding(f, "vendor-reset 0000:0b:00.0").level, Level::Pass);  // device_specific
    EXPECT_EQ(finding(f, "vendor-reset 0000:0c:00.0").level, Level::Warn);  // bus
    EXPECT_EQ(finding(f, "vendor-reset 0000:0d:00.0").level, Level::Warn);  // bus first
    EXPECT_EQ(finding(f, "vendor-reset 0000:0e:00.0").level, Level::Pass);  // before 5.15
    EXPECT_NE(
        finding(f, "vendor-reset 0000:0c:00.0")
            .fix.find("echo device_specific > /sys/bus/pci/devices/0000:0c:00.0/reset_method"),
        std::string::npos);
    EXPECT_NE(finding(f, "vendor-reset 0000:0c:00.0").fix.find("persist 0000:0c:00.0"),
              std::string::npos);
    // Every method the kernel can list, on one GPU.
    for (auto [method, level] : {std::pair{"device_specific", Level::Pass},
                                 {"device_specific bus", Level::Pass},
                                 {"flr bus", Level::Warn},
                                 {"pm bus", Level::Warn},
                                 {"bus", Level::Warn},
                                 {"", Level::Warn}}) {
        m.copy.write("sys/bus/pci/devices/0000:0c:00.0/reset_method", std::string(method) + "\n");
        EXPECT_EQ(finding(run_doctor(m.sys, m.ids, {}), "vendor-reset 0000:0c:00.0").level, level)
            << "'" << method << "'";
    }
}

}  // namespace
}  // namespace porthole::vfio
