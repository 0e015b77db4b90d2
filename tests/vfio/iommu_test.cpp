#include <gtest/gtest.h>

#include <algorithm>

#include "porthole/vfio/host.hpp"
#include "porthole/vfio/iommu.hpp"
#include "test_support.hpp"

namespace porthole::vfio {
namespace {

IommuGroup group(const std::vector<IommuGroup>& groups, int number) {
    auto it = std::find_if(groups.begin(), groups.end(),
                           [&](const IommuGroup& g) { return g.number == number; });
    if (it == groups.end()) throw std::runtime_error("no group " + std::to_string(number));
    return *it;
}

bool any_reason_has(const IommuGroup& g, const std::string& text) {
    return std::any_of(g.reasons.begin(), g.reasons.end(),
                       [&](const std::string& r) { return r.find(text) != std::string::npos; });
}

TEST(IommuGroups, SparseGroupNumbersAreAllListedInOrder) {
    testing::FakeMachine m("intel-desktop");
    auto groups = read_iommu_groups(m.sys, m.ids);
    std::vector<int> numbers;
    for (const auto& g : groups)
        numbers.push_back(g.number);
    EXPECT_EQ(numbers, (std::vector<int>{0, 1, 2, 4, 10, 12}));
}

TEST(IommuGroups, GpuWithAudioOnHostDriversNeedsBinding) {
    testing::FakeMachine m("intel-desktop");
    const auto& g = group(read_iommu_groups(m.sys, m.ids), 2);
    EXPECT_EQ(g.verdict, Verdict::NeedsBinding);
    EXPECT_TRUE(any_reason_has(g, "0000:01:00.1"));
    EXPECT_TRUE(any_reason_has(g, "snd_hda_intel"));
    EXPECT_FALSE(any_reason_has(g, "0000:00:01.0"));  // the root port is fine on pcieport
}

TEST(IommuGroups, ChipsetDevicesMakeAGroupNotViable) {
    testing::FakeMachine m("intel-desktop");
    const auto& g = group(read_iommu_groups(m.sys, m.ids), 10);
    EXPECT_EQ(g.verdict, Verdict::NotViable);
    EXPECT_TRUE(any_reason_has(g, "ISA bridge"));
}

TEST(IommuGroups, RmrrDirectRegionBlocksButRelaxableDoesNot) {
    testing::FakeMachine m("intel-desktop");
    auto groups = read_iommu_groups(m.sys, m.ids);
    EXPECT_EQ(group(groups, 12).verdict, Verdict::NotViable);
    EXPECT_TRUE(any_reason_has(group(groups, 12), "RMRR"));
    EXPECT_EQ(group(groups, 4).verdict, Verdict::NeedsBinding);  // USB: direct-relaxable only
}

TEST(IommuGroups, BootGpuUnderEfifbIsTheHostDisplayAndExplained) {
    testing::FakeMachine m("intel-desktop");
    const auto& g = group(read_iommu_groups(m.sys, m.ids), 1);
    EXPECT_EQ(g.verdict, Verdict::HostDisplay);
    EXPECT_TRUE(any_reason_has(g, "shows the host's screen"));
    EXPECT_TRUE(any_reason_has(g, "the firmware framebuffer (efifb)"));
    EXPECT_TRUE(any_reason_has(g, "'efifb' holds BAR 2"));
    EXPECT_TRUE(any_reason_has(g, "video=efifb:off"));
    EXPECT_FALSE(any_reason_has(g, "bind it to vfio-pci"));  // never advised for binding
}

TEST(IommuGroups, SimpledrmOnRyzenBootGpuIsFound) {
    testing::FakeMachine m("ryzen-2ccd");
    auto d = read_pci_device(m.sys, "0000:0a:00.0", m.ids);
    ASSERT_TRUE(d);
    auto claims = find_framebuffer_claims(m.sys, *d);
    ASSERT_EQ(claims.size(), 1u);
    EXPECT_EQ(claims[0].owner, "simple-framebuffer");
    EXPECT_EQ(claims[0].bar, 1);
}

TEST(IommuGroups, DeviceWithoutResetMethodIsNotViable) {
    testing::FakeMachine m("intel-desktop");
    m.copy.write("sys/bus/pci/devices/0000:01:00.1/reset_method", "");
    const auto& g = group(read_iommu_groups(m.sys, m.ids), 2);
    EXPECT_EQ(g.verdict, Verdict::NotViable);
    EXPECT_TRUE(any_reason_has(g, "0000:01:00.1 has no reset method"));
}

TEST(IommuGroups, GroupAlreadyOnVfioIsReady) {
    testing::FakeMachine m("numa-server");
    const auto& g = group(read_iommu_groups(m.sys, m.ids), 70);
    EXPECT_EQ(g.verdict, Verdict::Ready);
    EXPECT_TRUE(g.reasons.empty());
}

TEST(HostInfo, IommuOffGivesTheFlagsForTheCpuVendor) {
    testing::FakeMachine off("iommu-off");
    HostInfo h = read_host_info(off.sys);
    EXPECT_FALSE(h.iommu_enabled());
    EXPECT_EQ(h.vendor, CpuVendor::Intel);
    EXPECT_NE(iommu_off_message(h).find("intel_iommu=on iommu=pt"), std::string::npos);
    EXPECT_NE(iommu_off_message(h).find("VT-d"), std::string::npos);

    testing::FakeMachine amd("ryzen-2ccd");
    HostInfo a = read_host_info(amd.sys);
    EXPECT_TRUE(a.iommu_enabled());
    EXPECT_EQ(iommu_kernel_flags(a.vendor), (std::vector<std::string>{"amd_iommu=on", "iommu=pt"}));
    EXPECT_TRUE(a.interrupt_remapping.value_or(false));
}

TEST(HostInfo, AcsOverrideOnTheCommandLineIsNoticed) {
    testing::FakeMachine server("numa-server");
    EXPECT_TRUE(read_host_info(server.sys).acs_override);
    testing::FakeMachine desktop("intel-desktop");
    EXPECT_FALSE(read_host_info(desktop.sys).acs_override);
}

}  // namespace
}  // namespace porthole::vfio
