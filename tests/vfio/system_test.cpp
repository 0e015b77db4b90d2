#include <gtest/gtest.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
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
    // The fixture is another system's root: its commands are listed, never run here.
    EXPECT_EQ(describe(sys.journal()[2]), "not run (--root is another system): update-grub");
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

namespace fs = std::filesystem;

// Records what reaches the backend, performing nothing.
class RecordingBackend : public Backend {
  public:
    explicit RecordingBackend(std::vector<Action>& seen) : seen_(seen) {}
    [[nodiscard]] Status apply(const Action& action, const fs::path&) override {
        seen_.push_back(action);
        return {};
    }

  private:
    std::vector<Action>& seen_;
};

TEST(System, CommandsUnderAnotherRootAreListedAndNeverRun) {
    testing::FixtureCopy copy("intel-desktop");
    std::vector<Action> seen;
    System sys(copy.roots(), std::make_unique<RecordingBackend>(seen));
    EXPECT_FALSE(sys.commands_run_here());
    ASSERT_TRUE(sys.run({"update-grub"}));
    EXPECT_TRUE(seen.empty());
    ASSERT_EQ(sys.journal().size(), 1u);
    EXPECT_TRUE(sys.journal()[0].not_run);
}

TEST(System, CommandsRunWhenTheRootIsThisMachine) {
    std::vector<Action> seen;
    System sys({"/sys", "/proc", "/"}, std::make_unique<RecordingBackend>(seen));
    EXPECT_TRUE(sys.commands_run_here());
    ASSERT_TRUE(sys.run({"update-grub"}));
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].argv, std::vector<std::string>{"update-grub"});
}

TEST(System, ChrootRunsCommandsInsideAnotherRootOnlyWhenAsked) {
    testing::FixtureCopy copy("intel-desktop");
    std::vector<Action> seen;
    System sys(copy.roots(), std::make_unique<RecordingBackend>(seen));
    sys.set_chroot_commands(true);
    ASSERT_TRUE(sys.run({"update-grub"}));
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].argv,
              (std::vector<std::string>{"chroot", copy.roots().root.string(), "update-grub"}));
}

TEST(System, AMissingFileIsNotAnUnreadableOne) {
    testing::FixtureCopy copy("intel-desktop");
    System sys(copy.roots(), std::make_unique<DryRunBackend>());
    auto missing = sys.read_if_exists("/etc/nothing-here");
    ASSERT_TRUE(missing);
    EXPECT_FALSE(*missing);
    fs::create_directories(copy.dir() / "root/etc/a-directory");
    auto unreadable = sys.read_if_exists("/etc/a-directory");
    ASSERT_FALSE(unreadable);
    EXPECT_NE(unreadable.error().message.find("reading /etc/a-directory failed: Is a directory"),
              std::string::npos);
    // And nothing is ever written over what could not be read.
    auto s = sys.write_file("/etc/a-directory", "x");
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().message.find("nothing was written"), std::string::npos);
    EXPECT_TRUE(sys.journal().empty());
}

TEST(SafeWrite, ReplacingAFileKeepsTheOldOneBesideItNeverExecutable) {
    testing::FixtureCopy copy("intel-desktop");
    System sys(copy.roots(), std::make_unique<RealBackend>());
    ASSERT_TRUE(sys.write_file("/etc/libvirt/hooks/qemu", "#!/bin/sh\necho mine\n", 0755));
    ASSERT_TRUE(sys.write_file("/etc/libvirt/hooks/qemu", "#!/bin/sh\necho new\n", 0755));
    EXPECT_EQ(describe(sys.journal().back()),
              "replace /etc/libvirt/hooks/qemu (mode 0755, 19 bytes; the old one kept as "
              "/etc/libvirt/hooks/qemu.porthole-bak)");
    EXPECT_EQ(copy.read("root/etc/libvirt/hooks/qemu"), "#!/bin/sh\necho new\n");
    EXPECT_EQ(copy.read("root/etc/libvirt/hooks/qemu.porthole-bak"), "#!/bin/sh\necho mine\n");
    EXPECT_EQ(sys.stat("/etc/libvirt/hooks/qemu")->mode, 0755u);
    EXPECT_EQ(sys.stat("/etc/libvirt/hooks/qemu.porthole-bak")->mode, 0600u);
}

TEST(SafeWrite, AShortWriteLeavesTheOriginalIntactAndNamesTheRealCause) {
    testing::FixtureCopy copy("intel-desktop");
    const std::string original = copy.read("root/etc/default/grub");
    const std::string bigger = original + std::string(64 * 1024, '#') + "\n";
    // A real short write: the kernel stops the file at RLIMIT_FSIZE, then says EFBIG.
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        ::signal(SIGXFSZ, SIG_IGN);
        rlimit limit{16 * 1024, 16 * 1024};
        ::setrlimit(RLIMIT_FSIZE, &limit);
        System sys(copy.roots(), std::make_unique<RealBackend>());
        auto s = sys.write_file("/etc/default/grub", bigger);
        std::string msg = s ? std::string("written") : s.error().message;
        (void)!::write(fds[1], msg.data(), msg.size());
        ::_exit(0);
    }
    ::close(fds[1]);
    std::string msg;
    char buf[4096];
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;)
        msg.append(buf, static_cast<size_t>(n));
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_NE(msg.find("cannot write /etc/default/grub: writing 65"), std::string::npos) << msg;
    EXPECT_NE(msg.find("File too large"), std::string::npos) << msg;
    EXPECT_NE(msg.find("/etc/default/grub is unchanged"), std::string::npos) << msg;
    EXPECT_EQ(copy.read("root/etc/default/grub"), original);
    for (const auto& e : fs::directory_iterator(copy.dir() / "root/etc/default"))
        EXPECT_FALSE(e.path().filename().string().starts_with(".")) << "temp left: " << e.path();
}

TEST(CpuList, HugeNumbersAreDroppedNotLoopedOver) {
    EXPECT_TRUE(parse_cpu_list("2147483640-2147483647").empty());
    EXPECT_TRUE(parse_cpu_list("99999999999999999999999").empty());
    EXPECT_TRUE(parse_cpu_list("8191-8192").empty());
    EXPECT_EQ(parse_cpu_list("0-8191").size(), 8192u);
    EXPECT_EQ(parse_cpu_list("3-1,-1,a-b,1--2,4").size(), 1u);
    // Work is bounded by the text: 20000 full ranges still give 8192 CPUs.
    std::string many;
    for (int i = 0; i < 20000; ++i)
        many += "0-8191,";
    EXPECT_EQ(parse_cpu_list(many).size(), 8192u);
}

TEST(Utf8, InvalidBytesBecomeReplacementCharacters) {
    EXPECT_EQ(valid_utf8("Soci\xe9t\xe9"), "Soci\xEF\xBF\xBDt\xEF\xBF\xBD");
    EXPECT_EQ(valid_utf8("caf\xC3\xA9 \xE2\x82\xAC"), "caf\xC3\xA9 \xE2\x82\xAC");  // kept
    EXPECT_EQ(valid_utf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");                  // overlong
    EXPECT_EQ(valid_utf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
    EXPECT_EQ(valid_utf8("\xF0\x9F\x98"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // truncated
}

}  // namespace
}  // namespace porthole::vfio
