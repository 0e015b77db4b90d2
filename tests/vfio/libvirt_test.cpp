#include <gtest/gtest.h>

#include <unistd.h>
#include <bit>
#include <cstdlib>

#include <fstream>
#include <sstream>

#include <filesystem>
#include <map>

#include <pugixml.hpp>

#include "porthole/protocol/layout.hpp"
#include "porthole/vfio/libvirt.hpp"
#include "porthole/vfio/shell.hpp"
#include "support/command_output.hpp"
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

TEST(LibvirtSnippets, DoorbellShmemNamesTheServerSocketAndHasMsiButNoSize) {
    auto s =
        libvirt_snippets({.width = 2560, .height = 1440, .doorbell_socket = "/run/p/a&b.sock"});
    ASSERT_TRUE(s);
    pugi::xml_document doc;
    ASSERT_TRUE(doc.load_string(snippet(*s, "shmem").c_str()));
    auto shmem = doc.child("shmem");
    EXPECT_STREQ(shmem.attribute("name").as_string(), "porthole");
    EXPECT_STREQ(shmem.child("model").attribute("type").as_string(), "ivshmem-doorbell");
    EXPECT_STREQ(shmem.child("server").attribute("path").as_string(), "/run/p/a&b.sock");
    EXPECT_EQ(shmem.child("msi").attribute("vectors").as_int(), 1);
    EXPECT_STREQ(shmem.child("msi").attribute("ioeventfd").as_string(), "on");
    EXPECT_FALSE(shmem.child("size"));
    EXPECT_EQ(std::distance(shmem.children().begin(), shmem.children().end()), 3);
    // The explanation: the server runs first, sized as the plain region would be.
    const uint64_t mib = region_size_bytes(2560, 1440) >> 20;
    for (const auto& piece : *s) {
        if (piece.name != "shmem") continue;
        EXPECT_NE(piece.purpose.find("porthole-ivshmem-server"), std::string::npos);
        EXPECT_NE(piece.purpose.find("running on /run/p/a&b.sock before"), std::string::npos)
            << piece.purpose;
        EXPECT_NE(piece.purpose.find(std::to_string(mib) + " MiB (its size option)"),
                  std::string::npos)
            << piece.purpose;
    }
    // `libvirt snippets` prints each purpose in an XML comment, where "--" is not allowed.
    for (const auto& piece : *s)
        EXPECT_EQ(piece.purpose.find("--"), std::string::npos) << piece.name;
}

TEST(LibvirtSnippets, WithoutADoorbellTheShmemIsThePlainRegionAsBefore) {
    auto s = libvirt_snippets({});
    ASSERT_TRUE(s);
    EXPECT_EQ(snippet(*s, "shmem"),
              "<shmem name='porthole'>\n  <model type='ivshmem-plain'/>\n"
              "  <size unit='M'>32</size>\n</shmem>\n");
}

TEST(LibvirtSnippets, RefuseADoorbellSocketThatIsRelativeOrBreaksXmlOrAUnitFile) {
    for (const char* bad : {"ivshmem.sock", "/a\nb", "/a'b", "/a\"b", "/a\\b", "/dir/"}) {
        auto s = libvirt_snippets({.doorbell_socket = bad});
        ASSERT_FALSE(s) << bad;
        EXPECT_NE(s.error().message.find(std::string("--doorbell '") + bad + "'"),
                  std::string::npos)
            << s.error().message;
    }
}

// The packaged unit starts the server for the default resolution, the region vm define
// gives a VM without --width/--height; and leaves /run/porthole's owner and mode alone.
TEST(IvshmemServerUnit, DefaultSizeIsTheRegionOfTheDefaultResolution) {
    const auto unit =
        testing::fixtures_dir() / "../../../packaging/linux/porthole-ivshmem-server.service";
    std::ifstream in(unit);
    ASSERT_TRUE(in) << unit;
    std::stringstream text;
    text << in.rdbuf();
    const uint64_t mib = region_size_bytes(SnippetOptions{}.width, SnippetOptions{}.height) >> 20;
    EXPECT_NE(text.str().find("\nEnvironment=\"PORTHOLE_IVSHMEM_SERVER_OPTIONS=--size " +
                              std::to_string(mib) + "\"\n"),
              std::string::npos)
        << text.str();
    EXPECT_NE(text.str().find("\nExecStart=/usr/bin/porthole-ivshmem-server "
                              "$PORTHOLE_IVSHMEM_SERVER_OPTIONS\n"),
              std::string::npos);
    EXPECT_EQ(text.str().find("\nRuntimeDirectory="), std::string::npos);
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

TEST(LibvirtHooks, VmNamesAreCheckedAsLibvirtChecksThem) {
    for (const std::string& bad : {std::string(), std::string("."), std::string(".."),
                                   std::string("../../../../etc/cron.d/x"), std::string("a/b"),
                                   std::string("win11\nrm -rf /"), std::string("tab\there"),
                                   std::string("del\x7f"), std::string(252, 'v')}) {
        auto s = validate_vm_name(bad);
        EXPECT_FALSE(s) << bad;
        EXPECT_FALSE(hook_files({.vm = bad, .hugepage_size = "1G", .program = "/bin/x"})) << bad;
    }
    for (const std::string& good :
         {std::string("win11"), std::string("Windows 11 (gaming)"), std::string("..win"),
          std::string("caf\xC3\xA9's $HOME"), std::string(251, 'v')}) {
        EXPECT_TRUE(validate_vm_name(good)) << good;
    }
}

TEST(LibvirtHooks, EveryWordOfTheScriptsReachesTheProgramIntact) {
    // A program path and a VM name the shell would split or expand, run for real.
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() /
                         ("porthole-quote-" + std::to_string(::getpid())) / "it's $HOME `id`";
    fs::create_directories(dir);
    const fs::path program = dir / "porthole-vfio";
    std::ofstream(program) << "#!/bin/sh\nfor a in \"$@\"; do printf '[%s]' \"$a\"; done\n";
    fs::permissions(program, fs::perms::owner_all);
    HookOptions o{.vm = "Windows 11 $(reboot)",
                  .bdfs = {"01:00.0"},
                  .hugepages = "16G",
                  .hugepage_size = "1G",
                  .program = program.string()};
    auto files = hook_files(o);
    ASSERT_TRUE(files) << files.error().message;
    std::map<std::string, std::string> expected = {
        {"prepare_begin_10-porthole-bind.sh", "[bind][0000:01:00.0]"},
        {"prepare_begin_20-porthole-hugepages.sh", "[hugepages][reserve][16G][--page][1G]"},
        {"release_end_20-porthole-hugepages.sh", "[hugepages][release][16G][--page][1G]"},
        {"release_end_30-porthole-unbind.sh", "[unbind][0000:01:00.0]"}};
    int ran = 0;
    for (const auto& f : *files) {
        EXPECT_NE(f.content.find(kHookMarker), std::string::npos) << f.path;
        const fs::path p(f.path);
        std::string name = p.parent_path().parent_path().filename().string() + "_" +
                           p.parent_path().filename().string() + "_" + p.filename().string();
        if (!expected.count(name)) continue;
        const fs::path script = dir / name;
        std::ofstream(script) << f.content;
        fs::permissions(script, fs::perms::owner_all);
        EXPECT_EQ(porthole::test::command_output(shell_quote(script.string())), expected[name])
            << f.content;
        ++ran;
    }
    EXPECT_EQ(ran, 4);
    fs::remove_all(dir.parent_path());
}

TEST(LibvirtHooks, NeverReplacesAHookItDidNotWriteWithoutForce) {
    testing::FakeMachine m("intel-desktop");
    const std::string mine = "#!/bin/sh\n# my own hook from the Arch wiki\nexit 0\n";
    m.copy.write("root/etc/libvirt/hooks/qemu", mine);
    HookOptions o{.vm = "win11", .bdfs = {"01:00.0"}, .program = "/usr/bin/porthole-vfio"};
    auto r = install_hooks(m.sys, o);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("/etc/libvirt/hooks/qemu already exists and was not written "
                                     "by porthole-vfio"),
              std::string::npos);
    EXPECT_NE(r.error().message.find("--force"), std::string::npos);
    EXPECT_TRUE(m.sys.journal().empty());  // not even the VM's own scripts
    EXPECT_EQ(m.copy.read("root/etc/libvirt/hooks/qemu"), mine);

    o.force = true;
    ASSERT_TRUE(install_hooks(m.sys, o));
    EXPECT_NE(m.copy.read("root/etc/libvirt/hooks/qemu").find(kHookMarker), std::string::npos);
    EXPECT_EQ(m.copy.read("root/etc/libvirt/hooks/qemu.porthole-bak"), mine);
    EXPECT_EQ(m.sys.stat("/etc/libvirt/hooks/qemu.porthole-bak")->mode, 0600u);  // never run
}

TEST(LibvirtHooks, ReplacesItsOwnHooksWithoutForce) {
    testing::FakeMachine m("intel-desktop");
    HookOptions o{.vm = "win11", .bdfs = {"01:00.0"}, .program = "/usr/bin/porthole-vfio"};
    ASSERT_TRUE(install_hooks(m.sys, o));
    o.bdfs = {"01:00.0", "01:00.1"};
    ASSERT_TRUE(install_hooks(m.sys, o));
    EXPECT_NE(m.copy.read("root/etc/libvirt/hooks/qemu.d/win11/prepare/begin/10-porthole-bind.sh")
                  .find("bind 0000:01:00.0 0000:01:00.1"),
              std::string::npos);
    // An older porthole-vfio's dispatcher (no marker line yet) is recognised as ours too.
    m.copy.write("root/etc/libvirt/hooks/qemu",
                 "#!/bin/bash\n# libvirt qemu hook dispatcher, installed by porthole-vfio.\n");
    EXPECT_TRUE(install_hooks(m.sys, o));
}

TEST(LibvirtHooks, TheProgramIsThisBinaryAndABuildTreeIsWarnedAbout) {
    testing::FakeMachine m("intel-desktop");
    // The test binary's sibling porthole-vfio lives in the build tree, CMakeCache.txt above it.
    std::error_code ec;
    const std::string self = std::filesystem::canonical(PORTHOLE_VFIO_PROGRAM, ec).string();
    auto p = hook_program(m.sys, "", self);
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(p->path, self);
    ASSERT_FALSE(p->warnings.empty());
    EXPECT_NE(p->warnings[0].find("inside a build tree"), std::string::npos);
    // An installed path is taken as given; one that is not there is said to be missing.
    auto installed = hook_program(m.sys, "/usr/local/bin/porthole-vfio", self);
    ASSERT_TRUE(installed);
    EXPECT_EQ(installed->path, "/usr/local/bin/porthole-vfio");
    ASSERT_EQ(installed->warnings.size(), 1u);
    EXPECT_NE(installed->warnings[0].find("does not exist under --root"), std::string::npos);
    m.copy.write("root/usr/local/bin/porthole-vfio", "");
    EXPECT_TRUE(hook_program(m.sys, "/usr/local/bin/porthole-vfio", self)->warnings.empty());
    EXPECT_FALSE(hook_program(m.sys, "bin/porthole-vfio", self));
    EXPECT_FALSE(hook_program(m.sys, "", "/usr/bin/porthole-vfio (deleted)"));
}

TEST(LibvirtHooks, HugepageHooksUseTheHostsDefaultPageSize) {
    testing::FakeMachine big("intel-desktop");
    HookOptions o{.vm = "w", .hugepages = "16G", .program = "/usr/bin/porthole-vfio"};
    auto files = install_hooks(big.sys, o);
    ASSERT_TRUE(files);
    EXPECT_NE(big.copy
                  .read("root/etc/libvirt/hooks/qemu.d/w/prepare/begin/"
                        "20-porthole-hugepages.sh")
                  .find("reserve 16G --page 1G"),
              std::string::npos);
    testing::FakeMachine small("iommu-off");
    ASSERT_TRUE(install_hooks(small.sys, o));
    EXPECT_NE(small.copy
                  .read("root/etc/libvirt/hooks/qemu.d/w/release/end/"
                        "20-porthole-hugepages.sh")
                  .find("release 16G --page 2M"),
              std::string::npos);
}

}  // namespace
}  // namespace porthole::vfio
