// doctor --domain / --xml: a domain from vm define passes every piece; a domain
// missing any one piece is named with the XML to add.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "porthole/vfio/cli.hpp"
#include "porthole/vfio/domain_check.hpp"
#include "porthole/vfio/libvirt.hpp"
#include "porthole/vfio/vm.hpp"
#include "test_support.hpp"
#include "vm_support.hpp"

namespace porthole::vfio {
namespace {

using testing::Xml;

// intel-desktop with OVMF, 1 GiB pages reserved and /run/porthole in place.
struct CheckedMachine : testing::FakeMachine {
    CheckedMachine() : FakeMachine("intel-desktop") {
        testing::install_debian_ovmf(copy);
        testing::set_hugepages(copy, 1048576, 8);
        copy.write("root/run/porthole/.keep", "");
    }
    std::string generated() const {
        VmOptions o;
        o.name = "win11";
        o.gpu = "01:00.0";
        o.memory = "8G";
        o.vcpus = 4;
        o.virt_type = "kvm";
        auto def = build_domain(sys, ids, o);
        EXPECT_TRUE(def) << def.error().message;
        return def ? def->xml : std::string();
    }
    std::vector<Finding> check(const std::string& xml, DomainCheckOptions o = {}) const {
        return check_domain(sys, ids, xml, o);
    }
};

const Finding* find(const std::vector<Finding>& all, const std::string& check) {
    auto it =
        std::find_if(all.begin(), all.end(), [&](const Finding& f) { return f.check == check; });
    return it == all.end() ? nullptr : &*it;
}
// The finding points into the vector: a temporary one would be gone (ASan caught one).
const Finding* find(std::vector<Finding>&& all, const std::string& check) = delete;

std::string edit(const std::string& xml, const std::function<void(pugi::xml_document&)>& change) {
    Xml x(xml);
    change(x.doc);
    std::ostringstream s;
    x.doc.save(s);
    return s.str();
}

void remove(pugi::xml_document& d, const char* xpath) {
    for (auto n : d.select_nodes(xpath))
        n.node().parent().remove_child(n.node());
}

TEST(DomainCheck, AGeneratedDomainPassesEveryPiece) {
    CheckedMachine m;
    auto f = m.check(m.generated());
    for (const char* piece :
         {"domain acceleration", "domain machine", "domain firmware", "domain gpu 0000:01:00",
          "domain memory", "domain cputune", "domain hyperv", "domain kvm-hidden", "domain ioapic",
          "domain shmem", "domain qmp", "domain install-mode"}) {
        const Finding* x = find(f, piece);
        ASSERT_NE(x, nullptr) << piece;
        EXPECT_EQ(x->level, Level::Pass) << piece << ": " << x->detail;
    }
}

// A doorbell region's size is the server's: no <size> in the domain, and not checked.
TEST(DomainCheck, DoorbellRegionWithAServerSocketPassesNamingTheSocketAndTheServer) {
    CheckedMachine m;
    VmOptions o;
    o.name = "win11";
    o.gpu = "01:00.0";
    o.memory = "8G";
    o.vcpus = 4;
    o.virt_type = "kvm";
    o.doorbell = "/run/porthole/win11-ivshmem.sock";
    auto def = build_domain(m.sys, m.ids, o);
    ASSERT_TRUE(def) << def.error().message;
    auto f = m.check(def->xml);
    const Finding* x = find(f, "domain shmem");
    ASSERT_NE(x, nullptr);
    EXPECT_EQ(x->level, Level::Pass) << x->detail;
    EXPECT_NE(x->detail.find("/run/porthole/win11-ivshmem.sock"), std::string::npos) << x->detail;
    EXPECT_NE(x->detail.find("porthole-ivshmem-server"), std::string::npos) << x->detail;
    EXPECT_NE(x->detail.find("--size 32"), std::string::npos) << x->detail;
    // A plain region of the same domain without <size> is libvirt's 4 MiB: too small.
    const std::string plain = edit(def->xml, [](auto& d) {
        auto shmem = d.select_node("/domain/devices/shmem").node();
        shmem.child("model").attribute("type").set_value("ivshmem-plain");
        shmem.remove_child("server");
        shmem.remove_child("msi");
    });
    const auto plain_findings = m.check(plain);
    x = find(plain_findings, "domain shmem");
    ASSERT_NE(x, nullptr);
    EXPECT_EQ(x->level, Level::Fail) << x->detail;
}

struct MissingPiece {
    const char* label;
    std::function<void(pugi::xml_document&)> change;
    const char* check;
    Level level;
    const char* fix_contains;
};

TEST(DomainCheck, EachMissingPieceIsNamedWithTheXmlToAdd) {
    CheckedMachine m;
    const std::string good = m.generated();
    const std::vector<MissingPiece> cases = {
        {"i440fx",
         [](auto& d) {
             d.select_node("/domain/os/type")
                 .node()
                 .attribute("machine")
                 .set_value("pc-i440fx-7.2");
         },
         "domain machine", Level::Fail, "machine='q35'"},
        {"BIOS", [](auto& d) { remove(d, "/domain/os/loader | /domain/os/nvram"); },
         "domain firmware", Level::Fail, "<loader readonly='yes' type='pflash'>/usr/share/OVMF/"},
        {"loader file gone",
         [](auto& d) { d.select_node("/domain/os/loader").node().text().set("/nope/OVMF.fd"); },
         "domain firmware", Level::Fail, "install OVMF"},
        {"HDMI audio function left behind",
         [](auto& d) { remove(d, "/domain/devices/hostdev[source/address/@function='0x1']"); },
         "domain gpu 0000:01:00", Level::Fail, "function='0x1'"},
        {"no GPU", [](auto& d) { remove(d, "/domain/devices/hostdev"); }, "domain gpu", Level::Warn,
         "<hostdev mode='subsystem' type='pci' managed='yes'>"},
        {"functions split over guest slots",
         [](auto& d) {
             d.select_node("/domain/devices/hostdev[source/address/@function='0x1']/address")
                 .node()
                 .attribute("bus")
                 .set_value("0x02");
         },
         "domain gpu 0000:01:00", Level::Warn, "multifunction='on'"},
        {"more pages than reserved",
         [](auto& d) {
             d.select_node("/domain/memory").node().text().set("16777216");  // 16 GiB
         },
         "domain memory", Level::Fail, "hugepages reserve 8192M --page 1G"},
        {"pages reserved, unused", [](auto& d) { remove(d, "/domain/memoryBacking"); },
         "domain memory", Level::Warn, "<page size='1048576' unit='KiB'/>"},
        {"no cputune", [](auto& d) { remove(d, "/domain/cputune"); }, "domain cputune", Level::Warn,
         "<vcpupin vcpu='3'"},
        {"no vendor_id", [](auto& d) { remove(d, "/domain/features/hyperv/vendor_id"); },
         "domain hyperv", Level::Warn, "<vendor_id state='on'"},
        {"no hyperv", [](auto& d) { remove(d, "/domain/features/hyperv"); }, "domain hyperv",
         Level::Warn, "<hyperv mode='custom'>"},
        {"kvm visible", [](auto& d) { remove(d, "/domain/features/kvm"); }, "domain kvm-hidden",
         Level::Warn, "<kvm><hidden state='on'/></kvm>"},
        {"userspace ioapic", [](auto& d) { remove(d, "/domain/features/ioapic"); }, "domain ioapic",
         Level::Warn, "<ioapic driver='kvm'/>"},
        {"no region", [](auto& d) { remove(d, "/domain/devices/shmem"); }, "domain shmem",
         Level::Fail, "<shmem name='porthole'>"},
        {"region too small",
         [](auto& d) { d.select_node("/domain/devices/shmem/size").node().text().set("16"); },
         "domain shmem", Level::Fail, "<size unit='M'>32</size>"},
        {"region not a power of two",
         [](auto& d) { d.select_node("/domain/devices/shmem/size").node().text().set("48"); },
         "domain shmem", Level::Fail, "<size unit='M'>32</size>"},
        {"doorbell model without a server",
         [](auto& d) {
             d.select_node("/domain/devices/shmem/model")
                 .node()
                 .attribute("type")
                 .set_value("ivshmem-doorbell");
         },
         "domain shmem", Level::Fail, "<server path='/run/porthole/ivshmem.sock'/>"},
        {"doorbell model with a server that names no path",
         [](auto& d) {
             auto shmem = d.select_node("/domain/devices/shmem").node();
             shmem.child("model").attribute("type").set_value("ivshmem-doorbell");
             shmem.remove_child("size");
             shmem.append_child("server");
         },
         "domain shmem", Level::Fail, "<server path='/run/porthole/ivshmem.sock'/>"},
        {"legacy ivshmem model",
         [](auto& d) {
             d.select_node("/domain/devices/shmem/model")
                 .node()
                 .attribute("type")
                 .set_value("ivshmem");
         },
         "domain shmem", Level::Fail, "<model type='ivshmem-plain'/>"},
        {"no QMP", [](auto& d) { remove(d, "/domain/qemu:commandline"); }, "domain qmp",
         Level::Warn, "<qemu:arg value='-qmp'/>"},
        {"still installing",
         [](auto& d) {
             auto g = d.select_node("/domain/devices").node().append_child("graphics");
             g.append_attribute("type") = "spice";
         },
         "domain install-mode", Level::Warn, "vm finish-install win11"},
        {"TCG",
         [](auto& d) { d.select_node("/domain").node().attribute("type").set_value("qemu"); },
         "domain acceleration", Level::Warn, "type='kvm'"},
    };
    for (const auto& c : cases) {
        auto f = m.check(edit(good, c.change));
        const Finding* x = find(f, c.check);
        ASSERT_NE(x, nullptr) << c.label;
        EXPECT_EQ(x->level, c.level) << c.label << ": " << x->detail;
        EXPECT_NE(x->fix.find(c.fix_contains), std::string::npos) << c.label << ": fix was\n"
                                                                  << x->fix;
    }
}

TEST(DomainCheck, PagesThePoolCannotHoldFailWhenNoPoolOfThatSizeExists) {
    CheckedMachine m;
    const std::string xml = m.generated();  // 1 GiB pages
    fs::remove_all(m.copy.dir() / "sys/kernel/mm/hugepages/hugepages-1048576kB");
    auto f = m.check(xml);
    ASSERT_NE(find(f, "domain memory"), nullptr);
    EXPECT_EQ(find(f, "domain memory")->level, Level::Fail);
}

TEST(DomainCheck, QmpSocketFoundWhateverPrefixBindsTheQemuNamespace) {
    CheckedMachine m;
    const std::string xml = std::string("<domain type='kvm' xmlns:q='") + kQemuNamespace +
                            "'><name>x</name><q:commandline><q:arg value='-qmp'/>"
                            "<q:arg value='unix:/run/porthole/a,,b.qmp,server=on'/>"
                            "</q:commandline></domain>";
    auto f = m.check(xml);
    ASSERT_NE(find(f, "domain qmp"), nullptr);
    EXPECT_EQ(find(f, "domain qmp")->level, Level::Pass);
    EXPECT_NE(find(f, "domain qmp")->detail.find("/run/porthole/a,b.qmp"), std::string::npos);
}

TEST(DomainCheck, QmpSocketInAMissingDirectoryIsNamed) {
    CheckedMachine m;
    fs::remove_all(m.copy.dir() / "root/run/porthole");
    auto f = m.check(m.generated());
    EXPECT_EQ(find(f, "domain qmp")->level, Level::Warn);
    EXPECT_NE(find(f, "domain qmp")->fix.find("tmpfiles.d"), std::string::npos);
}

TEST(DomainCheck, HostdevOfADeviceThisHostDoesNotHaveFails) {
    CheckedMachine m;
    auto xml = edit(m.generated(), [](auto& d) {
        d.select_node("/domain/devices/hostdev/source/address")
            .node()
            .attribute("bus")
            .set_value("0x42");
    });
    auto f = m.check(xml);
    EXPECT_EQ(find(f, "domain gpu")->level, Level::Fail);
    EXPECT_NE(find(f, "domain gpu")->detail.find("0000:42:00.0"), std::string::npos);
}

TEST(DomainCheck, NotADomainIsOneFailingFinding) {
    CheckedMachine m;
    for (const char* bad : {"<domain><name>x", "<network/>", ""}) {
        auto f = m.check(bad);
        ASSERT_EQ(f.size(), 1u) << bad;
        EXPECT_EQ(f[0].check, "domain");
        EXPECT_EQ(f[0].level, Level::Fail);
    }
}

TEST(DomainCheck, DoctorXmlUsesTheResolutionVmDefineRecorded) {
    CheckedMachine m;
    // Recorded 2560x1440 (64 MiB needed), but the region was shrunk to 32 MiB.
    VmOptions o;
    o.name = "win11";
    o.gpu = "01:00.0";
    o.memory = "8G";
    o.vcpus = 4;
    o.virt_type = "kvm";
    o.width = 2560;
    o.height = 1440;
    auto def = build_domain(m.sys, m.ids, o);
    ASSERT_TRUE(def);
    auto xml = edit(def->xml, [](auto& d) {
        d.select_node("/domain/devices/shmem/size").node().text().set("32");
    });
    m.copy.write("domain.xml", xml);
    auto args = m.copy.root_args();
    args.insert(args.end(),
                {"--json", "doctor", "--no-rom", "--xml", (m.copy.dir() / "domain.xml").string()});
    std::ostringstream out, err;
    run_cli(args, out, err);
    auto j = nlohmann::json::parse(out.str());
    bool seen = false;
    for (const auto& f : j["findings"]) {
        if (f["check"] != "domain shmem") continue;
        seen = true;
        EXPECT_EQ(f["level"], "fail");
        EXPECT_NE(f["detail"].get<std::string>().find("2560x1440"), std::string::npos);
    }
    EXPECT_TRUE(seen);

    // Told otherwise on the command line: 1920x1080 fits in 32 MiB.
    args.insert(args.end(), {"--width", "1920", "--height", "1080"});
    std::ostringstream out2, err2;
    run_cli(args, out2, err2);
    const auto j2 = nlohmann::json::parse(out2.str());
    for (const auto& f : j2["findings"]) {
        if (f["check"] == "domain shmem") {
            EXPECT_EQ(f["level"], "pass");
        }
    }
}

TEST(DomainCheck, DoctorWithoutADomainRunsNoDomainChecks) {
    CheckedMachine m;
    auto f = run_doctor(m.sys, m.ids, {});
    EXPECT_FALSE(std::any_of(f.begin(), f.end(),
                             [](const Finding& x) { return x.check.starts_with("domain"); }));
    EXPECT_NE(find(f, "qemu"), nullptr);  // the host prerequisites always run
}

TEST(DomainCheck, ATpmInTheDomainMakesAMissingSwtpmAFailure) {
    CheckedMachine m;
    DoctorOptions o;
    auto without = run_doctor(m.sys, m.ids, o);
    EXPECT_EQ(find(without, "swtpm")->level, Level::Warn);
    o.domain_xml = m.generated();  // win11: a TPM
    auto with = run_doctor(m.sys, m.ids, o);
    EXPECT_EQ(find(with, "swtpm")->level, Level::Fail);
    EXPECT_EQ(find(with, "libvirt-default-network")->level, Level::Fail);  // uses 'default'
}

}  // namespace
}  // namespace porthole::vfio
