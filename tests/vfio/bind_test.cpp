#include <gtest/gtest.h>

#include <algorithm>

#include "porthole/vfio/bind.hpp"
#include "test_support.hpp"

namespace porthole::vfio {
namespace {

using testing::FakeMachine;

std::vector<std::string> journal_lines(const System& sys) {
    std::vector<std::string> out;
    for (const auto& a : sys.journal())
        out.push_back(describe(a));
    return out;
}

bool has(const std::vector<std::string>& v, const std::string& text) {
    return std::any_of(v.begin(), v.end(),
                       [&](const std::string& s) { return s.find(text) != std::string::npos; });
}

TEST(Bind, MovesTheWholeGroupInLibvirtsOrder) {
    FakeMachine m("intel-desktop");
    auto r = bind_devices(m.sys, m.ids, {"01:00.0", "01:00.1"}, {});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->bound, (std::vector<std::string>{"0000:01:00.0", "0000:01:00.1"}));
    EXPECT_EQ(m.driver("0000:01:00.0"), "vfio-pci");
    EXPECT_EQ(m.driver("0000:01:00.1"), "vfio-pci");
    auto j = journal_lines(m.sys);
    ASSERT_GE(j.size(), 4u);
    EXPECT_EQ(j[0], "write /sys/bus/pci/devices/0000:01:00.0/driver_override <- vfio-pci");
    EXPECT_EQ(j[1], "write /sys/bus/pci/drivers/nvidia/unbind <- 0000:01:00.0");
    EXPECT_EQ(j[2], "write /sys/bus/pci/drivers_probe <- 0000:01:00.0");
    EXPECT_EQ(m.sys.read_trimmed(previous_driver_file("0000:01:00.0")), "nvidia");
}

TEST(Bind, RefusesWhenAGroupMateStaysOnAHostDriverAndWritesNothing) {
    FakeMachine m("intel-desktop");
    auto r = bind_devices(m.sys, m.ids, {"0000:01:00.0"}, {});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("0000:01:00.1"), std::string::npos);
    EXPECT_NE(r.error().message.find("snd_hda_intel"), std::string::npos);
    EXPECT_NE(r.error().message.find("--with-group"), std::string::npos);
    EXPECT_TRUE(m.sys.journal().empty());
    EXPECT_EQ(m.driver("0000:01:00.0"), "nvidia");
}

TEST(Bind, WithGroupTakesTheGroupMatesToo) {
    FakeMachine m("intel-desktop");
    auto r = bind_devices(m.sys, m.ids, {"0000:01:00.0"}, {.with_group = true});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(m.driver("0000:01:00.1"), "vfio-pci");
    EXPECT_TRUE(has(r->notes, "group-mate 0000:01:00.1"));
    EXPECT_EQ(m.driver("0000:00:01.0"), "pcieport");  // the bridge stays
}

TEST(Bind, OffersAndWithFunctionsTakesTheCardsOtherFunctions) {
    FakeMachine m("intel-desktop");
    auto r = bind_devices(m.sys, m.ids, {"0000:01:00.0"}, {.with_functions = true});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_TRUE(has(r->notes, "another function of 0000:01:00.0"));
    EXPECT_EQ(m.driver("0000:01:00.1"), "vfio-pci");
}

TEST(Bind, RollsBackToPreviousDriverWhenProbeFails) {
    FakeMachine m("intel-desktop");
    m.state->probe_binds_nothing.insert("0000:01:00.1");
    auto r = bind_devices(m.sys, m.ids, {"01:00.0", "01:00.1"}, {});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("no driver took the device"), std::string::npos);
    EXPECT_EQ(m.driver("0000:01:00.0"), "nvidia");
    EXPECT_EQ(m.driver("0000:01:00.1"), "snd_hda_intel");
    EXPECT_EQ(m.override_of("0000:01:00.0"), "(null)");
    EXPECT_EQ(m.override_of("0000:01:00.1"), "(null)");
}

TEST(Bind, RollsBackWhenTheHostDriverRefusesToLetGo) {
    FakeMachine m("intel-desktop");
    m.state->failing_writes["/sys/bus/pci/drivers/snd_hda_intel/unbind"] = EBUSY;
    auto r = bind_devices(m.sys, m.ids, {"01:00.0", "01:00.1"}, {});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("Device or resource busy"), std::string::npos);
    EXPECT_NE(r.error().message.find("returned 0000:01:00.0 to nvidia"), std::string::npos);
    EXPECT_EQ(m.driver("0000:01:00.0"), "nvidia");
    EXPECT_EQ(m.driver("0000:01:00.1"), "snd_hda_intel");
    EXPECT_EQ(m.override_of("0000:01:00.1"), "(null)");
}

TEST(Bind, FailingFirstStepLeavesTheDeviceOnItsDriver) {
    FakeMachine m("intel-desktop");
    m.state->failing_writes["/sys/bus/pci/devices/0000:01:00.0/driver_override"] = EACCES;
    auto r = bind_devices(m.sys, m.ids, {"01:00.0", "01:00.1"}, {});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("binding 0000:01:00.0 to vfio-pci failed"), std::string::npos);
    EXPECT_NE(r.error().message.find("Permission denied"), std::string::npos);
    EXPECT_EQ(m.driver("0000:01:00.0"), "nvidia");
    EXPECT_EQ(m.driver("0000:01:00.1"), "snd_hda_intel");  // never touched
    EXPECT_FALSE(has(journal_lines(m.sys), "0000:01:00.1"));
}

TEST(Bind, CanBeRepeatedAfterAnUnbind) {
    FakeMachine m("intel-desktop");
    for (int round = 0; round < 2; ++round) {
        ASSERT_TRUE(bind_devices(m.sys, m.ids, {"01:00.0", "01:00.1"}, {}));
        EXPECT_EQ(m.driver("0000:01:00.0"), "vfio-pci");
        ASSERT_TRUE(unbind_devices(m.sys, m.ids, {"01:00.0", "01:00.1"}));
        EXPECT_EQ(m.driver("0000:01:00.0"), "nvidia");
        EXPECT_EQ(m.driver("0000:01:00.1"), "snd_hda_intel");
    }
}

TEST(Bind, ExplainsTheFramebufferAndConsoleOnTheBootGpuWhenForced) {
    FakeMachine m("intel-desktop");
    auto r = bind_devices(m.sys, m.ids, {"0000:00:02.0"}, {.force = true});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_TRUE(has(r->notes, "'efifb' holds BAR 2 of 0000:00:02.0"));
    EXPECT_TRUE(has(r->notes, "/sys/class/vtconsole/vtcon1/bind"));
}

TEST(Bind, RefusesAGroupHoldingChipsetDevices) {
    FakeMachine m("intel-desktop");
    auto r = bind_devices(m.sys, m.ids, {"0000:00:1f.4"}, {.with_group = true});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("cannot give away"), std::string::npos);
    EXPECT_TRUE(m.sys.journal().empty());
}

TEST(Bind, MissingVfioDriverSaysToLoadIt) {
    FakeMachine m("ryzen-2ccd");
    auto r = bind_devices(m.sys, m.ids, {"0000:0b:00.0"}, {.with_group = true});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("modprobe vfio-pci"), std::string::npos);
    EXPECT_TRUE(m.sys.journal().empty());
}

TEST(Bind, IommuOffIsReportedBeforeAnyWrite) {
    FakeMachine m("iommu-off");
    auto r = bind_devices(m.sys, m.ids, {"0000:02:00.0"}, {});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("IOMMU is off"), std::string::npos);
    EXPECT_TRUE(m.sys.journal().empty());
}

TEST(Bind, DeviceAlreadyOnVfioIsLeftAlone) {
    FakeMachine m("numa-server");
    auto r = bind_devices(m.sys, m.ids, {"af:00.0", "af:00.1"}, {});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_TRUE(r->bound.empty());
    EXPECT_EQ(r->already.size(), 2u);
    EXPECT_TRUE(m.sys.journal().empty());
}

TEST(Bind, DryRunListsTheStepsAndChangesNothing) {
    testing::FixtureCopy copy("intel-desktop");
    System sys(copy.roots(), std::make_unique<DryRunBackend>());
    auto ids = PciIds::load(sys);
    auto r = bind_devices(sys, ids, {"01:00.0", "01:00.1"}, {});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(sys.journal().size(), 8u);  // 3 sysfs writes + 1 state file, per device
    EXPECT_EQ(sys.link_name("/sys/bus/pci/devices/0000:01:00.0/driver"), "nvidia");
}

TEST(Bind, WithGroupRefusesToTakeTheOnlyKeyboardAndNamesWhatTheHostLoses) {
    FakeMachine m("usb-keyboard-group");
    auto r = bind_devices(m.sys, m.ids, {"03:00.0"}, {.with_group = true});
    ASSERT_FALSE(r);
    const std::string& e = r.error().message;
    EXPECT_NE(e.find("the host's only keyboard (Logitech USB Keyboard (046d:c31c))"),
              std::string::npos);
    // Keyboards first, then mice, then the rest.
    auto keyboard = e.find("keyboard Logitech USB Keyboard"), mouse = e.find("mouse Logitech"),
         stick = e.find("SanDisk Cruzer Blade");
    ASSERT_NE(stick, std::string::npos);
    EXPECT_LT(keyboard, mouse);
    EXPECT_LT(mouse, stick);
    EXPECT_NE(e.find("--force"), std::string::npos);
    EXPECT_TRUE(m.sys.journal().empty());
    EXPECT_EQ(m.driver("0000:04:00.0"), "xhci_hcd");
}

TEST(Bind, ASecondKeyboardLetsTheGroupGoWithEveryLossNamed) {
    FakeMachine m("usb-keyboard-group");
    testing::add_ps2_keyboard(m);
    auto r = bind_devices(m.sys, m.ids, {"03:00.0"}, {.with_group = true});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(m.driver("0000:04:00.0"), "vfio-pci");
    EXPECT_TRUE(has(r->notes,
                    "the host loses the keyboard Logitech USB Keyboard (046d:c31c) at "
                    "USB 3-1, behind 0000:04:00.0 (USB controller)"));
    EXPECT_TRUE(has(r->notes, "the host loses the mouse Logitech USB Optical Mouse"));
    EXPECT_TRUE(has(r->notes, "the host loses the USB device SanDisk Cruzer Blade"));
}

TEST(Bind, WithoutWithGroupAHostDeviceInTheGroupIsExplainedNotSuggested) {
    FakeMachine m("sata-root-group");
    auto r = bind_devices(m.sys, m.ids, {"04:00.0", "04:00.1"}, {});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("not part of the card"), std::string::npos);
    EXPECT_NE(r.error().message.find("another slot"), std::string::npos);
    EXPECT_EQ(r.error().message.find("porthole-vfio bind"), std::string::npos);
    EXPECT_TRUE(m.sys.journal().empty());
}

TEST(Bind, RefusesToTakeTheRootFilesystem) {
    FakeMachine m("sata-root-group");
    m.copy.write("proc/net/route", "Iface\tDestination\n");  // no default route anywhere
    auto r = bind_devices(m.sys, m.ids, {"04:00.0"}, {.with_group = true});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("0000:07:00.0 (SATA controller) holds the root filesystem"),
              std::string::npos);
    EXPECT_NE(r.error().message.find("/ (sda2)"), std::string::npos);
    EXPECT_EQ(r.error().message.find("default route"), std::string::npos);
    EXPECT_TRUE(m.sys.journal().empty());
}

TEST(Bind, RefusesToTakeTheDefaultRouteEvenThroughABridge) {
    FakeMachine m("sata-root-group");
    std::string info = m.copy.read("proc/self/mountinfo");  // / elsewhere, not on sda
    info.replace(info.find(" 8:2 "), 5, " 259:2 ");
    m.copy.write("proc/self/mountinfo", info);
    auto r = bind_devices(m.sys, m.ids, {"04:00.0"}, {.with_group = true});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("enp5s0 behind 0000:05:00.0 (Ethernet controller) carries "
                                     "the default route"),
              std::string::npos);
    EXPECT_EQ(r.error().message.find("root filesystem"), std::string::npos);
    EXPECT_TRUE(m.sys.journal().empty());
}

TEST(Bind, ForceTakesWhatTheHostNeedsAndSaysSo) {
    FakeMachine m("sata-root-group");
    auto r = bind_devices(m.sys, m.ids, {"04:00.0"}, {.with_group = true, .force = true});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(m.driver("0000:07:00.0"), "vfio-pci");
    EXPECT_TRUE(has(r->notes,
                    "--force: taking it anyway: 0000:07:00.0 (SATA controller) holds "
                    "the root filesystem"));
}

TEST(Bind, RefusesTheHostDisplayWithoutForceSayingWhy) {
    FakeMachine m("boot-gpu-display");
    auto r = bind_devices(m.sys, m.ids, {"0a:00.0", "0a:00.1"}, {});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("0000:0a:00.0 (VGA controller) is the boot GPU and shows the "
                                     "host's screen (a monitor is connected to it "
                                     "(card0-HDMI-A-1); the text console (fbcon) draws on it)"),
              std::string::npos);
    EXPECT_NE(r.error().message.find("--force"), std::string::npos);
    EXPECT_TRUE(m.sys.journal().empty());
    auto forced = bind_devices(m.sys, m.ids, {"0a:00.0", "0a:00.1"}, {.force = true});
    ASSERT_TRUE(forced) << forced.error().message;
    EXPECT_EQ(m.driver("0000:0a:00.0"), "vfio-pci");
}

TEST(Bind, RefusesAnRmrrPinnedDeviceWithTheWaysOut) {
    FakeMachine m("rmrr-server");
    auto r = bind_devices(m.sys, m.ids, {"04:00.0", "04:00.1"}, {});
    ASSERT_FALSE(r);
    const std::string& e = r.error().message;
    EXPECT_NE(e.find("0000:04:00.0 is in IOMMU group 30, for which the firmware reserves memory "
                     "(RMRR 0x00000000bdf90000-0x00000000bdf9ffff)"),
              std::string::npos);
    EXPECT_NE(e.find("another slot"), std::string::npos);
    EXPECT_NE(e.find("firmware"), std::string::npos);
    EXPECT_TRUE(m.sys.journal().empty());
    // The GPU in the clean group goes; forcing the pinned one is the user's call, noted.
    ASSERT_TRUE(bind_devices(m.sys, m.ids, {"08:00.0", "08:00.1"}, {}));
    auto forced = bind_devices(m.sys, m.ids, {"04:00.0", "04:00.1"}, {.force = true});
    ASSERT_TRUE(forced) << forced.error().message;
    EXPECT_TRUE(has(forced->notes, "--force: 0000:04:00.0 is in IOMMU group 30"));
}

TEST(Bind, TheNicCarryingTheRouteIsRefusedForItsRmrrFirst) {
    FakeMachine m("rmrr-server");
    auto r = bind_devices(m.sys, m.ids, {"02:00.0"}, {});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("RMRR"), std::string::npos);
    auto forced = bind_devices(m.sys, m.ids, {"02:00.0"}, {.force = true});
    ASSERT_TRUE(forced) << forced.error().message;
    EXPECT_TRUE(has(forced->notes,
                    "eno1 behind 0000:02:00.0 (Ethernet controller) carries the "
                    "default route"));
}

TEST(Unbind, IgnoresARememberedDriverThatIsNotADriverName) {
    const std::vector<std::string> junks = {
        "../../../../tmp/evil", "nvidia\nrm -rf /", std::string(200, 'a'), "vfio-pci", "snd hda",
        "nosuchdriver"};
    for (const std::string& junk : junks) {
        FakeMachine m("numa-server");
        m.copy.write("root/run/porthole-vfio/0000:af:00.0.driver", junk + "\n");
        auto r = unbind_devices(m.sys, m.ids, {"af:00.0"});
        ASSERT_TRUE(r) << r.error().message;
        for (const auto& line : journal_lines(m.sys)) {
            EXPECT_EQ(line.find("/bind <-"), std::string::npos) << junk << ": " << line;
        }
        EXPECT_TRUE(has(
            r->notes, junk == "nosuchdriver" ? "which is not loaded now" : "not a PCI driver name"))
            << junk;
        EXPECT_FALSE(m.sys.exists(previous_driver_file("0000:af:00.0")));  // cleaned up
    }
}

TEST(Unbind, RestoresTheNativeDriver) {
    FakeMachine m("intel-desktop");
    ASSERT_TRUE(bind_devices(m.sys, m.ids, {"01:00.0", "01:00.1"}, {}));
    auto r = unbind_devices(m.sys, m.ids, {"01:00.0", "01:00.1"});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->restored, (std::vector<std::string>{"0000:01:00.0 -> nvidia",
                                                     "0000:01:00.1 -> snd_hda_intel"}));
    EXPECT_EQ(m.driver("0000:01:00.0"), "nvidia");
    EXPECT_EQ(m.override_of("0000:01:00.0"), "(null)");
    EXPECT_FALSE(m.sys.exists(previous_driver_file("0000:01:00.0")));
}

TEST(Unbind, TriesTheRememberedDriverAndSaysWhenNothingClaimsTheDevice) {
    FakeMachine m("numa-server");
    // The Quadro was given to vfio at boot; its host driver is loaded but claims nothing at probe.
    m.copy.write("sys/bus/pci/drivers/nvidia/bind", "");
    m.copy.write("sys/bus/pci/drivers/nvidia/unbind", "");
    m.copy.write("root/run/porthole-vfio/0000:af:00.0.driver", "nvidia\n");
    auto r = unbind_devices(m.sys, m.ids, {"af:00.0"});
    ASSERT_TRUE(r) << r.error().message;
    // Probe finds no native driver, so the remembered one is asked explicitly; it refuses here.
    EXPECT_TRUE(has(journal_lines(m.sys), "drivers/nvidia/bind <- 0000:af:00.0"));
    EXPECT_TRUE(has(r->notes, "no host driver claimed 0000:af:00.0; load nvidia"));
    EXPECT_EQ(m.override_of("0000:af:00.0"), "(null)");
}

TEST(Unbind, DeviceNotOnVfioIsSkipped) {
    FakeMachine m("intel-desktop");
    auto r = unbind_devices(m.sys, m.ids, {"01:00.0"});
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->restored.empty());
    EXPECT_TRUE(has(r->skipped, "not on vfio-pci (nvidia)"));
    EXPECT_TRUE(m.sys.journal().empty());
}

}  // namespace
}  // namespace porthole::vfio
