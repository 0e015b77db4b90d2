// The command line as users run it: options, exit codes and output, on fixture
// copies through the fake kernel, and the real program where it matters that
// nothing is executed.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "porthole/vfio/cli.hpp"
#include "porthole/vfio/shell.hpp"
#include "support/command_output.hpp"
#include "support/qemu_process.hpp"
#include "test_support.hpp"

namespace porthole::vfio {
namespace {

namespace fs = std::filesystem;

struct CliRun {
    int code = 0;
    std::string out, err;
};

CliRun run(const testing::FixtureCopy& copy, std::vector<std::string> args,
           std::shared_ptr<testing::FakeKernelState> state = nullptr) {
    if (!state) state = std::make_shared<testing::FakeKernelState>();
    BackendFactory fake = [&](const Roots& roots, bool dry_run) -> std::unique_ptr<Backend> {
        if (dry_run) return std::make_unique<DryRunBackend>();
        return std::make_unique<testing::FakeKernel>(roots, state);
    };
    std::vector<std::string> all = copy.root_args();
    all.insert(all.end(), args.begin(), args.end());
    std::ostringstream out, err;
    int code = run_cli(all, out, err, fake);
    return {code, out.str(), err.str()};
}

TEST(Cli, GroupsJsonSurvivesBytesThatAreNotUtf8) {
    testing::FixtureCopy copy("intel-desktop");
    std::string ids = copy.read("root/usr/share/misc/pci.ids");
    ids.replace(ids.find("NVIDIA Corporation"), 18, "NVIDIA Soci\xe9t\xe9");  // Latin-1
    copy.write("root/usr/share/misc/pci.ids", ids);
    copy.write("sys/bus/pci/devices/0000:01:00.1/driver_override", "\xff\xfe\n");
    CliRun r = run(copy, {"--json", "groups"});
    ASSERT_EQ(r.code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);  // throws on invalid UTF-8
    EXPECT_NE(r.out.find("NVIDIA Soci\xEF\xBF\xBDt\xEF\xBF\xBD"), std::string::npos);
    EXPECT_NE(r.out.find("\xEF\xBF\xBD\xEF\xBF\xBD"), std::string::npos);
    EXPECT_TRUE(j["groups"].is_array());
}

TEST(Cli, BindJsonSurvivesAUsbProductNameThatIsNotUtf8) {
    testing::FixtureCopy copy("usb-keyboard-group");
    copy.write("sys/bus/pci/devices/0000:04:00.0/usb3/3-1/product", "Tastatur f\xfcr alle\n");
    CliRun r = run(copy, {"--json", "bind", "03:00.0", "--with-group"});
    EXPECT_EQ(r.code, 2);
    auto j = nlohmann::json::parse(r.out);
    EXPECT_FALSE(j["ok"].get<bool>());
    EXPECT_NE(j["error"].get<std::string>().find("Tastatur f\xEF\xBF\xBDr alle"),
              std::string::npos);
}

TEST(Cli, HugepagesReserveRefusesASizeThatOverflows) {
    testing::FixtureCopy copy("intel-desktop");
    auto state = std::make_shared<testing::FakeKernelState>();
    CliRun r = run(copy, {"hugepages", "reserve", "999999999999999G"}, state);
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("size '999999999999999G' is too large"), std::string::npos) << r.err;
    EXPECT_EQ(state->compactions, 0);
}

TEST(Cli, OnePageSizeFlowsThroughReserveHooksSnippetsAndDoctor) {
    for (auto [machine, kib, text] :
         {std::tuple{"intel-desktop", "1048576", "1G"}, std::tuple{"iommu-off", "2048", "2M"}}) {
        testing::FixtureCopy copy(machine);
        CliRun reserve = run(copy, {"--json", "--dry-run", "hugepages", "reserve", "2G"});
        ASSERT_EQ(reserve.code, 0) << reserve.err;
        EXPECT_EQ(nlohmann::json::parse(reserve.out)["page_kib"].dump(), kib) << machine;
        CliRun snippets = run(copy, {"libvirt", "snippets"});
        EXPECT_NE(snippets.out.find(std::string("<page size='") + kib + "' unit='KiB'/>"),
                  std::string::npos)
            << machine;
        CliRun hooks = run(copy, {"--dry-run", "--json", "libvirt", "hooks", "--vm", "w",
                                  "--hugepages", "16G", "--program", "/usr/bin/porthole-vfio"});
        ASSERT_EQ(hooks.code, 0) << hooks.err;
        EXPECT_NE(hooks.out.find(std::string("reserve 16G --page ") + text), std::string::npos)
            << machine;
        CliRun doctor = run(copy, {"doctor"});
        EXPECT_NE(doctor.out.find(std::string("hugepages reserve 16G --page ") + text),
                  std::string::npos)
            << machine << doctor.out;
    }
}

TEST(Cli, SnippetsDoorbellPrintsTheDoorbellShmemAndRefusesABadSocket) {
    testing::FixtureCopy copy("intel-desktop");
    auto r = run(copy, {"libvirt", "snippets", "--doorbell"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("<model type='ivshmem-doorbell'/>\n  <server "
                         "path='/run/porthole/ivshmem.sock'/>"),
              std::string::npos)
        << r.out;
    EXPECT_EQ(r.out.find("ivshmem-plain"), std::string::npos);
    r = run(copy, {"libvirt", "snippets", "--doorbell", "/run/x\"y", "--json"});
    EXPECT_EQ(r.code, 2);
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["ok"], false);
    EXPECT_NE(j["error"].get<std::string>().find("--doorbell '/run/x\"y'"), std::string::npos)
        << r.out;
}

TEST(Cli, DoctorNoRomIsDeprecatedButAccepted) {
    testing::FixtureCopy copy("intel-desktop");
    CliRun r = run(copy, {"doctor", "--no-rom"});
    EXPECT_TRUE(r.code == 0 || r.code == 1) << r.err;
    EXPECT_NE(r.err.find("--no-rom is deprecated"), std::string::npos);
    EXPECT_NE(r.out.find("[info] gpu-rom 0000:01:00.0"), std::string::npos);
    CliRun both = run(copy, {"doctor", "--rom", "--no-rom"});
    EXPECT_EQ(both.code, 2);
    CliRun rom = run(copy, {"doctor", "--rom"});
    EXPECT_NE(rom.out.find("[pass] gpu-rom 0000:01:00.0"), std::string::npos);
}

TEST(Cli, PinSurvivesAbsurdNumbersInSysfs) {
    testing::FixtureCopy copy("numa-server");
    copy.write("sys/devices/system/node/node99999999999/cpulist", "0-3\n");
    CliRun ok = run(copy, {"pin", "--vcpus", "4"});
    EXPECT_EQ(ok.code, 0) << ok.err;
    copy.write("sys/devices/system/cpu/online", "2147483640-2147483647\n");
    CliRun bad = run(copy, {"pin", "--vcpus", "4"});
    EXPECT_EQ(bad.code, 2);
    EXPECT_NE(bad.err.find("no online CPUs"), std::string::npos) << bad.err;
}

TEST(Cli, UnderAnotherRootTheRealProgramExecutesNothing) {
    // Stand-ins for every command persist or pin could run; each one leaves a mark.
    const fs::path bin =
        fs::temp_directory_path() / ("porthole-stubs-" + std::to_string(::getpid()));
    fs::create_directories(bin);
    const fs::path marks = bin / "ran";
    for (const char* cmd :
         {"update-grub", "update-initramfs", "dracut", "mkinitcpio", "grub-mkconfig",
          "grub2-mkconfig", "kernel-install", "bootctl", "systemctl", "chroot"}) {
        std::ofstream(bin / cmd) << "#!/bin/sh\necho \"$0 $*\" >> " << shell_quote(marks.string())
                                 << "\n";
        fs::permissions(bin / cmd, fs::perms::owner_all);
    }
    testing::FixtureCopy copy("intel-desktop");
    std::string args;
    for (const auto& a : copy.root_args()) {
        args += ' ';
        args += shell_quote(a);
    }
    const std::string program = shell_quote(PORTHOLE_VFIO_PROGRAM);
    const std::string path = "PATH=" + shell_quote(bin.string()) + ":/usr/sbin:/usr/bin:/sbin:/bin";
    std::string out = porthole::test::command_output(path + " " + program + args +
                                                     " persist 01:00.0 01:00.1 --apply");
    EXPECT_NE(out.find("The commands were not run: --root"), std::string::npos) << out;
    EXPECT_NE(out.find("not run (--root is another system): update-grub"), std::string::npos);
    EXPECT_NE(copy.read("root/etc/default/grub").find("vfio-pci.ids="), std::string::npos);
    out = porthole::test::command_output(path + " " + program + args + " pin --vcpus 8 --isolate");
    EXPECT_NE(out.find("not run (--root is another system): systemctl"), std::string::npos) << out;
    EXPECT_FALSE(fs::exists(marks)) << "a command ran on this machine";
    // Asked explicitly, persist runs them inside the root (here: the chroot stand-in).
    out = porthole::test::command_output(path + " " + program + args +
                                         " persist 01:00.0 01:00.1 --apply --chroot");
    std::ifstream in(marks);
    std::stringstream ran;
    ran << in.rdbuf();
    // (update-grub is not needed again: the first run wrote the flags.)
    EXPECT_NE(ran.str().find("chroot " + copy.roots().root.string() + " update-initramfs"),
              std::string::npos)
        << ran.str();
    fs::remove_all(bin);
}

TEST(Cli, HooksCallThisBinaryAndSayWhenItIsABuildTree) {
    testing::FixtureCopy copy("intel-desktop");
    std::string args;
    for (const auto& a : copy.root_args()) {
        args += ' ';
        args += shell_quote(a);
    }
    std::string out = porthole::test::command_output(shell_quote(PORTHOLE_VFIO_PROGRAM) + args +
                                                     " --json --dry-run libvirt hooks --vm w "
                                                     "--bdf 01:00.0");
    ASSERT_FALSE(out.empty());
    auto j = nlohmann::json::parse(out);
    const std::string self = fs::canonical(PORTHOLE_VFIO_PROGRAM).string();
    EXPECT_EQ(j["program"], self);
    ASSERT_FALSE(j["warnings"].empty());
    EXPECT_NE(j["warnings"][0].get<std::string>().find("inside a build tree"), std::string::npos);
    EXPECT_NE(out.find(self + " bind 0000:01:00.0"), std::string::npos);
}

TEST(Cli, RegionWritesTheTmpfilesRuleUnderRootAndReportsIt) {
    testing::FixtureCopy copy("intel-desktop");
    copy.write("root/etc/passwd", "alice:x:1000:1000::/home/alice:/bin/sh\n");
    copy.write("root/etc/group", "kvm:x:108:\nalice:x:1000:\n");
    CliRun dry = run(copy, {"--json", "--dry-run", "region", "--user", "alice"});
    ASSERT_EQ(dry.code, 0) << dry.err << dry.out;
    EXPECT_FALSE(fs::exists(copy.dir() / "root/etc/tmpfiles.d/porthole.conf"));
    CliRun r = run(copy, {"--json", "region", "--user", "alice"});
    ASSERT_EQ(r.code, 0) << r.err << r.out;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["line"], "f /dev/shm/porthole 0660 alice kvm -");
    EXPECT_TRUE(j["actions"][0].get<std::string>().starts_with(
        "create /etc/tmpfiles.d/porthole.conf (mode 0644"))
        << r.out;
    EXPECT_NE(copy.read("root/etc/tmpfiles.d/porthole.conf").find(j["line"].get<std::string>()),
              std::string::npos);
    EXPECT_EQ(run(copy, {"region"}).code, 2);  // --user is required
}

// A USB device's sysfs entry as the kernel lays it out.
void usb_device(const testing::FixtureCopy& copy, const std::string& name, const std::string& vid,
                const std::string& pid, const std::string& maker, const std::string& product) {
    const std::string dir = "sys/bus/usb/devices/" + name + "/";
    copy.write(dir + "idVendor", vid + "\n");
    copy.write(dir + "idProduct", pid + "\n");
    if (!maker.empty()) copy.write(dir + "manufacturer", maker + "\n");
    if (!product.empty()) copy.write(dir + "product", product + "\n");
}

TEST(Cli, UsbListShowsDevicesNotHubsOrInterfacesWithTheirNamesMadePrintable) {
    testing::FixtureCopy copy("intel-desktop");
    usb_device(copy, "usb1", "1d6b", "0002", "Linux", "xHCI Host Controller");
    usb_device(copy, "3-1.2", "045e", "028e", "Microsoft", "Xbox360 Controller");
    usb_device(copy, "3-1.2:1.0", "045e", "028e", "", "");
    usb_device(copy, "1-4", "1b1c", "0a51", "", "Headset\x1b[2J\nerror: forged");
    usb_device(copy, "1-5", "zzzz", "0001", "Broken", "ids");
    CliRun r = run(copy, {"usb", "list"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out,
              "DEVICE  ID         NAME\n"
              "1-4     1b1c:0a51  Headset\\x1b[2J\\x0aerror: forged\n"
              "3-1.2   045e:028e  Microsoft Xbox360 Controller\n");
    CliRun j = run(copy, {"--json", "usb", "list"});
    ASSERT_EQ(j.code, 0) << j.err;
    const auto doc = nlohmann::json::parse(j.out);
    ASSERT_EQ(doc["host"].size(), 2u);
    EXPECT_EQ(doc["host"][1]["device"], "3-1.2");
    EXPECT_EQ(doc["host"][1]["id"], "045e:028e");
    EXPECT_FALSE(doc.contains("vm"));
}

TEST(Cli, UsbAttachNeedsTheVmAndAValidDeviceAndSaysHow) {
    testing::FixtureCopy copy("intel-desktop");
    CliRun none = run(copy, {"usb", "attach", "045e:028e"});
    EXPECT_EQ(none.code, 2);
    EXPECT_NE(none.err.find("--vm NAME"), std::string::npos) << none.err;
    CliRun both = run(copy, {"usb", "attach", "045e:028e", "--vm", "a", "--qmp", "/x"});
    EXPECT_EQ(both.code, 2);
    EXPECT_NE(both.err.find("not both"), std::string::npos) << both.err;
    CliRun bad = run(copy, {"usb", "attach", "xbox", "--vm", "win11"});
    EXPECT_EQ(bad.code, 2);
    EXPECT_NE(bad.err.find("vendor:product"), std::string::npos) << bad.err;
    CliRun slash = run(copy, {"usb", "attach", "045e:028e", "--vm", "../etc/x"});
    EXPECT_EQ(slash.code, 2);
    EXPECT_NE(slash.err.find("'/'"), std::string::npos) << slash.err;
    CliRun dry = run(copy, {"--dry-run", "--json", "usb", "attach", "3-1.2", "--vm", "win11"});
    ASSERT_EQ(dry.code, 0) << dry.err;
    const auto doc = nlohmann::json::parse(dry.out);
    EXPECT_EQ(doc["qmp"], "/run/porthole/win11.qmp");
    EXPECT_EQ(doc["command"]["arguments"]["hostport"], "1.2");
}

TEST(Cli, UsbAttachListAndDetachAgainstARealQemu) {
    testing::FixtureCopy copy("intel-desktop");
    usb_device(copy, "3-1.2", "045e", "028e", "Microsoft", "Xbox360 Controller");
    char t[] = "/tmp/porthole-vfio-usb-XXXXXX";
    const std::string dir = ::mkdtemp(t);
    const std::string sock = dir + "/qmp.sock";
    {
        porthole::test::QemuProcess qemu(sock, true, {"-device", "qemu-xhci"});
        ASSERT_TRUE(qemu.listening()) << "qemu-system-x86_64 did not start";
        CliRun a = run(copy, {"usb", "attach", "045e:028e", "--qmp", "unix:" + sock});
        ASSERT_EQ(a.code, 0) << a.err;
        EXPECT_NE(a.out.find("porthole-usb-045e-028e"), std::string::npos) << a.out;
        CliRun l = run(copy, {"usb", "list", "--qmp", sock});
        ASSERT_EQ(l.code, 0) << l.err;
        EXPECT_NE(l.out.find("3-1.2   045e:028e  Microsoft Xbox360 Controller  "
                             "porthole-usb-045e-028e"),
                  std::string::npos)
            << l.out;
        CliRun again = run(copy, {"usb", "attach", "045e:028e", "--qmp", sock});
        EXPECT_EQ(again.code, 2);
        EXPECT_NE(again.err.find("attached already"), std::string::npos) << again.err;
        CliRun d = run(copy, {"usb", "detach", "045e:028e", "--qmp", sock});
        ASSERT_EQ(d.code, 0) << d.err;
        CliRun after = run(copy, {"--json", "usb", "list", "--qmp", sock});
        ASSERT_EQ(after.code, 0) << after.err;
        EXPECT_TRUE(nlohmann::json::parse(after.out)["vm"].empty()) << after.out;
    }
    fs::remove_all(dir);
}

}  // namespace
}  // namespace porthole::vfio
