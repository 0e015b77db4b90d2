#include <gtest/gtest.h>

#include <unistd.h>
#include <bit>
#include <cstdlib>

#include <fstream>
#include <sstream>

#include "porthole/protocol/layout.hpp"
#include "porthole/vfio/libvirt.hpp"
#include "test_support.hpp"

namespace porthole::vfio {
namespace {

std::string snippet(const std::vector<Snippet>& all, const std::string& name) {
    for (const auto& s : all) {
        if (s.name == name) return s.xml;
    }
    return {};
}

TEST(LibvirtSnippets, ShmemSizeComesFromTheProtocolLayoutCalculator) {
    for (auto [w, h] : {std::pair{1920u, 1080u}, {2560u, 1440u}, {3840u, 2160u}}) {
        auto s = libvirt_snippets({.width = w, .height = h});
        ASSERT_TRUE(s);
        uint64_t bytes = protocol::recommended_region_size(w, h, protocol::PixelFormat::bgra8);
        uint64_t mib = bytes >> 20;
        EXPECT_TRUE(std::has_single_bit(mib));
        EXPECT_NE(snippet(*s, "shmem").find("<size unit='M'>" + std::to_string(mib) + "</size>"),
                  std::string::npos);
        // The region must hold at least the frame slots' pixels.
        EXPECT_GE(bytes, uint64_t{w} * h * 4 * protocol::kMinFrameSlots);
    }
}

TEST(LibvirtSnippets, HaveEveryPieceTheGuestNeeds) {
    auto s = libvirt_snippets({.page_size = "1G", .vendor_id = "whatever", .vcpus = 6});
    ASSERT_TRUE(s);
    EXPECT_NE(snippet(*s, "memoryBacking").find("<page size='1048576' unit='KiB'/>"),
              std::string::npos);
    const std::string f = snippet(*s, "features");
    EXPECT_NE(f.find("<vendor_id state='on' value='whatever'/>"), std::string::npos);
    EXPECT_NE(f.find("<hidden state='on'/>"), std::string::npos);
    EXPECT_NE(f.find("<ioapic driver='kvm'/>"), std::string::npos);
    EXPECT_NE(snippet(*s, "interface").find("queues='6'"), std::string::npos);
    EXPECT_NE(snippet(*s, "disk").find("iothread='1'"), std::string::npos);
    EXPECT_NE(snippet(*s, "disk").find("virtio-scsi"), std::string::npos);
    EXPECT_NE(snippet(*s, "audio").find("type='pipewire'"), std::string::npos);
}

TEST(LibvirtSnippets, RefuseAVendorIdLongerThanHyperVAllows) {
    auto s = libvirt_snippets({.vendor_id = "0123456789abc"});
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().message.find("12"), std::string::npos);
}

TEST(LibvirtHooks, InstallTheDispatcherAndOneScriptPerPhase) {
    testing::FakeMachine m("intel-desktop");
    HookOptions o{.vm = "win11",
                  .bdfs = {"01:00.0", "01:00.1"},
                  .hugepages = "16G",
                  .hugepage_size = "1G",
                  .isolate_vcpus = 8,
                  .host_cores = 1,
                  .program = "/usr/local/bin/porthole-vfio"};
    ASSERT_TRUE(install_hooks(m.sys, o));
    auto info = m.sys.stat("/etc/libvirt/hooks/qemu");
    ASSERT_TRUE(info);
    EXPECT_EQ(info->mode, 0755u);
    const std::string d = "/etc/libvirt/hooks/qemu.d/win11";
    EXPECT_NE(m.sys.read(d + "/prepare/begin/10-porthole-bind.sh")
                  ->find("bind 0000:01:00.0 0000:01:00.1"),
              std::string::npos);
    EXPECT_NE(m.sys.read(d + "/release/end/30-porthole-unbind.sh")->find("unbind 0000:01:00.0"),
              std::string::npos);
    EXPECT_NE(m.sys.read(d + "/prepare/begin/20-porthole-hugepages.sh")
                  ->find("hugepages reserve 16G --page 1G"),
              std::string::npos);
    EXPECT_NE(m.sys.read(d + "/started/begin/30-porthole-isolate.sh")->find("--isolate"),
              std::string::npos);
    EXPECT_NE(m.sys.read(d + "/release/end/10-porthole-isolate.sh")->find("--undo-isolation"),
              std::string::npos);
}

TEST(LibvirtHooks, DispatcherRunsAPhasesHooksInNameOrderAndStopsOnFailure) {
    // Scripts are executed, so this tree lives in the temp dir (tmpfs may be noexec).
    namespace fs = std::filesystem;
    const fs::path dir =
        fs::temp_directory_path() / ("porthole-hooks-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    const fs::path phase = dir / "qemu.d/vm1/prepare/begin";
    fs::create_directories(phase);
    auto write_exec = [](const fs::path& p, const std::string& text) {
        std::ofstream(p) << text;
        fs::permissions(p, fs::perms::owner_all);
    };
    const fs::path log = dir / "log";
    auto read_log = [&] {
        std::ifstream in(log);
        std::ostringstream s;
        s << in.rdbuf();
        return s.str();
    };
    write_exec(dir / "qemu", hook_dispatcher_script());
    write_exec(phase / "20-second", "#!/bin/sh\necho second:$1:$2:$3 >> " + log.string() + "\n");
    write_exec(phase / "10-first", "#!/bin/sh\necho first >> " + log.string() + "\n");
    const std::string run = (dir / "qemu").string() + " vm1 prepare begin -";
    ASSERT_EQ(std::system(run.c_str()), 0);
    EXPECT_EQ(read_log(), "first\nsecond:vm1:prepare:begin\n");
    // Other VMs and phases run nothing.
    ASSERT_EQ(std::system(((dir / "qemu").string() + " vm2 prepare begin -").c_str()), 0);
    EXPECT_EQ(read_log(), "first\nsecond:vm1:prepare:begin\n");
    // A failing hook fails the phase (libvirt then refuses to start the VM).
    write_exec(phase / "15-fails", "#!/bin/sh\nexit 3\n");
    EXPECT_NE(std::system(run.c_str()), 0);
    fs::remove_all(dir);
}

TEST(LibvirtHooks, RefuseRelativeProgramAndBadVmName) {
    EXPECT_FALSE(hook_files({.vm = "a/b", .program = "/bin/x"}));
    EXPECT_FALSE(hook_files({.vm = "vm", .program = "porthole-vfio"}));
}

}  // namespace
}  // namespace porthole::vfio
