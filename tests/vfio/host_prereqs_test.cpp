// Host prerequisites for a VM (QEMU, libvirtd, OVMF, swtpm, the default network)
// on fixture roots: each missing piece fails with its distribution's package.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <cstring>

#include "porthole/util/unique_fd.hpp"
#include "porthole/vfio/host_prereqs.hpp"
#include "test_support.hpp"
#include "vm_support.hpp"

namespace porthole::vfio {
namespace {

const Finding& get(const std::vector<Finding>& all, const std::string& check) {
    auto it =
        std::find_if(all.begin(), all.end(), [&](const Finding& f) { return f.check == check; });
    if (it == all.end()) throw std::runtime_error("no finding " + check);
    return *it;
}

// A listening UNIX socket at `path`, as libvirtd's.
UniqueFd listen_at(const fs::path& path) {
    fs::create_directories(path.parent_path());
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM, 0));
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
    EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0) << path;
    EXPECT_EQ(::listen(fd.get(), 4), 0);
    return fd;
}

TEST(HostPrereqs, ABareHostFailsEachPieceWithThePackageForItsDistribution) {
    struct Case {
        const char* id;
        const char* qemu;
        const char* libvirt;
        const char* ovmf;
        const char* swtpm;
    };
    for (const Case& c :
         {Case{"debian", "apt install qemu-system-x86", "apt install libvirt-daemon-system",
               "apt install ovmf", "apt install swtpm swtpm-tools"},
          Case{"fedora", "dnf install qemu-kvm", "dnf install libvirt-daemon-kvm",
               "dnf install edk2-ovmf", "dnf install swtpm swtpm-tools"},
          Case{"arch", "pacman -S qemu-desktop", "pacman -S libvirt", "pacman -S edk2-ovmf",
               "pacman -S swtpm"}}) {
        testing::FakeMachine m("intel-desktop");
        testing::set_os_release(m.copy, c.id);
        auto f = check_host_prerequisites(m.sys, {.tpm = true, .default_network = true});
        EXPECT_EQ(get(f, "qemu").level, Level::Fail) << c.id;
        EXPECT_EQ(get(f, "qemu").fix, c.qemu);
        EXPECT_EQ(get(f, "libvirtd").level, Level::Fail);
        EXPECT_NE(get(f, "libvirtd").fix.find(c.libvirt), std::string::npos) << c.id;
        EXPECT_EQ(get(f, "ovmf").level, Level::Fail);
        EXPECT_EQ(get(f, "ovmf").fix, c.ovmf);
        EXPECT_EQ(get(f, "swtpm").level, Level::Fail);
        EXPECT_EQ(get(f, "swtpm").fix, c.swtpm);
        EXPECT_EQ(get(f, "kvm-device").level, Level::Fail);
        EXPECT_EQ(get(f, "libvirt-default-network").level, Level::Fail);
        EXPECT_NE(get(f, "libvirt-default-network").fix.find("virsh net-define"),
                  std::string::npos);
    }
}

TEST(HostPrereqs, UnknownDistributionsGetEveryFamilysCommand) {
    testing::FakeMachine m("intel-desktop");
    testing::set_os_release(m.copy, "gentoo");
    auto f = check_host_prerequisites(m.sys, {});
    for (const char* p : {"apt install ovmf", "dnf install edk2-ovmf", "pacman -S edk2-ovmf"})
        EXPECT_NE(get(f, "ovmf").fix.find(p), std::string::npos) << p;
}

TEST(HostPrereqs, DerivativesFollowTheirIdLike) {
    testing::FakeMachine m("intel-desktop");
    testing::set_os_release(m.copy, "linuxmint", "ubuntu debian");
    EXPECT_EQ(detect_distro(m.sys), Distro::Debian);
    testing::set_os_release(m.copy, "rocky", "rhel centos fedora");
    EXPECT_EQ(detect_distro(m.sys), Distro::Fedora);
    testing::set_os_release(m.copy, "someos", "arch");
    EXPECT_EQ(detect_distro(m.sys), Distro::Arch);
    testing::set_os_release(m.copy, "'ubuntu'");
    EXPECT_EQ(detect_distro(m.sys), Distro::Debian);  // quoted values
}

TEST(HostPrereqs, AnInstalledRunningHostPasses) {
    testing::FakeMachine m("intel-desktop");
    testing::set_os_release(m.copy, "debian");
    testing::install_debian_ovmf(m.copy);
    for (const char* f :
         {"root/usr/bin/qemu-system-x86_64", "root/dev/kvm", "root/usr/sbin/libvirtd",
          "root/usr/bin/swtpm", "root/usr/bin/swtpm_setup", "root/usr/sbin/dnsmasq",
          "root/etc/libvirt/qemu/networks/default.xml",
          "root/etc/libvirt/qemu/networks/autostart/default.xml"}) {
        m.copy.write(f, "x");
    }
    auto sock = listen_at(m.copy.dir() / "root/run/libvirt/libvirt-sock");
    auto f = check_host_prerequisites(m.sys, {.tpm = true, .default_network = true});
    for (const auto& x : f)
        EXPECT_EQ(x.level, Level::Pass) << x.check << ": " << x.detail;
    EXPECT_NE(get(f, "ovmf").detail.find("OVMF_CODE_4M.ms.fd with Microsoft keys enrolled"),
              std::string::npos);
}

TEST(HostPrereqs, LibvirtInstalledButNotRunningSaysHowToStartIt) {
    testing::FakeMachine m("intel-desktop");
    testing::set_os_release(m.copy, "fedora");
    m.copy.write("root/usr/sbin/virtqemud", "x");
    // A socket file nobody listens on (a daemon that died).
    { auto gone = listen_at(m.copy.dir() / "root/run/libvirt/virtqemud-sock"); }
    auto f = check_host_prerequisites(m.sys, {});
    EXPECT_EQ(get(f, "libvirtd").level, Level::Fail);
    EXPECT_NE(get(f, "libvirtd").fix.find("systemctl enable --now virtqemud.socket"),
              std::string::npos);
}

TEST(HostPrereqs, SwtpmAndTheDefaultNetworkFailOnlyWhenTheVmNeedsThem) {
    testing::FakeMachine m("intel-desktop");
    auto f = check_host_prerequisites(m.sys, {});
    EXPECT_EQ(get(f, "swtpm").level, Level::Warn);
    EXPECT_EQ(get(f, "libvirt-default-network").level, Level::Warn);
    m.copy.write("root/usr/bin/swtpm", "x");  // swtpm_setup (swtpm-tools) still missing
    f = check_host_prerequisites(m.sys, {.tpm = true});
    EXPECT_EQ(get(f, "swtpm").level, Level::Fail);
    EXPECT_NE(get(f, "swtpm").detail.find("swtpm_setup"), std::string::npos);
    m.copy.write("root/etc/libvirt/qemu/networks/default.xml", "x");
    f = check_host_prerequisites(m.sys, {.default_network = true});
    EXPECT_EQ(get(f, "libvirt-default-network").level, Level::Fail);  // no dnsmasq
    m.copy.write("root/usr/sbin/dnsmasq", "x");
    f = check_host_prerequisites(m.sys, {.default_network = true});
    EXPECT_EQ(get(f, "libvirt-default-network").level, Level::Warn);  // not autostarted
    EXPECT_NE(get(f, "libvirt-default-network").fix.find("net-autostart"), std::string::npos);
}

TEST(Firmware, DescriptorsRankFirstAndSecureBootPrefersEnrolledKeys) {
    testing::FakeMachine m("intel-desktop");
    testing::install_debian_ovmf(m.copy);
    auto all = find_ovmf(m.sys);
    ASSERT_EQ(all.size(), 3u);
    EXPECT_EQ(all[0].source, "/usr/share/qemu/firmware/40-edk2-x86_64-secure-enrolled.json");
    EXPECT_TRUE(all[0].enrolled_keys);
    EXPECT_TRUE(all[0].requires_smm);
    auto secure = choose_ovmf(m.sys, true);
    ASSERT_TRUE(secure);
    EXPECT_EQ(secure->code, "/usr/share/OVMF/OVMF_CODE_4M.ms.fd");
    auto plain = choose_ovmf(m.sys, false);
    ASSERT_TRUE(plain);
    EXPECT_EQ(plain->code, "/usr/share/OVMF/OVMF_CODE_4M.fd");
    EXPECT_FALSE(plain->secure_boot);
}

TEST(Firmware, EtcOverridesAndMasksDescriptorsOfTheSameName) {
    testing::FakeMachine m("intel-desktop");
    testing::install_debian_ovmf(m.copy);
    m.copy.write("root/etc/qemu/firmware/40-edk2-x86_64-secure-enrolled.json", "");  // masked
    auto secure = choose_ovmf(m.sys, true);
    ASSERT_TRUE(secure);
    EXPECT_EQ(secure->code, "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd");
    EXPECT_FALSE(secure->enrolled_keys);
}

TEST(Firmware, SkipsQcow2StatelessConfidentialAndMissingBuilds) {
    testing::FakeMachine m("intel-desktop");
    const std::string dir = "root/usr/share/qemu/firmware/";
    m.copy.write("root/fw/a.fd", "x");
    m.copy.write("root/fw/v.fd", "x");
    auto desc = [](const std::string& extra_mapping, const std::string& features,
                   const std::string& code) {
        return R"({"interface-types":["uefi"],"mapping":{"device":"flash",)" + extra_mapping +
               R"("executable":{"filename":")" + code +
               R"(","format":"raw"},"nvram-template":{"filename":"/fw/v.fd","format":"raw"}},)"
               R"("targets":[{"architecture":"x86_64","machines":["pc-q35-*"]}],"features":[)" +
               features + "]}";
    };
    m.copy.write(dir + "10-stateless.json", desc(R"("mode":"stateless",)", "", "/fw/a.fd"));
    m.copy.write(dir + "20-sev.json", desc("", R"("amd-sev-es")", "/fw/a.fd"));
    m.copy.write(dir + "30-missing.json", desc("", "", "/fw/none.fd"));
    m.copy.write(dir + "40-garbage.json", "{not json");
    m.copy.write(dir + "50-qcow2.json",
                 R"({"interface-types":["uefi"],"mapping":{"device":"flash","executable":)"
                 R"({"filename":"/fw/a.fd","format":"qcow2"},"nvram-template":{"filename":)"
                 R"("/fw/v.fd","format":"qcow2"}},"targets":[{"architecture":"x86_64",)"
                 R"("machines":["pc-q35-*"]}],"features":[]})");
    m.copy.write(dir + "60-aarch64.json",
                 R"({"interface-types":["uefi"],"mapping":{"device":"flash","executable":)"
                 R"({"filename":"/fw/a.fd"},"nvram-template":{"filename":"/fw/v.fd"}},)"
                 R"("targets":[{"architecture":"aarch64","machines":["virt-*"]}],"features":[]})");
    EXPECT_TRUE(find_ovmf(m.sys).empty());
    m.copy.write(dir + "70-good.json", desc("", "", "/fw/a.fd"));
    ASSERT_EQ(find_ovmf(m.sys).size(), 1u);
    EXPECT_EQ(find_ovmf(m.sys)[0].source, "/usr/share/qemu/firmware/70-good.json");
}

TEST(Firmware, KnownFedoraAndArchPathsWithoutDescriptors) {
    {
        testing::FakeMachine m("intel-desktop");
        m.copy.write("root/usr/share/edk2/ovmf/OVMF_CODE.secboot.fd", "x");
        m.copy.write("root/usr/share/edk2/ovmf/OVMF_VARS.secboot.fd", "x");
        m.copy.write("root/usr/share/edk2/ovmf/OVMF_CODE.fd", "x");
        m.copy.write("root/usr/share/edk2/ovmf/OVMF_VARS.fd", "x");
        auto secure = choose_ovmf(m.sys, true);
        ASSERT_TRUE(secure);
        EXPECT_EQ(secure->vars, "/usr/share/edk2/ovmf/OVMF_VARS.secboot.fd");
        EXPECT_TRUE(secure->enrolled_keys);
        EXPECT_EQ(choose_ovmf(m.sys, false)->code, "/usr/share/edk2/ovmf/OVMF_CODE.fd");
    }
    {
        testing::FakeMachine m("intel-desktop");
        m.copy.write("root/usr/share/edk2/x64/OVMF_CODE.secboot.4m.fd", "x");
        m.copy.write("root/usr/share/edk2/x64/OVMF_VARS.4m.fd", "x");
        auto secure = choose_ovmf(m.sys, true);
        ASSERT_TRUE(secure);
        EXPECT_EQ(secure->code, "/usr/share/edk2/x64/OVMF_CODE.secboot.4m.fd");
        EXPECT_FALSE(secure->enrolled_keys);
        // Only a Secure Boot build: without Secure Boot it is still better than nothing.
        EXPECT_EQ(choose_ovmf(m.sys, false)->code, "/usr/share/edk2/x64/OVMF_CODE.secboot.4m.fd");
    }
}

TEST(Firmware, NoneFoundNamesThePackage) {
    testing::FakeMachine m("intel-desktop");
    testing::set_os_release(m.copy, "arch");
    auto r = choose_ovmf(m.sys, true);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("pacman -S edk2-ovmf"), std::string::npos);
    EXPECT_NE(r.error().message.find("--no-secure-boot"), std::string::npos);
}

}  // namespace
}  // namespace porthole::vfio
