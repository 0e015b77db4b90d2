// vm define and vm finish-install: the domain built from a fixture machine, piece
// by piece, and every generated variant validated by libvirt's own schema.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "porthole/vfio/cli.hpp"
#include "porthole/vfio/libvirt.hpp"
#include "porthole/vfio/topology.hpp"
#include "porthole/vfio/virsh.hpp"
#include "porthole/vfio/vm.hpp"
#include "support/spawn.hpp"
#include "test_support.hpp"
#include "vm_support.hpp"

namespace porthole::vfio {
namespace {

using testing::Xml;

struct VmMachine : testing::FakeMachine {
    explicit VmMachine(const std::string& machine = "intel-desktop") : FakeMachine(machine) {
        testing::install_debian_ovmf(copy);
    }
    // A file under the copy (disk images, ISOs, ROMs), returned as a host path.
    std::string file(const std::string& name, const std::string& content = "data") const {
        copy.write("files/" + name, content);
        return (copy.dir() / "files" / name).string();
    }
};

VmOptions win11(std::string gpu = "01:00.0") {
    VmOptions o;
    o.name = "win11";
    o.gpu = std::move(gpu);
    o.memory = "8G";
    o.vcpus = 4;
    o.virt_type = "kvm";
    return o;
}

VmDefinition define(const VmMachine& m, const VmOptions& o) {
    auto def = build_domain(m.sys, m.ids, o);
    if (!def) ADD_FAILURE() << def.error().message;
    return def ? *def : VmDefinition{};
}

bool any_note(const VmDefinition& d, const std::string& text) {
    for (const auto& n : d.notes) {
        if (n.find(text) != std::string::npos) return true;
    }
    return false;
}

TEST(VmDefine, PassesEveryFunctionOfTheCardTogetherOnOneGuestSlot) {
    VmMachine m;
    testing::add_function(m.copy, "0000:01:00", 2, "0x0c0330");  // USB-C controller
    testing::add_function(m.copy, "0000:01:00", 3, "0x0c8000");  // its UCSI bus
    Xml x(define(m, win11()).xml);
    auto hostdevs = x.all("/domain/devices/hostdev");
    ASSERT_EQ(hostdevs.size(), 4u);
    for (size_t i = 0; i < hostdevs.size(); ++i) {
        auto h = hostdevs[i].node();
        EXPECT_STREQ(h.attribute("managed").as_string(), "yes");
        EXPECT_STREQ(h.child("source").child("address").attribute("bus").as_string(), "0x01");
        EXPECT_EQ(std::string(h.child("source").child("address").attribute("function").as_string()),
                  "0x" + std::to_string(i));
        auto guest = h.child("address");
        EXPECT_STREQ(guest.attribute("bus").as_string(), "0x01");  // the GPU's root port
        EXPECT_STREQ(guest.attribute("slot").as_string(), "0x00");
        EXPECT_EQ(std::stoul(guest.attribute("function").as_string(), nullptr, 16), i);
        EXPECT_EQ(std::string(guest.attribute("multifunction").as_string()), i == 0 ? "on" : "");
    }
    EXPECT_EQ(x.attr("/domain/devices/controller[@index='1']", "model"), "pcie-root-port");
    EXPECT_EQ(x.attr("/domain/metadata/porthole:vm/porthole:gpu", "bdf"), "0000:01:00.0");
}

TEST(VmDefine, NamesGroupMatesThatAreNotFunctionsOfTheCard) {
    VmMachine m;
    EXPECT_FALSE(any_note(define(m, win11()), "also holds"));
    // A USB controller behind the same IOMMU group, still on its host driver.
    fs::remove(m.copy.dir() / "sys/bus/pci/devices/0000:00:14.0/iommu_group");
    fs::create_symlink("../../../../kernel/iommu_groups/2",
                       m.copy.dir() / "sys/bus/pci/devices/0000:00:14.0/iommu_group");
    auto def = define(m, win11());
    EXPECT_TRUE(any_note(def, "IOMMU group 2 also holds 0000:00:14.0")) << def.notes.size();
    EXPECT_EQ(Xml(def.xml).all("/domain/devices/hostdev").size(), 2u);  // never passed silently
}

TEST(VmDefine, AGpuAloneOnItsSlotIsNotMultifunction) {
    VmMachine m;
    fs::remove_all(m.copy.dir() / "sys/bus/pci/devices/0000:01:00.1");
    Xml x(define(m, win11()).xml);
    ASSERT_EQ(x.all("/domain/devices/hostdev").size(), 1u);
    EXPECT_FALSE(x.one("/domain/devices/hostdev/address/@multifunction"));
}

TEST(VmDefine, RomFileGoesOnTheGpuFunctionOnly) {
    VmMachine m;
    auto o = win11();
    o.rom = (testing::fixtures_dir() / "roms/legacy-uefi.rom").string();
    auto def = define(m, o);
    Xml x(def.xml);
    EXPECT_EQ(x.attr("/domain/devices/hostdev[source/address/@function='0x0']/rom", "file"), o.rom);
    EXPECT_FALSE(x.one("/domain/devices/hostdev[source/address/@function='0x1']/rom"));
    EXPECT_FALSE(any_note(def, "no UEFI image"));

    o.rom = (testing::fixtures_dir() / "roms/legacy-only.rom").string();
    EXPECT_TRUE(any_note(define(m, o), "no UEFI image"));
    o.rom = (testing::fixtures_dir() / "roms/not-a-rom.bin").string();
    auto bad = build_domain(m.sys, m.ids, o);
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("not-a-rom.bin"), std::string::npos);
}

TEST(VmDefine, UnknownGpuAddressIsAnErrorNamingIt) {
    VmMachine m;
    auto r = build_domain(m.sys, m.ids, win11("0a:00.0"));
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("0000:0a:00.0"), std::string::npos);
    EXPECT_NE(r.error().message.find("--gpu none"), std::string::npos);
}

TEST(VmDefine, HugePagesFollowTheReservedPool) {
    VmMachine m;
    // Nothing reserved: ordinary pages, and a note saying how to reserve.
    auto plain = define(m, win11());
    EXPECT_FALSE(Xml(plain.xml).one("/domain/memoryBacking"));
    EXPECT_TRUE(any_note(plain, "no huge pages are reserved"));

    // A 1 GiB pool holding the guest: 1 GiB pages, locked.
    testing::set_hugepages(m.copy, 1048576, 8);
    Xml one_g(define(m, win11()).xml);
    EXPECT_EQ(one_g.attr("/domain/memoryBacking/hugepages/page", "size"), "1048576");
    EXPECT_TRUE(one_g.one("/domain/memoryBacking/locked"));

    // Too small a 1 GiB pool, a large enough 2 MiB one: 2 MiB pages.
    testing::set_hugepages(m.copy, 1048576, 2);
    testing::set_hugepages(m.copy, 2048, 4096);
    EXPECT_EQ(Xml(define(m, win11()).xml).attr("/domain/memoryBacking/hugepages/page", "size"),
              "2048");

    // Asked for explicitly, reserved or not (the hook reserves at start): kept, with a note.
    testing::set_hugepages(m.copy, 2048, 0);
    auto o = win11();
    o.page = "1G";
    auto asked = define(m, o);
    EXPECT_EQ(Xml(asked.xml).attr("/domain/memoryBacking/hugepages/page", "size"), "1048576");
    EXPECT_TRUE(any_note(asked, "reserve them before it starts"));

    o.page = "none";
    testing::set_hugepages(m.copy, 1048576, 8);
    EXPECT_FALSE(Xml(define(m, o).xml).one("/domain/memoryBacking"));

    o.page = "1G";
    o.memory = "8704M";  // 8.5 GiB: not whole 1 GiB pages
    auto r = build_domain(m.sys, m.ids, o);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("whole number of 1G pages"), std::string::npos);
}

TEST(VmDefine, CputuneAndTopologyComeFromThePinPlan) {
    VmMachine m;
    auto topo = read_topology(m.sys);
    ASSERT_TRUE(topo);
    auto plan = plan_pinning(*topo, {4, 1, 1});
    ASSERT_TRUE(plan);
    Xml expected("<x>" + pin_plan_xml(*plan) + "</x>");
    Xml x(define(m, win11()).xml);
    auto pins = x.all("/domain/cputune/vcpupin");
    auto want = expected.all("/x/cputune/vcpupin");
    ASSERT_EQ(pins.size(), 4u);
    ASSERT_EQ(pins.size(), want.size());
    for (size_t i = 0; i < pins.size(); ++i) {
        EXPECT_STREQ(pins[i].node().attribute("cpuset").as_string(),
                     want[i].node().attribute("cpuset").as_string());
    }
    EXPECT_EQ(x.attr("/domain/cputune/emulatorpin", "cpuset"),
              expected.attr("/x/cputune/emulatorpin", "cpuset"));
    EXPECT_EQ(x.attr("/domain/cpu/topology", "cores"), expected.attr("/x/cpu/topology", "cores"));
    EXPECT_EQ(x.attr("/domain/cpu/topology", "threads"),
              expected.attr("/x/cpu/topology", "threads"));
    EXPECT_EQ(x.attr("/domain/cpu", "mode"), "host-passthrough");
    EXPECT_EQ(x.text("/domain/vcpu"), "4");

    auto too_many = win11();
    too_many.vcpus = 64;
    auto r = build_domain(m.sys, m.ids, too_many);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("--no-pin"), std::string::npos);
    too_many.pin = false;
    Xml unpinned(define(m, too_many).xml);
    EXPECT_FALSE(unpinned.one("/domain/cputune"));
    EXPECT_EQ(unpinned.text("/domain/vcpu"), "64");
}

TEST(VmDefine, Windows11GetsSecureBootWithEnrolledKeysSmmAndATpm) {
    VmMachine m;
    Xml x(define(m, win11()).xml);
    EXPECT_EQ(x.text("/domain/os/loader"), "/usr/share/OVMF/OVMF_CODE_4M.ms.fd");
    EXPECT_EQ(x.attr("/domain/os/loader", "secure"), "yes");
    EXPECT_EQ(x.attr("/domain/os/loader", "type"), "pflash");
    EXPECT_EQ(x.attr("/domain/os/nvram", "template"), "/usr/share/OVMF/OVMF_VARS_4M.ms.fd");
    EXPECT_EQ(x.attr("/domain/os/type", "machine"), "q35");
    EXPECT_EQ(x.attr("/domain/features/smm", "state"), "on");
    EXPECT_EQ(x.attr("/domain/devices/tpm", "model"), "tpm-crb");
    EXPECT_EQ(x.attr("/domain/devices/tpm/backend", "type"), "emulator");
    EXPECT_EQ(x.attr("/domain/devices/tpm/backend", "version"), "2.0");
}

TEST(VmDefine, Windows10AndNoSecureBootGetPlainOvmfWithoutSmm) {
    VmMachine m;
    auto o = win11();
    o.os = "win10";
    Xml x(define(m, o).xml);
    EXPECT_EQ(x.text("/domain/os/loader"), "/usr/share/OVMF/OVMF_CODE_4M.fd");
    EXPECT_EQ(x.attr("/domain/os/loader", "secure"), "no");
    EXPECT_FALSE(x.one("/domain/features/smm"));
    EXPECT_FALSE(x.one("/domain/devices/tpm"));
    o.tpm = true;
    EXPECT_TRUE(Xml(define(m, o).xml).one("/domain/devices/tpm"));
    o = win11();
    o.secure_boot = false;
    EXPECT_EQ(Xml(define(m, o).xml).text("/domain/os/loader"), "/usr/share/OVMF/OVMF_CODE_4M.fd");
}

TEST(VmDefine, HypervVendorIdHiddenKvmAndTheKernelIoapic) {
    VmMachine m;
    auto o = win11();
    o.vendor_id = "GenuineFake";
    Xml x(define(m, o).xml);
    EXPECT_EQ(x.attr("/domain/features/hyperv/vendor_id", "value"), "GenuineFake");
    EXPECT_EQ(x.attr("/domain/features/hyperv/vendor_id", "state"), "on");
    EXPECT_EQ(x.attr("/domain/features/kvm/hidden", "state"), "on");
    EXPECT_EQ(x.attr("/domain/features/ioapic", "driver"), "kvm");
    EXPECT_TRUE(x.one("/domain/features/hyperv/vpindex"));
    EXPECT_TRUE(x.one("/domain/features/hyperv/synic"));
    EXPECT_EQ(x.attr("/domain", "type"), "kvm");
}

TEST(VmDefine, TcgDropsTheHypervFeaturesQemuRefusesWithoutKvm) {
    VmMachine m;
    auto o = win11();
    o.virt_type = "auto";  // the fixture has no /dev/kvm
    auto def = define(m, o);
    Xml x(def.xml);
    EXPECT_EQ(def.virt_type, "qemu");
    EXPECT_EQ(x.attr("/domain", "type"), "qemu");
    for (const char* f : {"vpindex", "synic", "stimer", "ipi"}) {
        EXPECT_FALSE(x.one((std::string("/domain/features/hyperv/") + f).c_str())) << f;
    }
    EXPECT_EQ(x.attr("/domain/features/hyperv/vendor_id", "value"), "porthole00");
    EXPECT_EQ(x.attr("/domain/cpu", "mode"), "maximum");
    EXPECT_TRUE(any_note(def, "no /dev/kvm"));
    m.copy.write("root/dev/kvm", "");
    EXPECT_EQ(define(m, o).virt_type, "kvm");
}

TEST(VmDefine, ShmemIsSizedForTheResolutionAndNamedAsAsked) {
    VmMachine m;
    auto o = win11();
    o.width = 2560;
    o.height = 1440;
    o.shm_name = "porthole-win11";
    auto def = define(m, o);
    Xml x(def.xml);
    const uint64_t bytes = region_size_bytes(2560, 1440);
    EXPECT_EQ(def.region_bytes, bytes);
    EXPECT_EQ(x.attr("/domain/devices/shmem", "name"), "porthole-win11");
    EXPECT_EQ(x.attr("/domain/devices/shmem/model", "type"), "ivshmem-plain");
    EXPECT_EQ(x.text("/domain/devices/shmem/size"), std::to_string(bytes >> 20));
    EXPECT_EQ(x.attr("/domain/devices/shmem/size", "unit"), "M");
    EXPECT_EQ(def.region_path, "/dev/shm/porthole-win11");
    EXPECT_EQ(x.attr("/domain/metadata/porthole:vm/porthole:region", "width"), "2560");
}

TEST(VmDefine, DoorbellRegionIsServedByPortholeIvshmemServerOnItsSocket) {
    VmMachine m;
    auto o = win11();
    o.width = 2560;
    o.height = 1440;
    o.shm_name = "porthole-win11";
    o.doorbell = "/run/porthole/ivshmem.sock";
    auto def = define(m, o);
    Xml x(def.xml);
    const uint64_t bytes = region_size_bytes(2560, 1440);
    ASSERT_EQ(x.all("/domain/devices/shmem").size(), 1u);
    EXPECT_EQ(x.attr("/domain/devices/shmem", "name"), "porthole-win11");
    EXPECT_EQ(x.attr("/domain/devices/shmem/model", "type"), "ivshmem-doorbell");
    EXPECT_EQ(x.attr("/domain/devices/shmem/server", "path"), "/run/porthole/ivshmem.sock");
    EXPECT_EQ(x.attr("/domain/devices/shmem/msi", "vectors"), "1");
    EXPECT_EQ(x.attr("/domain/devices/shmem/msi", "ioeventfd"), "on");
    // libvirt refuses a <size> beside <server>: the server's region file sets it.
    EXPECT_FALSE(x.one("/domain/devices/shmem/size"));
    EXPECT_EQ(def.region_bytes, bytes);
    EXPECT_EQ(def.region_path, "/dev/shm/porthole-win11");
    // The server, sized as the plain region would be, started before the VM; the client.
    EXPECT_TRUE(any_note(def,
                         "porthole-ivshmem-server, which must be running before the VM starts: "
                         "`porthole-ivshmem-server --socket /run/porthole/ivshmem.sock --shm "
                         "/dev/shm/porthole-win11 --size " +
                             std::to_string(bytes >> 20) + "`"));
    EXPECT_TRUE(any_note(def,
                         "`porthole --shm /dev/shm/porthole-win11 --doorbell "
                         "/run/porthole/ivshmem.sock --input-to qmp"));
    EXPECT_FALSE(any_note(def, "the region /dev/shm/porthole-win11 is"));
}

TEST(VmDefine, DoorbellSocketMustBeAnAbsoluteSocketPathSafeInXmlAndAUnitFile) {
    VmMachine m;
    for (const std::string& bad :
         {std::string("ivshmem.sock"), std::string("run/porthole/ivshmem.sock"),
          std::string("/run/porthole/"), std::string("/run/a\nb.sock"),
          std::string("/run/a\tb.sock"), std::string("/run/a'b.sock"),
          std::string("/run/a\"b.sock"), std::string("/run/a\\b.sock"),
          std::string("/run/bad\xff.sock"), "/" + std::string(107, 's')}) {
        auto o = win11();
        o.doorbell = bad;
        auto def = build_domain(m.sys, m.ids, o);
        ASSERT_FALSE(def) << bad;
        EXPECT_NE(def.error().message.find("--doorbell"), std::string::npos) << def.error().message;
    }
    // What XML can carry escaped is written escaped and reads back unchanged.
    for (const std::string& good : {std::string("/run/porthole/a&b <c>.sock"),
                                    std::string("/tmp/ivshmem"), "/" + std::string(106, 's')}) {
        auto o = win11();
        o.doorbell = good;
        auto def = build_domain(m.sys, m.ids, o);
        ASSERT_TRUE(def) << good << ": " << def.error().message;
        EXPECT_EQ(Xml(def->xml).attr("/domain/devices/shmem/server", "path"), good);
    }
}

TEST(VmDefine, QmpSocketOnTheQemuCommandLineForPortholeInputToQmp) {
    VmMachine m;
    auto def = define(m, win11());
    Xml x(def.xml);
    EXPECT_EQ(x.attr("/domain", "xmlns:qemu"), kQemuNamespace);
    auto args = x.all("/domain/qemu:commandline/qemu:arg");
    ASSERT_EQ(args.size(), 2u);
    EXPECT_STREQ(args[0].node().attribute("value").as_string(), "-qmp");
    EXPECT_STREQ(args[1].node().attribute("value").as_string(),
                 "unix:/run/porthole/win11.qmp,server=on,wait=off");
    EXPECT_EQ(def.qmp_path, "/run/porthole/win11.qmp");
    EXPECT_TRUE(any_note(def, "--qmp unix:/run/porthole/win11.qmp"));

    auto o = win11();
    o.qmp = "/var/run/a,b.qmp";  // QEMU's option syntax doubles the comma
    Xml y(define(m, o).xml);
    EXPECT_EQ(y.attr("/domain/qemu:commandline/qemu:arg[2]", "value"),
              "unix:/var/run/a,,b.qmp,server=on,wait=off");
    o.qmp = "relative.qmp";
    EXPECT_FALSE(build_domain(m.sys, m.ids, o));
    o.qmp = "/" + std::string(110, 'q');
    EXPECT_FALSE(build_domain(m.sys, m.ids, o));
}

TEST(VmDefine, InstallModeBootsTheInstallerFromSataWithSpiceAndQxl) {
    VmMachine m;
    auto o = win11();
    o.disk = m.file("win11.qcow2", std::string("QFI\xfb", 4) + "rest");
    o.iso = m.file("Win11_English_x64.iso");
    o.virtio_iso = m.file("virtio-win.iso");
    auto def = define(m, o);
    EXPECT_TRUE(def.install_mode);
    Xml x(def.xml);
    EXPECT_EQ(x.attr("/domain/devices/disk[@device='disk']/driver", "type"), "qcow2");
    EXPECT_EQ(x.attr("/domain/devices/disk[@device='disk']/source", "file"), o.disk);
    EXPECT_EQ(x.attr("/domain/devices/disk[@device='disk']/target", "bus"), "virtio");
    EXPECT_EQ(x.attr("/domain/devices/disk[@device='disk']/boot", "order"), "2");
    auto cdroms = x.all("/domain/devices/disk[@device='cdrom']");
    ASSERT_EQ(cdroms.size(), 2u);
    EXPECT_STREQ(cdroms[0].node().child("source").attribute("file").as_string(), o.iso.c_str());
    EXPECT_STREQ(cdroms[0].node().child("target").attribute("bus").as_string(), "sata");
    EXPECT_STREQ(cdroms[0].node().child("boot").attribute("order").as_string(), "1");
    EXPECT_STREQ(cdroms[1].node().child("source").attribute("file").as_string(),
                 o.virtio_iso.c_str());
    EXPECT_FALSE(cdroms[1].node().child("boot"));
    EXPECT_EQ(x.attr("/domain/devices/graphics", "type"), "spice");
    EXPECT_EQ(x.attr("/domain/devices/graphics/listen", "address"), "127.0.0.1");
    EXPECT_EQ(x.attr("/domain/devices/video/model", "type"), "qxl");
    EXPECT_FALSE(x.one("/domain/os/boot"));  // per-device boot order only
    EXPECT_TRUE(any_note(def, "finish-install win11"));

    // Without an ISO: no emulated display at all, the disk boots first.
    o.iso.clear();
    o.virtio_iso.clear();
    Xml y(define(m, o).xml);
    EXPECT_EQ(y.attr("/domain/devices/video/model", "type"), "none");
    EXPECT_FALSE(y.one("/domain/devices/graphics"));
    EXPECT_EQ(y.attr("/domain/devices/disk/boot", "order"), "1");
}

TEST(VmDefine, DiskMustExistAndRawIsTheDefaultFormat) {
    VmMachine m;
    auto o = win11();
    o.disk = (m.copy.dir() / "files/missing.img").string();
    auto r = build_domain(m.sys, m.ids, o);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("qemu-img create"), std::string::npos);
    o.disk = m.copy.dir().string();  // a folder
    EXPECT_FALSE(build_domain(m.sys, m.ids, o));
    o.disk = m.file("raw.img", std::string(512, '\0'));
    Xml x(define(m, o).xml);
    EXPECT_EQ(x.attr("/domain/devices/disk/driver", "type"), "raw");
    EXPECT_EQ(x.attr("/domain/devices/disk", "type"), "file");
    EXPECT_EQ(x.attr("/domain/devices/disk/driver", "cache"), "none");
}

TEST(VmDefine, NetworkDefaultBridgeMacvtapUserOrNone) {
    VmMachine m;
    auto o = win11();
    Xml def(define(m, o).xml);
    EXPECT_EQ(def.attr("/domain/devices/interface", "type"), "network");
    EXPECT_EQ(def.attr("/domain/devices/interface/source", "network"), "default");
    EXPECT_EQ(def.attr("/domain/devices/interface/model", "type"), "virtio");
    EXPECT_EQ(def.attr("/domain/devices/interface/driver", "queues"), "4");
    o.network = "bridge:br0";
    Xml br(define(m, o).xml);
    EXPECT_EQ(br.attr("/domain/devices/interface", "type"), "bridge");
    EXPECT_EQ(br.attr("/domain/devices/interface/source", "bridge"), "br0");
    EXPECT_FALSE(br.one("/domain/devices/interface/source/@network"));
    o.network = "macvtap:enp5s0";
    Xml mv(define(m, o).xml);
    EXPECT_EQ(mv.attr("/domain/devices/interface", "type"), "direct");
    EXPECT_EQ(mv.attr("/domain/devices/interface/source", "dev"), "enp5s0");
    EXPECT_EQ(mv.attr("/domain/devices/interface/source", "mode"), "bridge");
    o.network = "user";
    EXPECT_EQ(Xml(define(m, o).xml).attr("/domain/devices/interface", "type"), "user");
    o.network = "none";
    EXPECT_FALSE(Xml(define(m, o).xml).one("/domain/devices/interface"));
    for (const char* bad : {"bridge:", "bridge:a/b", "bridge:0123456789abcdef", "macvtap:a b",
                            "wifi", "default:x", "bridge:a\nb"}) {
        o.network = bad;
        EXPECT_FALSE(build_domain(m.sys, m.ids, o)) << bad;
    }
}

TEST(VmDefine, RefusesNamesLibvirtRefusesOrThatMakeBadFiles) {
    for (const std::string& bad :
         {std::string(), std::string("a/b"), std::string("a\nb"), std::string("tab\there"),
          std::string("."), std::string(".."), std::string(65, 'x'), std::string("bad\xff"),
          std::string("\xc0\xaf"), std::string("del\x7f")}) {
        EXPECT_FALSE(validate_domain_name(bad)) << bad;
    }
    for (const std::string& good :
         {std::string("win11"), std::string("Windows 11 (gaming)"), std::string("über-vm"),
          std::string("-dash"), std::string(64, 'x'), std::string("a&b<c>'\"")}) {
        EXPECT_TRUE(validate_domain_name(good)) << good;
    }
    VmMachine m;
    auto o = win11();
    o.name = "../../etc";
    EXPECT_FALSE(build_domain(m.sys, m.ids, o));
    o = win11();
    o.shm_name = "../porthole";
    EXPECT_FALSE(build_domain(m.sys, m.ids, o));
}

TEST(VmDefine, EscapesEveryValueItWrites) {
    VmMachine m;
    auto o = win11();
    o.name = "a&b<c>'\"";
    o.disk = m.file("disk '&<>\".img");
    auto def = define(m, o);
    Xml x(def.xml);  // well-formed, and every value reads back unchanged
    EXPECT_EQ(x.text("/domain/name"), o.name);
    EXPECT_EQ(x.attr("/domain/devices/disk/source", "file"), o.disk);
    EXPECT_EQ(x.attr("/domain/qemu:commandline/qemu:arg[2]", "value"),
              "unix:/run/porthole/" + o.name + ".qmp,server=on,wait=off");
    EXPECT_EQ(def.xml.find("<c>"), std::string::npos);
    // The vendor_id goes into QEMU's -cpu option too: refused rather than escaped.
    for (const char* bad : {"v<&>", "a,b", "a'b", "a b"}) {
        o.vendor_id = bad;
        EXPECT_FALSE(build_domain(m.sys, m.ids, o)) << bad;
    }
}

TEST(VmDefine, DirectKernelBootForLinuxGuestsHasNoFirmwareAndAVirtioTablet) {
    VmMachine m;
    auto o = win11("none");
    o.os = "linux";
    o.kernel = m.file("vmlinuz");
    o.initrd = m.file("initrd.gz");
    o.cmdline = "console=ttyS0 quiet porthole_test=frames";
    o.serial_log = (m.copy.dir() / "console.log").string();
    Xml x(define(m, o).xml);
    EXPECT_EQ(x.text("/domain/os/kernel"), o.kernel);
    EXPECT_EQ(x.text("/domain/os/initrd"), o.initrd);
    EXPECT_EQ(x.text("/domain/os/cmdline"), o.cmdline);
    EXPECT_FALSE(x.one("/domain/os/loader"));
    EXPECT_FALSE(x.one("/domain/devices/tpm"));
    EXPECT_FALSE(x.one("/domain/devices/hostdev"));
    EXPECT_EQ(x.attr("/domain/devices/input[@type='tablet']", "bus"), "virtio");
    EXPECT_EQ(x.attr("/domain/devices/input[@type='mouse']", "bus"), "virtio");
    EXPECT_EQ(x.attr("/domain/devices/serial/source", "path"), o.serial_log);
    EXPECT_EQ(x.attr("/domain/clock", "offset"), "utc");
    o.secure_boot = true;
    EXPECT_FALSE(build_domain(m.sys, m.ids, o));
}

TEST(VmDefine, WindowsGetsAUsbTabletItHasADriverFor) {
    VmMachine m;
    Xml x(define(m, win11()).xml);
    EXPECT_EQ(x.attr("/domain/devices/input[@type='tablet']", "bus"), "usb");
    EXPECT_FALSE(x.one("/domain/devices/input[@type='mouse']"));
    EXPECT_EQ(x.attr("/domain/devices/memballoon", "model"), "none");
    EXPECT_EQ(x.attr("/domain/clock", "offset"), "localtime");
}

// The CLI prints only XML without --apply (`> vm.xml` works); the notes go to stderr.
TEST(VmDefineCli, PrintsTheDomainOnStdoutTheNotesOnStderrAndWritesNothing) {
    VmMachine m;
    auto args = m.copy.root_args();
    args.insert(args.end(), {"vm", "define", "win11", "--gpu", "01:00.0", "--memory", "8G",
                             "--vcpus", "4", "--virt-type", "kvm"});
    std::ostringstream out, err;
    EXPECT_EQ(run_cli(args, out, err), 0) << err.str();
    Xml x(out.str());
    EXPECT_EQ(x.text("/domain/name"), "win11");
    EXPECT_EQ(out.str().find("note:"), std::string::npos);
    EXPECT_NE(err.str().find("note: the region /dev/shm/porthole is 32 MiB"), std::string::npos);
    EXPECT_NE(err.str().find("add --apply"), std::string::npos);
    EXPECT_FALSE(fs::exists(m.copy.dir() / "root/var/lib/porthole-vfio"));

    std::ostringstream out2, err2;
    args.push_back("--tpm");
    args.push_back("--no-secure-boot");
    EXPECT_EQ(run_cli(args, out2, err2), 0) << err2.str();
    Xml y(out2.str());
    EXPECT_EQ(y.attr("/domain/os/loader", "secure"), "no");
    EXPECT_TRUE(y.one("/domain/devices/tpm"));
}

TEST(VmDefineCli, ABadNameIsAnErrorWithExitTwo) {
    VmMachine m;
    auto args = m.copy.root_args();
    args.insert(args.end(), {"vm", "define", "a/b", "--gpu", "none"});
    std::ostringstream out, err;
    EXPECT_EQ(run_cli(args, out, err), 2);
    EXPECT_NE(err.str().find("contains '/'"), std::string::npos);
}

// --doorbell alone is the server's default socket; a bad one is a usage error naming it.
TEST(VmDefineCli, DoorbellWithoutASocketUsesTheServersDefaultAndABadOneExitsTwo) {
    VmMachine m;
    auto args = m.copy.root_args();
    args.insert(args.end(), {"vm", "define", "win11", "--gpu", "01:00.0", "--memory", "8G",
                             "--vcpus", "4", "--virt-type", "kvm"});
    auto run = [&](std::vector<std::string> extra, std::string& out, std::string& err) {
        auto all = args;
        all.insert(all.end(), extra.begin(), extra.end());
        std::ostringstream o, e;
        int code = run_cli(all, o, e);
        out = o.str();
        err = e.str();
        return code;
    };
    std::string out, err;
    ASSERT_EQ(run({"--doorbell"}, out, err), 0) << err;
    Xml x(out);
    EXPECT_EQ(x.attr("/domain/devices/shmem/model", "type"), "ivshmem-doorbell");
    EXPECT_EQ(x.attr("/domain/devices/shmem/server", "path"), kDefaultDoorbellSocket);
    EXPECT_NE(err.find("porthole-ivshmem-server --socket /run/porthole/ivshmem.sock --shm "
                       "/dev/shm/porthole --size 32"),
              std::string::npos)
        << err;

    ASSERT_EQ(run({"--doorbell", "/run/porthole/win11.sock", "--json"}, out, err), 0) << err;
    auto j = nlohmann::json::parse(out);
    EXPECT_EQ(j["doorbell"], "/run/porthole/win11.sock");
    EXPECT_EQ(Xml(j["xml"].get<std::string>()).attr("/domain/devices/shmem/server", "path"),
              "/run/porthole/win11.sock");

    for (const char* bad : {"relative.sock", "/run/a'b.sock"}) {
        ASSERT_EQ(run({"--doorbell", bad}, out, err), 2) << bad;
        EXPECT_TRUE(out.empty()) << out;
        EXPECT_NE(err.find(std::string("error: --doorbell '") + bad + "'"), std::string::npos)
            << err;
    }
}

// A domain as virsh dumpxml returns it after vm define with install mode.
std::string installed_domain(VmMachine& m) {
    auto o = win11();
    o.disk = m.file("win11.img");
    o.iso = m.file("Win11.iso");
    o.virtio_iso = m.file("virtio-win.iso");
    return define(m, o).xml;
}

TEST(FinishInstall, RemovesSpiceQxlAndTheInstallerCdroms) {
    VmMachine m;
    auto r = finish_install(installed_domain(m));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_TRUE(r->changed);
    Xml x(r->xml);
    EXPECT_FALSE(x.one("/domain/devices/graphics"));
    EXPECT_FALSE(x.one("//channel[@type='spicevmc']"));
    EXPECT_FALSE(x.one("/domain/devices/disk[@device='cdrom']"));
    EXPECT_EQ(x.attr("/domain/devices/video/model", "type"), "none");
    EXPECT_EQ(x.attr("/domain/devices/disk[@device='disk']/boot", "order"), "1");
    EXPECT_FALSE(x.one("/domain/metadata/porthole:vm/porthole:install"));
    // Everything else stays.
    EXPECT_EQ(x.all("/domain/devices/hostdev").size(), 2u);
    EXPECT_TRUE(x.one("/domain/devices/shmem"));
    EXPECT_TRUE(x.one("/domain/qemu:commandline"));
    EXPECT_TRUE(x.one("/domain/devices/tpm"));
}

TEST(FinishInstall, IsIdempotent) {
    VmMachine m;
    auto first = finish_install(installed_domain(m));
    ASSERT_TRUE(first);
    auto second = finish_install(first->xml);
    ASSERT_TRUE(second);
    EXPECT_FALSE(second->changed);
    EXPECT_TRUE(second->removed.empty());
    EXPECT_EQ(second->xml, first->xml);
}

TEST(FinishInstall, OnlyTheCdromsVmDefineAttachedWhenItsRecordIsThere) {
    VmMachine m;
    Xml x(installed_domain(m));
    // The user added a cdrom of their own later: it stays.
    auto cd = x.one("/domain/devices").append_child("disk");
    cd.append_attribute("type") = "file";
    cd.append_attribute("device") = "cdrom";
    cd.append_child("source").append_attribute("file") = "/srv/keep.iso";
    auto t = cd.append_child("target");
    t.append_attribute("dev") = "sdc";
    t.append_attribute("bus") = "sata";
    std::ostringstream s;
    x.doc.save(s);
    auto r = finish_install(s.str());
    ASSERT_TRUE(r);
    Xml y(r->xml);
    ASSERT_EQ(y.all("/domain/devices/disk[@device='cdrom']").size(), 1u);
    EXPECT_EQ(y.attr("/domain/devices/disk[@device='cdrom']/source", "file"), "/srv/keep.iso");
}

TEST(FinishInstall, DomainsMadeElsewhereLoseSpiceAudioAndEveryInstallMedium) {
    const std::string xml = R"(<domain type='kvm'>
  <name>other</name>
  <devices>
    <disk type='file' device='disk'><source file='/v/a.img'/><target dev='vda' bus='virtio'/><boot order='3'/></disk>
    <disk type='file' device='cdrom'><source file='/v/w.iso'/><target dev='sda' bus='sata'/><boot order='1'/></disk>
    <disk type='file' device='cdrom'><target dev='sdb' bus='sata'/></disk>
    <graphics type='spice' autoport='yes'/>
    <graphics type='vnc' port='-1'/>
    <audio id='1' type='spice'/>
    <audio id='2' type='pipewire'/>
    <sound model='ich9'><audio id='1'/></sound>
    <redirdev bus='usb' type='spicevmc'/>
    <video><model type='qxl'/></video>
  </devices>
</domain>)";
    auto r = finish_install(xml);
    ASSERT_TRUE(r);
    Xml x(r->xml);
    EXPECT_FALSE(x.one("//graphics[@type='spice']"));
    EXPECT_TRUE(x.one("//graphics[@type='vnc']"));  // not the installer's
    EXPECT_FALSE(x.one("//audio[@type='spice']"));
    EXPECT_TRUE(x.one("//audio[@type='pipewire']"));
    EXPECT_FALSE(x.one("//sound/audio"));
    EXPECT_FALSE(x.one("//redirdev"));
    EXPECT_FALSE(x.one("//disk[source/@file='/v/w.iso']"));
    EXPECT_TRUE(x.one("//disk[target/@dev='sdb']"));  // an empty drive holds no installer
    EXPECT_EQ(x.attr("//disk[@device='disk']/boot", "order"), "1");
    EXPECT_EQ(x.attr("//video/model", "type"), "none");
}

TEST(VmDefine, AReplacedDomainKeepsItsUuidAndMacAddresses) {
    VmMachine m;
    auto o = win11();
    const std::string fresh = define(m, o).xml;
    const std::string old = R"(<domain type='kvm'><name>win11</name>
      <uuid>3f1c5a2e-9d41-4c1b-a2b5-0f6e1d7c9a10</uuid>
      <devices><interface type='network'><mac address='52:54:00:12:34:56'/>
      <source network='default'/></interface></devices></domain>)";
    auto kept = keep_identity(fresh, old);
    ASSERT_TRUE(kept) << kept.error().message;
    Xml x(*kept);
    EXPECT_EQ(x.text("/domain/uuid"), "3f1c5a2e-9d41-4c1b-a2b5-0f6e1d7c9a10");
    EXPECT_EQ(x.all("/domain/uuid").size(), 1u);
    EXPECT_EQ(x.attr("/domain/devices/interface/mac", "address"), "52:54:00:12:34:56");
    EXPECT_EQ(x.all("/domain/devices/hostdev").size(), 2u);  // the rest is the new domain
    EXPECT_FALSE(keep_identity(fresh, "<network/>"));
}

TEST(FinishInstall, RefusesWhatIsNotADomain) {
    EXPECT_FALSE(finish_install("<network><name>x</name></network>"));
    EXPECT_FALSE(finish_install("<domain><name>x</name>"));
}

// libvirt's own schema, through virt-xml-validate (libvirt-clients), over every
// shape vm define produces.
TEST(VmDefine, EveryGeneratedDomainValidatesWithVirtXmlValidate) {
    VmMachine m;
    testing::add_function(m.copy, "0000:01:00", 2, "0x0c0330");
    testing::set_hugepages(m.copy, 1048576, 16);
    const std::string disk = m.file("disk.qcow2", std::string("QFI\xfb", 4));
    const std::string iso = m.file("win.iso"), virtio = m.file("virtio.iso");
    std::vector<std::pair<std::string, VmOptions>> variants;
    auto add = [&](std::string label, auto change) {
        VmOptions o = win11();
        change(o);
        variants.emplace_back(std::move(label), o);
    };
    add("win11 defaults", [](VmOptions&) {});
    add("install mode, disk, both ISOs", [&](VmOptions& o) {
        o.disk = disk;
        o.iso = iso;
        o.virtio_iso = virtio;
    });
    add("win10, bridge, 2M pages, rom", [&](VmOptions& o) {
        o.os = "win10";
        o.network = "bridge:br0";
        o.page = "2M";
        o.rom = (testing::fixtures_dir() / "roms/legacy-uefi.rom").string();
    });
    add("macvtap, unpinned, 4K, custom qmp", [](VmOptions& o) {
        o.network = "macvtap:enp5s0";
        o.pin = false;
        o.width = 3840;
        o.height = 2160;
        o.qmp = "/tmp/x,y.qmp";
        o.page = "none";
    });
    add("TCG, no GPU, user network", [](VmOptions& o) {
        o.virt_type = "qemu";
        o.gpu = "none";
        o.network = "user";
    });
    add("linux kernel boot, serial, no network", [&](VmOptions& o) {
        o.os = "linux";
        o.gpu = "none";
        o.kernel = disk;
        o.initrd = iso;
        o.cmdline = "console=ttyS0 a=\"b c\"";
        o.serial_log = "/tmp/console.log";
        o.network = "none";
    });
    add("odd name", [](VmOptions& o) { o.name = "Gaming & <Work> 'VM'"; });
    add("doorbell", [](VmOptions& o) { o.doorbell = "/run/porthole/ivshmem.sock"; });
    add("doorbell, odd socket, 4K", [](VmOptions& o) {
        o.doorbell = "/tmp/a&b <c>.sock";
        o.width = 3840;
        o.height = 2160;
    });
    std::vector<std::string> xmls;
    for (const auto& [label, o] : variants) {
        auto def = build_domain(m.sys, m.ids, o);
        ASSERT_TRUE(def) << label << ": " << def.error().message;
        xmls.push_back(def->xml);
        if (def->install_mode) {
            auto done = finish_install(def->xml);
            ASSERT_TRUE(done);
            xmls.push_back(done->xml);
        }
    }
    for (size_t i = 0; i < xmls.size(); ++i) {
        const fs::path file = m.copy.dir() / ("domain-" + std::to_string(i) + ".xml");
        std::ofstream(file) << xmls[i];
        auto r = run_captured({"virt-xml-validate", file.string(), "domain"});
        ASSERT_TRUE(r) << r.error().message;
        ASSERT_NE(r->status, 127) << "virt-xml-validate is missing: tools/setup installs "
                                     "libvirt-clients";
        EXPECT_EQ(r->status, 0) << "variant " << i << ":\n" << r->out << r->err << "\n" << xmls[i];
    }
}

// A domain libvirt's QEMU driver can turn into a command line on any host: no GPU, no
// network, no huge pages, TCG; the region served by porthole-ivshmem-server on `socket`.
VmOptions doorbell_vm(const std::string& socket) {
    auto o = win11("none");
    o.os = "win10";
    o.tpm = false;
    o.secure_boot = false;
    o.virt_type = "qemu";
    o.network = "none";
    o.page = "none";
    o.doorbell = socket;
    return o;
}

// `virsh domxml-to-native qemu-argv` through libvirt's own QEMU driver, embedded in virsh
// (no daemon). As root the driver wants QEMU's configured user (libvirt-qemu) to exist:
// it runs as nobody, in a directory of its own.
CommandOutput libvirt_qemu_argv(const std::string& domain_xml) {
    const fs::path dir =
        fs::temp_directory_path() / ("porthole-embed-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    fs::permissions(dir, fs::perms::all);
    const fs::path file = dir / "domain.xml";
    std::ofstream(file) << domain_xml;
    fs::permissions(file, fs::perms::owner_all | fs::perms::group_read | fs::perms::others_read);
    std::vector<std::string> argv;
    if (::geteuid() == 0) argv = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
    argv.insert(argv.end(), {"env", "HOME=" + dir.string(), "XDG_RUNTIME_DIR=" + dir.string(),
                             "XDG_CONFIG_HOME=" + dir.string(), "XDG_CACHE_HOME=" + dir.string(),
                             "virsh", "-c", "qemu:///embed?root=" + (dir / "libvirt").string(),
                             "domxml-to-native", "qemu-argv", file.string()});
    auto r = run_captured(argv, {}, 120);
    fs::remove_all(dir);
    EXPECT_TRUE(r) << r.error().message;
    if (r) {
        EXPECT_NE(r->status, 127) << "virsh is missing: tools/setup installs libvirt-clients";
    }
    return r ? *r : CommandOutput{};
}

// The ivshmem-doorbell -device's JSON in a libvirt command line; null when absent.
nlohmann::json doorbell_device(const std::string& command_line) {
    const auto at = command_line.find("{\"driver\":\"ivshmem-doorbell\"");
    if (at == std::string::npos) return nullptr;
    return nlohmann::json::parse(command_line.substr(at, command_line.find('}', at) - at + 1));
}

// libvirt's QEMU driver turns the doorbell domain into an ivshmem-doorbell device with one
// vector and ioeventfd, on a chardev to the server's socket. The same domain with a <size>
// beside <server> is refused, so the driver's checks really ran.
TEST(VmDefine, LibvirtsQemuDriverMakesTheDoorbellAnIvshmemDoorbellOnTheServersSocket) {
    VmMachine m;
    const std::string xml = define(m, doorbell_vm("/run/porthole/win11-ivshmem.sock")).xml;
    ASSERT_FALSE(xml.empty());
    auto native = libvirt_qemu_argv(xml);
    ASSERT_EQ(native.status, 0) << native.err;
    const std::string& line = native.out;
    const auto device = doorbell_device(line);
    ASSERT_FALSE(device.is_null()) << line;
    EXPECT_EQ(device["vectors"], 1);
    EXPECT_EQ(device["ioeventfd"], true);
    const std::string chardev = "socket,id=" + device["chardev"].get<std::string>() +
                                ",path=/run/porthole/win11-ivshmem.sock";
    EXPECT_NE(line.find("-chardev " + chardev + " "), std::string::npos) << line;
    EXPECT_EQ(line.find("memory-backend-file"), std::string::npos) << line;

    std::string sized = xml;
    const std::string model = "<model type='ivshmem-doorbell' />";
    ASSERT_NE(sized.find(model), std::string::npos) << xml;
    sized.insert(sized.find(model), "<size unit='M'>32</size>");
    auto refused = libvirt_qemu_argv(sized);
    EXPECT_NE(refused.status, 0) << refused.out;
    EXPECT_NE(refused.err.find("does not support size setting"), std::string::npos) << refused.err;
}

// A program in the background, its output in `log`, stopped (by pid) at the end.
class Background {
  public:
    Background(std::vector<std::string> args, const fs::path& log)
        : pid_(porthole::testing::spawn_logged(std::move(args), log.string())) {}
    ~Background() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGTERM);
        ::waitpid(pid_, nullptr, 0);
    }
    Background(const Background&) = delete;
    Background& operator=(const Background&) = delete;

  private:
    pid_t pid_ = -1;
};

std::string read_text(const fs::path& path) {
    std::ifstream in(path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// The domain's region as QEMU starts it from libvirt's command line: with no server on the
// socket QEMU cannot create the device (the VM does not start); with porthole-ivshmem-server
// sized as vm define said, the device's BAR2 is the server's region, though the domain has
// no <size>.
TEST(VmDefine, QemuTakesTheDoorbellRegionFromPortholeIvshmemServerAsLibvirtStartsIt) {
    const std::string server_program = PORTHOLE_IVSHMEM_SERVER_PROGRAM;
    if (server_program.empty()) GTEST_SKIP() << "porthole-ivshmem-server is not in this build";
    VmMachine m;
    const fs::path dir = fs::temp_directory_path() / ("porthole-db-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    const std::string socket = (dir / "ivshmem.sock").string();
    auto def = define(m, doorbell_vm(socket));
    auto native = libvirt_qemu_argv(def.xml);
    ASSERT_EQ(native.status, 0) << native.err;
    auto device = doorbell_device(native.out);
    ASSERT_FALSE(device.is_null()) << native.out;
    // The bridges libvirt placed it behind are not on this short command line.
    device.erase("bus");
    device.erase("addr");
    const std::string chardev =
        "socket,id=" + device["chardev"].get<std::string>() + ",path=" + socket;
    ASSERT_NE(native.out.find("-chardev " + chardev + " "), std::string::npos) << native.out;
    auto qemu = [&] {
        auto r = run_captured(
            {"qemu-system-x86_64", "-machine", "q35", "-accel", "tcg", "-nodefaults", "-display",
             "none", "-S", "-qmp", "stdio", "-chardev", chardev, "-device", device.dump()},
            "{\"execute\":\"qmp_capabilities\"}\n"
            "{\"execute\":\"query-pci\"}\n{\"execute\":\"quit\"}\n",
            60);
        EXPECT_TRUE(r) << r.error().message;
        return r ? *r : CommandOutput{};
    };
    auto without = qemu();
    EXPECT_NE(without.status, 0) << without.out;
    EXPECT_NE(without.err.find("Failed to connect"), std::string::npos) << without.err;

    const fs::path log = dir / "server.log";
    std::optional<uint64_t> bar2;
    {
        Background server({server_program, "--socket", socket, "--shm", (dir / "region").string(),
                           "--size", std::to_string(def.region_bytes >> 20), "--mode", "0600"},
                          log);
        for (int i = 0; i < 500 && read_text(log).find("serving") == std::string::npos; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        ASSERT_NE(read_text(log).find("serving"), std::string::npos) << read_text(log);
        auto with = qemu();
        ASSERT_EQ(with.status, 0) << with.err;
        std::istringstream lines(with.out);
        for (std::string line; std::getline(lines, line);) {
            auto j = nlohmann::json::parse(line, nullptr, false);
            if (j.is_discarded() || !j.contains("return") || !j["return"].is_array()) continue;
            for (const auto& bus : j["return"])
                for (const auto& dev : bus["devices"])
                    if (dev["qdev_id"] == device["id"])
                        for (const auto& bar : dev["regions"])
                            if (bar["bar"] == 2) bar2 = bar["size"].get<uint64_t>();
        }
        EXPECT_TRUE(bar2) << with.out;
    }
    EXPECT_NE(read_text(log).find("peer 0 connected"), std::string::npos) << read_text(log);
    fs::remove_all(dir);
    ASSERT_TRUE(bar2);
    EXPECT_EQ(*bar2, region_size_bytes(1920, 1080));
}

}  // namespace
}  // namespace porthole::vfio
