#include <gtest/gtest.h>

#include <algorithm>

#include "porthole/vfio/persist.hpp"
#include "test_support.hpp"

namespace porthole::vfio {
namespace {

const PersistFile* file(const PersistPlan& p, const std::string& path) {
    for (const auto& f : p.files) {
        if (f.path == path) return &f;
    }
    return nullptr;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(Persist, UsesVfioPciIdsWhenNoHostDeviceSharesThem) {
    testing::FakeMachine m("intel-desktop");
    auto p = plan_persist(m.sys, m.ids, {"01:00.0", "01:00.1"});
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_TRUE(p->uses_ids);
    EXPECT_TRUE(contains(p->cmdline_add, "vfio-pci.ids=10de:10f0,10de:1b80"));
    EXPECT_TRUE(contains(p->cmdline_add, "iommu=pt"));
    EXPECT_FALSE(contains(p->cmdline_add, "intel_iommu=on"));  // already on the command line
    EXPECT_EQ(p->bootloader, "grub");
    const auto* grub = file(*p, "/etc/default/grub");
    ASSERT_TRUE(grub);
    EXPECT_NE(grub->content.find(
                  "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=on iommu=pt vfio-pci.ids="),
              std::string::npos);
    EXPECT_NE(grub->content.find("GRUB_TIMEOUT=5"), std::string::npos);  // the rest is kept
    EXPECT_EQ(p->commands.back(), std::vector<std::string>{"update-grub"});
    EXPECT_FALSE(file(*p, kOverrideScript));
}

TEST(Persist, SoftdepsNameTheHostDriversModules) {
    testing::FakeMachine m("intel-desktop");
    auto p = plan_persist(m.sys, m.ids, {"01:00.0", "01:00.1"});
    ASSERT_TRUE(p);
    const auto* conf = file(*p, kModprobeConf);
    ASSERT_TRUE(conf);
    EXPECT_NE(conf->content.find("softdep nvidia pre: vfio-pci"), std::string::npos);
    EXPECT_NE(conf->content.find("softdep snd_hda_intel pre: vfio-pci"), std::string::npos);
    const auto* modules = file(*p, "/etc/initramfs-tools/modules");
    ASSERT_TRUE(modules);
    EXPECT_NE(modules->content.find("# List of modules\nvfio_pci\nvfio\nvfio_iommu_type1\n"),
              std::string::npos);
}

TEST(Persist, UsesADriverOverrideRuleWhenAHostTwinWouldBeCaught) {
    testing::FakeMachine m("ryzen-2ccd");
    auto p = plan_persist(m.sys, m.ids, {"0b:00.0", "0b:00.1", "05:00.0", "06:00.0"});
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_FALSE(p->uses_ids);
    EXPECT_TRUE(std::none_of(p->cmdline_add.begin(), p->cmdline_add.end(),
                             [](const std::string& f) { return f.starts_with("vfio-pci.ids"); }));
    const auto* script = file(*p, kOverrideScript);
    ASSERT_TRUE(script);
    EXPECT_NE(script->content.find("0000:05:00.0/driver_override"), std::string::npos);
    EXPECT_EQ(script->content.find("0000:0e:00.3"), std::string::npos);  // the twin stays
    const auto* conf = file(*p, kModprobeConf);
    ASSERT_TRUE(conf);
    EXPECT_NE(conf->content.find("install vfio-pci /usr/local/sbin/porthole-vfio-override"),
              std::string::npos);
    EXPECT_NE(conf->content.find("softdep xhci_pci pre: vfio-pci"), std::string::npos);
    EXPECT_NE(conf->content.find("softdep amdgpu pre: vfio-pci"), std::string::npos);
    const auto* dracut = file(*p, "/etc/dracut.conf.d/porthole-vfio.conf");
    ASSERT_TRUE(dracut);
    EXPECT_NE(dracut->content.find(kOverrideScript), std::string::npos);
    EXPECT_EQ(p->bootloader, "systemd-boot");
    EXPECT_TRUE(p->cmdline_add.empty());  // amd_iommu=on iommu=pt already set
}

TEST(Persist, SystemdBootGetsTheFlagsInEtcKernelCmdline) {
    testing::FakeMachine m("ryzen-2ccd");
    m.copy.write("proc/cmdline", "root=PARTUUID=9a1 rw\n");
    auto p = plan_persist(m.sys, m.ids, {});
    ASSERT_TRUE(p);
    const auto* cmdline = file(*p, "/etc/kernel/cmdline");
    ASSERT_TRUE(cmdline);
    // amd_iommu=on was already in the file: only the missing flag is added.
    EXPECT_EQ(cmdline->content, "root=PARTUUID=9a1 rw amd_iommu=on iommu=pt\n");
}

TEST(Persist, ArchWithGrubAndMkinitcpio) {
    testing::FakeMachine m("iommu-off");
    auto p = plan_persist(m.sys, m.ids, {"02:00.0"});
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_TRUE(contains(p->cmdline_add, "intel_iommu=on"));
    EXPECT_TRUE(contains(p->cmdline_add, "vfio-pci.ids=10de:1f96"));
    const auto* mk = file(*p, "/etc/mkinitcpio.conf.d/porthole-vfio.conf");
    ASSERT_TRUE(mk);
    EXPECT_NE(mk->content.find("MODULES+=(vfio_pci vfio vfio_iommu_type1)"), std::string::npos);
    EXPECT_EQ(p->commands.front(), (std::vector<std::string>{"mkinitcpio", "-P"}));
    EXPECT_EQ(p->commands.back(),
              (std::vector<std::string>{"grub-mkconfig", "-o", "/boot/grub/grub.cfg"}));
}

TEST(Persist, ApplyWritesTheFilesThenRunsTheCommands) {
    testing::FakeMachine m("intel-desktop");
    auto p = plan_persist(m.sys, m.ids, {"01:00.0", "01:00.1"});
    ASSERT_TRUE(p);
    ASSERT_TRUE(apply_persist(m.sys, *p));
    EXPECT_NE(m.copy.read("root/etc/default/grub").find("vfio-pci.ids=10de:10f0,10de:1b80"),
              std::string::npos);
    EXPECT_NE(m.copy.read("root/etc/modprobe.d/porthole-vfio.conf").find("softdep nvidia"),
              std::string::npos);
    EXPECT_EQ(m.state->commands, p->commands);
}

}  // namespace
}  // namespace porthole::vfio
