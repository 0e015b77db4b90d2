// `porthole-vfio region`: the tmpfiles.d rule that lets QEMU and the desktop
// user share the region file, written on a --root tree through the fake kernel.
#include <gtest/gtest.h>

#include <filesystem>

#include "porthole/vfio/doctor.hpp"
#include "porthole/vfio/region.hpp"
#include "test_support.hpp"

namespace porthole::vfio {
namespace {

// A Debian host with libvirt: libvirt-qemu's group exists, alice is the desktop user.
void add_accounts(const testing::FakeMachine& m) {
    m.copy.write("root/etc/passwd",
                 "root:x:0:0:root:/root:/bin/bash\n"
                 "alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash\n"
                 "libvirt-qemu:x:64055:108:Libvirt Qemu,,,:/var/lib/libvirt:/usr/sbin/nologin\n");
    m.copy.write("root/etc/group",
                 "root:x:0:\nkvm:x:108:\nlibvirt-qemu:x:64055:libvirt-qemu\nalice:x:1000:\n"
                 "qemugrp:x:2000:\n");
}

TEST(RegionRule, GivesTheUserOwnershipAndQemusGroupMode0660) {
    testing::FakeMachine m("intel-desktop");
    add_accounts(m);
    auto rule = plan_region_rule(m.sys, {.user = "alice"});
    ASSERT_TRUE(rule) << rule.error().message;
    EXPECT_EQ(rule->line, "f /dev/shm/porthole 0660 alice libvirt-qemu -");
    ASSERT_TRUE(apply_region_rule(m.sys, *rule));
    const std::string written = m.copy.read("root/etc/tmpfiles.d/porthole.conf");
    EXPECT_NE(written.find("\nf /dev/shm/porthole 0660 alice libvirt-qemu -\n"), std::string::npos)
        << written;
    // The rule is read back by the doctor, which then passes the access check.
    EXPECT_EQ(region_rule_line(m.sys, "/dev/shm/porthole"), rule->line);
}

TEST(RegionRule, QemuConfGroupWinsOverTheDistributionDefault) {
    testing::FakeMachine m("intel-desktop");
    add_accounts(m);
    m.copy.write("root/etc/libvirt/qemu.conf",
                 "# group = \"kvm\"\nuser = \"libvirt-qemu\"\ngroup = \"qemugrp\"\n");
    auto rule = plan_region_rule(m.sys, {.user = "alice"});
    ASSERT_TRUE(rule) << rule.error().message;
    EXPECT_EQ(rule->group, "qemugrp");
    EXPECT_EQ(rule->group_source, "group in /etc/libvirt/qemu.conf");
}

TEST(RegionRule, TheVmsShmemNamesTheFileAndOtherRegionsLinesAreKept) {
    testing::FakeMachine m("intel-desktop");
    add_accounts(m);
    m.copy.write("root/etc/libvirt/qemu/win11.xml",
                 "<domain type='kvm'><name>win11</name><devices>\n"
                 "<shmem name=\"win11-region\"><model type='ivshmem-plain'/>"
                 "<size unit='M'>64</size></shmem></devices></domain>\n");
    m.copy.write("root/etc/tmpfiles.d/porthole.conf",
                 "# old header\nf /dev/shm/other 0660 alice kvm -\n"
                 "f /dev/shm/win11-region 0644 root root -\n");
    auto rule = plan_region_rule(m.sys, {.user = "alice", .vm = "win11"});
    ASSERT_TRUE(rule) << rule.error().message;
    EXPECT_EQ(rule->path, "/dev/shm/win11-region");
    ASSERT_TRUE(apply_region_rule(m.sys, *rule));
    const std::string written = m.copy.read("root/etc/tmpfiles.d/porthole.conf");
    EXPECT_NE(written.find("f /dev/shm/other 0660 alice kvm -\n"), std::string::npos) << written;
    EXPECT_NE(written.find("f /dev/shm/win11-region 0660 alice libvirt-qemu -\n"),
              std::string::npos)
        << written;
    EXPECT_EQ(written.find("0644 root root"), std::string::npos) << written;
    // The old file is kept as a backup, as for every file porthole-vfio replaces.
    EXPECT_TRUE(
        std::filesystem::exists(m.copy.dir() / "root/etc/tmpfiles.d/porthole.conf.porthole-bak"));
}

TEST(RegionRule, RefusesUnknownUsersVmsWithoutShmemAndDevices) {
    testing::FakeMachine m("intel-desktop");
    add_accounts(m);
    EXPECT_FALSE(plan_region_rule(m.sys, {.user = "mallory"}));
    EXPECT_FALSE(plan_region_rule(m.sys, {.user = "alice alice"}));
    EXPECT_FALSE(plan_region_rule(m.sys, {.user = "alice", .group = "nogroup"}));
    m.copy.write("root/etc/libvirt/qemu/plain.xml", "<domain><name>plain</name></domain>\n");
    auto no_shmem = plan_region_rule(m.sys, {.user = "alice", .vm = "plain"});
    ASSERT_FALSE(no_shmem);
    EXPECT_NE(no_shmem.error().message.find("libvirt snippets"), std::string::npos);
    EXPECT_FALSE(plan_region_rule(m.sys, {.user = "alice", .vm = "missing"}));
    // A kvmfr device is the kernel's: its permissions are a udev rule's business.
    auto device = plan_region_rule(m.sys, {.user = "alice", .path = "/dev/kvmfr0"});
    ASSERT_FALSE(device);
    EXPECT_NE(device.error().message.find("udev"), std::string::npos);
    EXPECT_FALSE(std::filesystem::exists(m.copy.dir() / "root/etc/tmpfiles.d/porthole.conf"));
}

TEST(RegionRule, RunsSystemdTmpfilesOnlyWhenTheSystemHasIt) {
    testing::FakeMachine m("intel-desktop");
    add_accounts(m);
    auto without = plan_region_rule(m.sys, {.user = "alice"});
    ASSERT_TRUE(without);
    ASSERT_FALSE(without->notes.empty());
    EXPECT_NE(without->notes.back().find("chown alice:libvirt-qemu /dev/shm/porthole"),
              std::string::npos);
    ASSERT_TRUE(apply_region_rule(m.sys, *without));
    EXPECT_EQ(m.sys.journal().back().kind, ActionKind::WriteFile);

    m.copy.write("root/usr/bin/systemd-tmpfiles", "");
    auto with = plan_region_rule(m.sys, {.user = "alice"});
    ASSERT_TRUE(with);
    EXPECT_TRUE(with->notes.empty());
    ASSERT_TRUE(apply_region_rule(m.sys, *with));
    // Listed for the user, never run: --root is another system, not this machine.
    const Action& last = m.sys.journal().back();
    EXPECT_EQ(last.kind, ActionKind::RunCommand);
    EXPECT_EQ(last.argv, (std::vector<std::string>{"/usr/bin/systemd-tmpfiles", "--create",
                                                   "/etc/tmpfiles.d/porthole.conf"}));
    EXPECT_TRUE(last.not_run);
    EXPECT_TRUE(m.state->commands.empty());
}

TEST(RegionRule, DoctorAsksForTheRuleUntilItExists) {
    testing::FakeMachine m("intel-desktop");
    add_accounts(m);
    auto access = [&] {
        for (const auto& f : run_doctor(m.sys, m.ids, {}))
            if (f.check == "region-access") return f;
        throw std::runtime_error("no region-access finding");
    };
    auto before = access();
    EXPECT_EQ(before.level, Level::Warn);
    EXPECT_NE(before.fix.find("porthole-vfio region --user"), std::string::npos);
    EXPECT_EQ(before.fix.find("udev"), std::string::npos);
    ASSERT_TRUE(apply_region_rule(m.sys, *plan_region_rule(m.sys, {.user = "alice"})));
    EXPECT_EQ(access().level, Level::Pass);
}

}  // namespace
}  // namespace porthole::vfio
