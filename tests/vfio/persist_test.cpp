#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "porthole/vfio/persist.hpp"
#include "porthole/vfio/shell.hpp"
#include "support/command_output.hpp"
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
    auto p = plan_persist(m.sys, m.ids, {.bdfs = {"01:00.0", "01:00.1"}});
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
    auto p = plan_persist(m.sys, m.ids, {.bdfs = {"01:00.0", "01:00.1"}});
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
    auto p = plan_persist(m.sys, m.ids, {.bdfs = {"0b:00.0", "0b:00.1", "05:00.0", "06:00.0"}});
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
    // /etc/kernel/cmdline has amd_iommu=on; iommu=pt is only on the running kernel's command
    // line (added at the boot menu), so the next boot would lose it: it is written.
    EXPECT_EQ(p->cmdline_add, std::vector<std::string>{"iommu=pt"});
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
    auto p = plan_persist(m.sys, m.ids, {.bdfs = {"02:00.0"}});
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

TEST(Persist, ApplyUnderAnotherRootWritesTheFilesAndListsTheCommandsWithoutRunningThem) {
    testing::FakeMachine m("intel-desktop");
    auto p = plan_persist(m.sys, m.ids, {.bdfs = {"01:00.0", "01:00.1"}});
    ASSERT_TRUE(p);
    ASSERT_FALSE(p->commands.empty());
    ASSERT_TRUE(apply_persist(m.sys, *p));
    EXPECT_NE(m.copy.read("root/etc/default/grub").find("vfio-pci.ids=10de:10f0,10de:1b80"),
              std::string::npos);
    EXPECT_NE(m.copy.read("root/etc/modprobe.d/porthole-vfio.conf").find("softdep nvidia"),
              std::string::npos);
    EXPECT_TRUE(m.state->commands.empty());  // update-grub would act on this machine
    std::vector<std::vector<std::string>> listed;
    for (const auto& a : m.sys.journal()) {
        if (a.kind != ActionKind::RunCommand) continue;
        EXPECT_TRUE(a.not_run);
        listed.push_back(a.argv);
    }
    EXPECT_EQ(listed, p->commands);
}

TEST(Persist, ChrootRunsTheCommandsInsideTheRootWhenAsked) {
    testing::FakeMachine m("intel-desktop");
    auto p = plan_persist(m.sys, m.ids, {.bdfs = {"01:00.0", "01:00.1"}});
    ASSERT_TRUE(p);
    m.sys.set_chroot_commands(true);
    ASSERT_TRUE(apply_persist(m.sys, *p));
    ASSERT_EQ(m.state->commands.size(), p->commands.size());
    const std::string root = m.copy.roots().root.string();
    for (size_t i = 0; i < p->commands.size(); ++i) {
        std::vector<std::string> expected = {"chroot", root};
        expected.insert(expected.end(), p->commands[i].begin(), p->commands[i].end());
        EXPECT_EQ(m.state->commands[i], expected);
    }
}

namespace fs = std::filesystem;

bool has_note(const PersistPlan& p, const std::string& text) {
    return std::any_of(p.notes.begin(), p.notes.end(),
                       [&](const std::string& n) { return n.find(text) != std::string::npos; });
}

// What `sh` says GRUB_CMDLINE_LINUX_DEFAULT holds after sourcing these files in order.
std::string grub_value(const testing::FakeMachine& m, const std::vector<std::string>& files) {
    std::string script;
    for (const auto& f : files)
        script += ". " + shell_quote((m.copy.dir() / "root" / f.substr(1)).string()) + "; ";
    script += "printf %s \"$GRUB_CMDLINE_LINUX_DEFAULT\"";
    return porthole::test::command_output("sh -c " + shell_quote(script));
}

TEST(Persist, ComparesWithTheBootConfigurationNotTheRunningKernel) {
    testing::FakeMachine m("intel-desktop");
    // The running kernel has both flags (typed at the boot menu); the file has neither.
    m.copy.write("proc/cmdline", "BOOT_IMAGE=/vmlinuz root=UUID=4f1c ro intel_iommu=on iommu=pt\n");
    m.copy.write("root/etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n");
    auto p = plan_persist(m.sys, m.ids, {});
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(p->cmdline_add, (std::vector<std::string>{"intel_iommu=on", "iommu=pt"}));
    // And the other way round: in the file but not running yet means "reboot", not "add".
    m.copy.write("root/etc/default/grub",
                 "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=on iommu=pt\"\n");
    m.copy.write("proc/cmdline", "BOOT_IMAGE=/vmlinuz root=UUID=4f1c ro quiet\n");
    p = plan_persist(m.sys, m.ids, {});
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->cmdline_add.empty());
    EXPECT_TRUE(has_note(*p, "iommu=pt is in the boot configuration but not on the running"));
}

TEST(Persist, EditsTheGrubDropInThatHoldsTheEffectiveAssignment) {
    testing::FakeMachine m("usb-keyboard-group");
    const std::string main_file = m.copy.read("root/etc/default/grub");
    auto p = plan_persist(m.sys, m.ids, {.bdfs = {"03:00.0", "03:00.1"}});
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(p->cmdline_add, std::vector<std::string>{"vfio-pci.ids=10de:10f0,10de:1b81"});
    EXPECT_TRUE(has_note(*p, "IOMMU group 13 also holds 0000:04:00.0 (USB controller)"));
    ASSERT_TRUE(apply_persist(m.sys, *p));
    // The main file is untouched (no backup either); the drop-in holds the edit.
    EXPECT_FALSE(fs::exists(m.copy.dir() / "root/etc/default/grub.porthole-bak"));
    EXPECT_EQ(m.copy.read("root/etc/default/grub"), main_file);
    EXPECT_TRUE(
        fs::exists(m.copy.dir() / "root/etc/default/grub.d/60-passthrough.cfg.porthole-bak"));
    EXPECT_EQ(grub_value(m, {"/etc/default/grub", "/etc/default/grub.d/60-passthrough.cfg"}),
              "quiet intel_iommu=on iommu=pt default_hugepagesz=2M hugepagesz=1G hugepages=8 "
              "vfio-pci.ids=10de:10f0,10de:1b81");
}

TEST(Persist, BootGpuGetsTheFramebufferFlagThatMatchesItsFramebuffer) {
    testing::FakeMachine efifb("intel-desktop");  // efifb on the iGPU; the GTX stays for the host
    auto p = plan_persist(efifb.sys, efifb.ids, {.bdfs = {"00:02.0"}});
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_TRUE(contains(p->cmdline_add, "video=efifb:off"));
    EXPECT_TRUE(has_note(*p, "efifb holds its memory: video=efifb:off"));

    testing::FakeMachine simpledrm("ryzen-2ccd");  // simple-framebuffer on the boot GPU
    p = plan_persist(simpledrm.sys, simpledrm.ids, {.bdfs = {"0a:00.0", "0a:00.1"}});
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_TRUE(contains(p->cmdline_add, "initcall_blacklist=sysfb_init"));
    EXPECT_FALSE(contains(p->cmdline_add, "video=efifb:off"));
    EXPECT_TRUE(has_note(*p, "video=efifb:off does not stop"));

    testing::FakeMachine guest("intel-desktop");  // not the boot GPU: no framebuffer flag
    p = plan_persist(guest.sys, guest.ids, {.bdfs = {"01:00.0", "01:00.1"}});
    ASSERT_TRUE(p);
    EXPECT_FALSE(contains(p->cmdline_add, "video=efifb:off"));
}

TEST(Persist, RefusesTheOnlyGpuAtBootWithoutForce) {
    testing::FakeMachine m("boot-gpu-display");
    auto p = plan_persist(m.sys, m.ids, {.bdfs = {"0a:00.0", "0a:00.1"}});
    ASSERT_FALSE(p);
    EXPECT_NE(p.error().message.find("no other GPU is left for the host"), std::string::npos);
    EXPECT_NE(p.error().message.find("libvirt hooks"), std::string::npos);
    p = plan_persist(m.sys, m.ids, {.bdfs = {"0a:00.0", "0a:00.1"}, .force = true});
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_TRUE(contains(p->cmdline_add, "initcall_blacklist=sysfb_init"));
}

TEST(Persist, RefusesToGiveTheRootDiskControllerToVfioAtBoot) {
    testing::FakeMachine m("sata-root-group");
    auto p = plan_persist(m.sys, m.ids, {.bdfs = {"07:00.0"}});
    ASSERT_FALSE(p);
    EXPECT_NE(p.error().message.find("holds the root filesystem"), std::string::npos);
    EXPECT_TRUE(m.sys.journal().empty());
    p = plan_persist(m.sys, m.ids, {.bdfs = {"07:00.0"}, .force = true});
    ASSERT_TRUE(p);
    EXPECT_TRUE(has_note(*p, "--force: at boot the host loses this"));
}

TEST(Persist, HugepagesAtBootWriteAllThreeFlags) {
    testing::FakeMachine m("intel-desktop");
    auto p = plan_persist(m.sys, m.ids, {.hugepages = "16G", .hugepage_size = "1G"});
    ASSERT_TRUE(p) << p.error().message;
    for (const char* f : {"default_hugepagesz=1G", "hugepagesz=1G", "hugepages=16"})
        EXPECT_TRUE(contains(p->cmdline_add, f)) << f;
    ASSERT_TRUE(apply_persist(m.sys, *p));
    EXPECT_EQ(grub_value(m, {"/etc/default/grub"}),
              "quiet intel_iommu=on iommu=pt default_hugepagesz=1G hugepagesz=1G hugepages=16");
    // Without --page the host's default: 2 MiB pages on a CPU without pdpe1gb.
    testing::FakeMachine small("iommu-off");
    p = plan_persist(small.sys, small.ids, {.hugepages = "2G"});
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_TRUE(contains(p->cmdline_add, "hugepagesz=2M"));
    EXPECT_TRUE(contains(p->cmdline_add, "hugepages=1024"));
    EXPECT_FALSE(plan_persist(small.sys, small.ids, {.hugepages = "3M", .hugepage_size = "2M"}));
}

TEST(Persist, HugepagesAreRefusedWhereTheBootConfigurationAlreadySetsThem) {
    testing::FakeMachine m("usb-keyboard-group");
    auto p = plan_persist(m.sys, m.ids, {.hugepages = "16G", .hugepage_size = "1G"});
    ASSERT_FALSE(p);
    EXPECT_NE(p.error().message.find("default_hugepagesz=2M hugepagesz=1G hugepages=8"),
              std::string::npos);
}

TEST(Persist, SystemdBootEntriesEachGetWhatTheyLack) {
    testing::FakeMachine m("sata-root-group");
    auto p = plan_persist(m.sys, m.ids, {});
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(p->bootloader, "systemd-boot");
    EXPECT_EQ(p->cmdline_add, (std::vector<std::string>{"amd_iommu=on", "iommu=pt"}));
    const auto* arch = file(*p, "/boot/loader/entries/arch.conf");
    const auto* fallback = file(*p, "/boot/loader/entries/arch-fallback.conf");
    ASSERT_TRUE(arch && fallback);
    EXPECT_NE(arch->content.find("options root=PARTUUID=5d2f rw amd_iommu=on iommu=pt\n"),
              std::string::npos);
    EXPECT_NE(fallback->content.find("options root=PARTUUID=5d2f rw amd_iommu=on iommu=pt\n"),
              std::string::npos);
    EXPECT_FALSE(file(*p, "/boot/loader/entries/windows.conf"));
}

TEST(Persist, AnEmptyKernelCmdlineStartsFromTheRunningOneKeepingRoot) {
    testing::FakeMachine m("ryzen-2ccd");
    m.copy.write("root/etc/kernel/cmdline", "\n");
    // kernel-install uses the running command line then, which has the IOMMU flags already.
    auto p = plan_persist(m.sys, m.ids, {});
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_FALSE(file(*p, "/etc/kernel/cmdline"));
    p = plan_persist(m.sys, m.ids, {.bdfs = {"0b:00.0", "0b:00.1"}});
    ASSERT_TRUE(p) << p.error().message;
    const auto* cmdline = file(*p, "/etc/kernel/cmdline");
    ASSERT_TRUE(cmdline);
    EXPECT_EQ(cmdline->content,
              "root=PARTUUID=9a1 rw amd_iommu=on iommu=pt vfio-pci.ids=1002:67df,1002:aaf0\n");
}

TEST(Persist, AnUnreadableBootFileStopsEverything) {
    for (const char* path :
         {"root/etc/default/grub", "root/etc/initramfs-tools/modules", "root/etc/kernel/cmdline"}) {
        testing::FakeMachine m("intel-desktop");
        fs::remove(m.copy.dir() / path);
        fs::create_directories(m.copy.dir() / path);  // read() fails with EISDIR
        auto p = plan_persist(m.sys, m.ids, {.bdfs = {"01:00.0", "01:00.1"}});
        ASSERT_FALSE(p) << path;
        EXPECT_NE(p.error().message.find(std::string(path).substr(4)), std::string::npos);
        EXPECT_NE(p.error().message.find("Is a directory"), std::string::npos);
        EXPECT_NE(p.error().message.find("nothing was written"), std::string::npos);
        EXPECT_TRUE(m.sys.journal().empty());
    }
}

TEST(Persist, ApplyReplacesFilesAtomicallyKeepingTheOldOneAsABackup) {
    testing::FakeMachine m("intel-desktop");
    const std::string original = m.copy.read("root/etc/default/grub");
    auto p = plan_persist(m.sys, m.ids, {.bdfs = {"01:00.0", "01:00.1"}});
    ASSERT_TRUE(p);
    ASSERT_TRUE(apply_persist(m.sys, *p));
    EXPECT_EQ(m.copy.read("root/etc/default/grub.porthole-bak"), original);
    auto backup = m.sys.stat("/etc/default/grub.porthole-bak");
    ASSERT_TRUE(backup);
    EXPECT_EQ(backup->mode, 0600u);
    for (const auto& e : fs::directory_iterator(m.copy.dir() / "root/etc/default"))
        EXPECT_FALSE(e.path().filename().string().starts_with("."))
            << "temp file left: " << e.path();
    // A second, different change keeps the first backup and adds a dated one.
    const std::string first = m.copy.read("root/etc/default/grub");
    auto again = plan_persist(m.sys, m.ids, {.hugepages = "8G", .hugepage_size = "1G"});
    ASSERT_TRUE(again) << again.error().message;
    ASSERT_TRUE(apply_persist(m.sys, *again));
    EXPECT_EQ(m.copy.read("root/etc/default/grub.porthole-bak"), original);
    int dated = 0;
    for (const auto& e : fs::directory_iterator(m.copy.dir() / "root/etc/default")) {
        if (e.path().filename().string().starts_with("grub.porthole-bak-")) {
            ++dated;
            EXPECT_EQ(m.copy.read("root/etc/default/" + e.path().filename().string()), first);
        }
    }
    EXPECT_EQ(dated, 1);
}

TEST(Persist, VendorResetGetsAUdevRuleForTheGpusThatNeedIt) {
    testing::FakeMachine m("amd-vendor-reset");
    auto p = plan_persist(m.sys, m.ids, {.bdfs = {"0c:00.0", "0c:00.1"}});
    ASSERT_TRUE(p) << p.error().message;
    const auto* rule = file(*p, kVendorResetRule);
    ASSERT_TRUE(rule);
    EXPECT_NE(rule->content.find("ACTION==\"add\", SUBSYSTEM==\"pci\", KERNEL==\"0000:0c:00.0\", "
                                 "RUN+=\"/bin/sh -c 'echo device_specific > "
                                 "/sys/bus/pci/devices/0000:0c:00.0/reset_method'\""),
              std::string::npos);
    EXPECT_NE(rule->content.find("SUBSYSTEM==\"module\", KERNEL==\"vendor_reset\""),
              std::string::npos);
    EXPECT_EQ(rule->content.find("0000:0c:00.1"), std::string::npos);  // audio resets fine
    const auto* load = file(*p, kVendorResetLoad);
    ASSERT_TRUE(load);
    EXPECT_NE(load->content.find("\nvendor-reset\n"), std::string::npos);
    // Without vendor-reset there is nothing to select: the plan says what to install.
    testing::FakeMachine bare("ryzen-2ccd");
    p = plan_persist(bare.sys, bare.ids, {.bdfs = {"0b:00.0", "0b:00.1"}});
    ASSERT_TRUE(p);
    EXPECT_FALSE(file(*p, kVendorResetRule));
    EXPECT_TRUE(has_note(*p, "needs gnif/vendor-reset"));
}

}  // namespace
}  // namespace porthole::vfio
