#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "fixture.hpp"
#include "porthole/vfio/system.hpp"

namespace porthole::vfio {
namespace {

TEST(CpuList, ParsesRangesAndSinglesSorted) {
    EXPECT_EQ(parse_cpu_list("8,0-3,10-11\n"), (std::vector<int>{0, 1, 2, 3, 8, 10, 11}));
    EXPECT_TRUE(parse_cpu_list("").empty());
}

TEST(CpuList, FormatIsTheInverseOfParse) {
    for (const std::string text : {"0-3,8,10,11", "0,12", "5", "0-23"}) {
        EXPECT_EQ(format_cpu_list(parse_cpu_list(text)), text);
    }
}

TEST(System, MapsLogicalPathsUnderEachRoot) {
    System sys({"/fx/sys", "/fx/proc", "/fx/root"}, std::make_unique<DryRunBackend>());
    EXPECT_EQ(sys.physical("/sys/bus/pci"), "/fx/sys/bus/pci");
    EXPECT_EQ(sys.physical("/proc/cmdline"), "/fx/proc/cmdline");
    EXPECT_EQ(sys.physical("/etc/default/grub"), "/fx/root/etc/default/grub");
    EXPECT_EQ(sys.physical("/system"), "/fx/root/system");  // not /sys
}

TEST(System, DryRunRecordsWritesInOrderAndChangesNothing) {
    testing::FixtureCopy copy("intel-desktop");
    System sys(copy.roots(), std::make_unique<DryRunBackend>());
    const std::string before = copy.read("sys/bus/pci/devices/0000:01:00.0/driver_override");
    ASSERT_TRUE(
        sys.write_attribute("/sys/bus/pci/devices/0000:01:00.0/driver_override", "vfio-pci"));
    ASSERT_TRUE(sys.write_file("/etc/x.conf", "x"));
    ASSERT_TRUE(sys.run({"update-grub"}));
    ASSERT_EQ(sys.journal().size(), 3u);
    EXPECT_EQ(describe(sys.journal()[0]),
              "write /sys/bus/pci/devices/0000:01:00.0/driver_override <- vfio-pci");
    EXPECT_EQ(describe(sys.journal()[2]), "run update-grub");
    EXPECT_EQ(copy.read("sys/bus/pci/devices/0000:01:00.0/driver_override"), before);
    EXPECT_FALSE(std::filesystem::exists(copy.dir() / "root/etc/x.conf"));
}

TEST(System, AttributeWriteNeverCreatesAMissingFile) {
    testing::FixtureCopy copy("intel-desktop");
    System sys(copy.roots(), std::make_unique<RealBackend>());
    auto s = sys.write_attribute("/sys/bus/pci/drivers/nonexistent/bind", "0000:01:00.0");
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().message.find("/sys/bus/pci/drivers/nonexistent/bind"), std::string::npos);
    EXPECT_FALSE(std::filesystem::exists(copy.dir() / "sys/bus/pci/drivers/nonexistent"));
}

TEST(System, ConfigFileIsCreatedWithItsModeAndParents) {
    testing::FixtureCopy copy("intel-desktop");
    System sys(copy.roots(), std::make_unique<RealBackend>());
    ASSERT_TRUE(sys.write_file("/etc/libvirt/hooks/qemu", "#!/bin/sh\n", 0755));
    auto info = sys.stat("/etc/libvirt/hooks/qemu");
    ASSERT_TRUE(info);
    EXPECT_EQ(info->mode, 0755u);
    EXPECT_EQ(copy.read("root/etc/libvirt/hooks/qemu"), "#!/bin/sh\n");
}

TEST(System, FailedCommandReportsItsExitStatus) {
    System sys({}, std::make_unique<RealBackend>());
    EXPECT_TRUE(sys.run({"true"}));
    auto s = sys.run({"false"});
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().message.find("exit status 1"), std::string::npos);
    auto missing = sys.run({"porthole-no-such-command"});
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find("not found"), std::string::npos);
}

}  // namespace
}  // namespace porthole::vfio
