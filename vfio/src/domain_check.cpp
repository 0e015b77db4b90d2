#include "porthole/vfio/domain_check.hpp"

#include <algorithm>
#include <bit>
#include <map>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <pugixml.hpp>

#include "porthole/vfio/host_prereqs.hpp"
#include "porthole/vfio/hugepages.hpp"
#include "porthole/vfio/libvirt.hpp"
#include "porthole/vfio/topology.hpp"
#include "porthole/vfio/vm.hpp"
#include "xml_util.hpp"

namespace porthole::vfio {

namespace {

constexpr uint64_t kMiB = 1024ull * 1024;

// libvirt's units (memory, shmem size) to bytes; KiB when none is given.
uint64_t to_bytes(uint64_t value, std::string unit, const char* default_unit = "KiB") {
    if (unit.empty()) unit = default_unit;
    static const std::map<std::string, uint64_t> units{{"b", 1},
                                                       {"bytes", 1},
                                                       {"KB", 1000},
                                                       {"k", 1024},
                                                       {"KiB", 1024},
                                                       {"MB", 1000000},
                                                       {"M", kMiB},
                                                       {"MiB", kMiB},
                                                       {"GB", 1000000000},
                                                       {"G", 1024 * kMiB},
                                                       {"GiB", 1024 * kMiB},
                                                       {"TB", 1000000000000},
                                                       {"T", 1024ull * 1024 * kMiB},
                                                       {"TiB", 1024ull * 1024 * kMiB}};
    auto it = units.find(unit);
    if (it == units.end()) return 0;
    return value * it->second;
}

std::string page_label(uint64_t kib) {
    return kib % (1024 * 1024) == 0 ? fmt::format("{}G", kib / (1024 * 1024))
                                    : fmt::format("{}M", kib / 1024);
}

std::string snippet_xml(const SnippetOptions& options, const std::string& name) {
    auto all = libvirt_snippets(options);
    if (!all) return {};
    for (const auto& s : *all) {
        if (s.name == name) return s.xml;
    }
    return {};
}

std::string bdf_of(pugi::xml_node address) {
    auto hex = [&](const char* attr) {
        try {
            return static_cast<unsigned>(
                std::stoul(address.attribute(attr).as_string("0"), nullptr, 0));
        } catch (const std::exception&) {
            return 0xffffu;
        }
    };
    return fmt::format("{:04x}:{:02x}:{:02x}.{:x}", hex("domain"), hex("bus"), hex("slot"),
                       hex("function"));
}

std::string hostdev_xml(const std::string& bdf) {
    return fmt::format(
        "<hostdev mode='subsystem' type='pci' managed='yes'>\n"
        "  <source><address domain='0x{}' bus='0x{}' slot='0x{}' function='0x{}'/></source>\n"
        "</hostdev>\n",
        bdf.substr(0, 4), bdf.substr(5, 2), bdf.substr(8, 2), bdf.substr(11, 1));
}

// The display devices meant for a guest: on vfio-pci, else those that are not the boot GPU.
std::vector<PciDevice> candidate_gpus(const std::vector<PciDevice>& devices) {
    std::vector<PciDevice> on_vfio, others;
    for (const auto& d : devices) {
        if (!d.is_display()) continue;
        (d.driver == kVfioDriver ? on_vfio : others).push_back(d);
    }
    if (!on_vfio.empty()) return on_vfio;
    others.erase(
        std::remove_if(others.begin(), others.end(), [](const PciDevice& d) { return d.boot_vga; }),
        others.end());
    return others;
}

// The path of `-qmp unix:PATH,...` in <qemu:commandline>, if any.
std::optional<std::string> qmp_socket(pugi::xml_node domain) {
    const std::string q = xml::prefix_for(domain, kQemuNamespace);
    auto cmd = domain.child((q + "commandline").c_str());
    bool next = false;
    const std::string arg_name = q + "arg";  // the range keeps the pointer: must outlive it
    for (auto arg : cmd.children(arg_name.c_str())) {
        const std::string v = arg.attribute("value").as_string();
        if (next) {
            if (!v.starts_with("unix:")) return std::nullopt;
            std::string path;
            for (size_t i = 5; i < v.size(); ++i) {
                if (v[i] == ',') {
                    if (i + 1 < v.size() && v[i + 1] == ',') {
                        path += ',';
                        ++i;
                        continue;
                    }
                    break;
                }
                path += v[i];
            }
            return path;
        }
        next = v == "-qmp";
    }
    return std::nullopt;
}

class DomainChecker {
  public:
    DomainChecker(const System& sys, const PciIds& ids, pugi::xml_node domain,
                  const DomainCheckOptions& options, std::vector<Finding>& out)
        : sys_(sys), ids_(ids), d_(domain), o_(options), out_(out) {}

    void run() {
        acceleration();
        machine();
        firmware();
        gpu();
        memory();
        cputune();
        hyperv();
        kvm_hidden();
        ioapic();
        shmem();
        qmp();
        install_mode();
    }

  private:
    void add(const std::string& piece, Level level, std::string detail, std::string fix = {}) {
        out_.push_back({"domain " + piece, level, std::move(detail), std::move(fix)});
    }

    void acceleration() {
        const std::string type = d_.attribute("type").as_string();
        if (type == "kvm") {
            add("acceleration", Level::Pass, "type='kvm': hardware virtualisation");
        } else {
            add("acceleration", Level::Warn,
                fmt::format("type='{}': the guest is emulated (TCG), too slow for a passed GPU",
                            type),
                "<domain type='kvm'> once /dev/kvm works on this host");
        }
    }

    void machine() {
        const std::string m = d_.child("os").child("type").attribute("machine").as_string();
        if (m.find("q35") != std::string::npos) {
            add("machine", Level::Pass, "machine " + m + " (PCIe, as a passed GPU expects)");
        } else {
            add("machine", Level::Fail,
                fmt::format("machine '{}' is not q35: a GPU's driver expects a PCIe slot, which "
                            "i440fx does not have",
                            m.empty() ? "(default)" : m),
                "in <os>: <type arch='x86_64' machine='q35'>hvm</type> (Windows re-detects its "
                "hardware once)");
        }
    }

    void firmware() {
        auto os = d_.child("os");
        const std::string fw = os.attribute("firmware").as_string();
        auto loader = os.child("loader");
        if (fw == "efi") {
            add("firmware", Level::Pass, "UEFI chosen by libvirt (<os firmware='efi'>)");
        } else if (loader) {
            const std::string path = trim(loader.text().as_string());
            if (!path.empty() && !sys_.exists(path)) {
                add("firmware", Level::Fail, "the UEFI loader " + path + " does not exist",
                    "install OVMF (`porthole-vfio doctor` names the package) or fix the path in "
                    "<loader>");
            } else {
                add("firmware", Level::Pass, "UEFI firmware " + path);
            }
        } else if (os.child("kernel")) {
            add("firmware", Level::Warn,
                "direct kernel boot without UEFI: a passed GPU's UEFI driver never runs",
                "boot through OVMF for a GPU guest (`porthole-vfio vm define`)");
        } else {
            auto f = choose_ovmf(sys_, false);
            std::string xml = f ? fmt::format(
                                      "<loader readonly='yes' type='pflash'>{}</loader>\n<nvram "
                                      "template='{}'/>",
                                      f->code, f->vars)
                                : "<os firmware='efi'> (install OVMF first)";
            add("firmware", Level::Fail,
                "legacy BIOS (SeaBIOS): modern GPUs' option ROMs and Windows 11 need UEFI",
                "in <os>: " + xml + " (an installed Windows must be reinstalled for UEFI)");
        }
    }

    void gpu() {
        std::map<std::string, pugi::xml_node> passed;  // host BDF -> hostdev
        for (auto h : d_.child("devices").children("hostdev")) {
            if (std::string(h.attribute("type").as_string()) != "pci") continue;
            passed[bdf_of(h.child("source").child("address"))] = h;
        }
        auto devices = read_pci_devices(sys_, ids_);
        std::set<std::string> slots;
        for (const auto& [bdf, node] : passed) {
            auto dev = read_pci_device(sys_, bdf, ids_);
            if (!dev) {
                add("gpu", Level::Fail,
                    fmt::format("<hostdev> {} is not a PCI device of this host: the VM will not "
                                "start",
                                bdf),
                    "remove it or correct its address (`porthole-vfio groups` lists devices)");
                continue;
            }
            if (dev->is_display()) slots.insert(dev->slot());
        }
        if (slots.empty()) {
            std::string fix = "pass the GPU with every function of the card: ";
            auto gpus = candidate_gpus(devices);
            if (gpus.empty()) {
                fix += "`porthole-vfio vm define NAME --gpu BDF` prints a domain with them";
            } else {
                for (const auto& d : devices) {
                    if (d.slot() == gpus.front().slot()) fix += "\n" + hostdev_xml(d.bdf);
                }
            }
            add("gpu", Level::Warn,
                "no GPU is passed to the guest (no <hostdev> of a display "
                "device)",
                fix);
            return;
        }
        for (const auto& slot : slots) {
            std::vector<std::string> missing, all;
            std::set<std::string> guest_slots;
            for (const auto& d : devices) {
                if (d.slot() != slot) continue;
                all.push_back(d.bdf);
                auto it = passed.find(d.bdf);
                if (it == passed.end()) {
                    missing.push_back(d.bdf);
                    continue;
                }
                auto a = it->second.child("address");
                if (a) {
                    guest_slots.insert(fmt::format("{}:{}", a.attribute("bus").as_string(),
                                                   a.attribute("slot").as_string()));
                }
            }
            std::string check = "gpu " + slot;
            if (!missing.empty()) {
                std::string fix;
                for (const auto& b : missing)
                    fix += hostdev_xml(b);
                add(check, Level::Fail,
                    fmt::format("the card at {} has {} function(s) but {} not passed: they share "
                                "its IOMMU group, so the VM cannot start without them (and its "
                                "HDMI audio would be missing)",
                                slot, all.size(), fmt::join(missing, ", ")),
                    fix);
            } else if (guest_slots.size() > 1) {
                add(check, Level::Warn,
                    fmt::format(
                        "the card's {} functions sit on different guest slots: some drivers "
                        "(NVIDIA's HDMI audio) expect them together as one multifunction "
                        "device",
                        all.size()),
                    "give them one guest <address bus= slot=> with function='0x0' "
                    "multifunction='on' on the first (`porthole-vfio vm define` does)");
            } else {
                add(check, Level::Pass,
                    fmt::format("every function of the card is passed ({})", fmt::join(all, ", ")));
            }
        }
    }

    void memory() {
        auto mem = d_.child("memory");
        const uint64_t bytes = to_bytes(mem.text().as_ullong(), mem.attribute("unit").as_string());
        std::map<uint64_t, uint64_t> pools;  // page KiB -> reserved
        for (const auto& dir : sys_.list("/sys/kernel/mm/hugepages")) {
            if (!dir.starts_with("hugepages-") || !dir.ends_with("kB")) continue;
            try {
                uint64_t kib = std::stoull(dir.substr(10, dir.size() - 12));
                pools[kib] = std::stoull(
                    sys_.read_trimmed("/sys/kernel/mm/hugepages/" + dir + "/nr_hugepages")
                        .value_or("0"));
            } catch (const std::exception&) {
            }
        }
        auto huge = d_.child("memoryBacking").child("hugepages");
        if (!huge) {
            for (auto it = pools.rbegin(); it != pools.rend(); ++it) {
                if (it->second * it->first * 1024 >= bytes && bytes > 0) {
                    SnippetOptions so;
                    so.page_size = page_label(it->first);
                    add("memory", Level::Warn,
                        fmt::format("{} pages of {} are reserved, enough for the guest, but the "
                                    "domain does not use them",
                                    it->second, page_label(it->first)),
                        snippet_xml(so, "memoryBacking"));
                    return;
                }
            }
            add("memory", Level::Pass,
                "ordinary pages, and no huge page pool is reserved for the guest");
            return;
        }
        auto page = huge.child("page");
        uint64_t page_kib = 2048;
        if (page) {
            page_kib = to_bytes(page.attribute("size").as_ullong(),
                                page.attribute("unit").as_string(), "KiB") /
                       1024;
        }
        const uint64_t need = page_kib ? (bytes + page_kib * 1024 - 1) / (page_kib * 1024) : 0;
        const uint64_t have = pools.count(page_kib) ? pools[page_kib] : 0;
        if (!pools.count(page_kib)) {
            add("memory", Level::Fail,
                fmt::format("the domain asks for {} pages, a size this host has no pool of",
                            page_label(page_kib)),
                "<page size='2048' unit='KiB'/> (or 1048576 where the CPU has pdpe1gb)");
        } else if (have < need) {
            add("memory", Level::Fail,
                fmt::format("the domain needs {} pages of {}; {} are reserved: it will not start",
                            need, page_label(page_kib), have),
                fmt::format("`porthole-vfio hugepages reserve {}M --page {}` before it starts (or "
                            "the libvirt hook `libvirt hooks --hugepages`)",
                            (need - have) * page_kib / 1024, page_label(page_kib)));
        } else {
            add("memory", Level::Pass,
                fmt::format("guest RAM in {} pages: {} needed, {} reserved", page_label(page_kib),
                            need, have));
        }
    }

    void cputune() {
        const int vcpus = d_.child("vcpu").text().as_int(1);
        auto tune = d_.child("cputune");
        std::set<int> pinned;
        for (auto p : tune.children("vcpupin"))
            pinned.insert(p.attribute("vcpu").as_int(-1));
        int missing = 0;
        for (int i = 0; i < vcpus; ++i)
            missing += pinned.count(i) == 0;
        if (missing == 0 && tune.child("emulatorpin")) {
            add("cputune", Level::Pass,
                fmt::format("{} vCPUs pinned, the emulator kept on other CPUs", vcpus));
            return;
        }
        std::string fix = fmt::format("`porthole-vfio pin --vcpus {}` prints it", vcpus);
        if (auto topo = read_topology(sys_)) {
            if (auto plan = plan_pinning(*topo, {vcpus, 1, 1})) fix = pin_plan_xml(*plan);
        }
        add("cputune", Level::Warn,
            missing ? fmt::format("{} of {} vCPUs are not pinned: they wander across the host's "
                                  "CPUs (stutter, cache misses)",
                                  missing, vcpus)
                    : "no <emulatorpin>: QEMU's own threads compete with the vCPUs",
            fix);
    }

    void hyperv() {
        auto hv = d_.child("features").child("hyperv");
        auto vendor = hv.child("vendor_id");
        const std::string snippet = snippet_xml({}, "features");
        if (!hv) {
            add("hyperv", Level::Warn,
                "no Hyper-V enlightenments: Windows spends more time in timers and interrupts",
                snippet);
        } else if (!vendor || std::string(vendor.attribute("state").as_string()) != "on" ||
                   std::string(vendor.attribute("value").as_string()).empty()) {
            add("hyperv", Level::Warn,
                "no Hyper-V vendor_id: NVIDIA drivers before 465 refuse a VM they recognise "
                "(error 43)",
                "in <features><hyperv>: <vendor_id state='on' value='porthole00'/>");
        } else {
            add("hyperv", Level::Pass,
                fmt::format("Hyper-V enlightenments with vendor_id '{}'",
                            vendor.attribute("value").as_string()));
        }
    }

    void kvm_hidden() {
        auto hidden = d_.child("features").child("kvm").child("hidden");
        if (std::string(hidden.attribute("state").as_string()) == "on") {
            add("kvm-hidden", Level::Pass, "the KVM signature is hidden from the guest");
        } else {
            add("kvm-hidden", Level::Warn,
                "the guest sees KVM: older NVIDIA drivers stop with error 43",
                "in <features>: <kvm><hidden state='on'/></kvm>");
        }
    }

    void ioapic() {
        if (std::string(d_.child("features").child("ioapic").attribute("driver").as_string()) ==
            "kvm") {
            add("ioapic", Level::Pass, "in-kernel IOAPIC");
        } else {
            add("ioapic", Level::Warn, "QEMU's IOAPIC: interrupts take a longer path",
                "in <features>: <ioapic driver='kvm'/>");
        }
    }

    void shmem() {
        const uint64_t need = region_size_bytes(o_.width, o_.height);
        SnippetOptions so;
        so.width = o_.width;
        so.height = o_.height;
        auto meta = xml::porthole_metadata(d_);
        std::string wanted = meta ? meta.child((xml::prefix_of(meta) + "region").c_str())
                                        .attribute("name")
                                        .as_string()
                                  : "";
        pugi::xml_node found;
        for (auto s : d_.child("devices").children("shmem")) {
            const std::string name = s.attribute("name").as_string();
            if ((!wanted.empty() && name == wanted) || (wanted.empty() && name == "porthole") ||
                !found) {
                found = s;
            }
        }
        if (!found) {
            add("shmem", Level::Fail,
                "no <shmem> region: the client has nothing to show (no Porthole region)",
                snippet_xml(so, "shmem"));
            return;
        }
        const std::string name = found.attribute("name").as_string();
        const std::string model = found.child("model").attribute("type").as_string("ivshmem-plain");
        auto size = found.child("size");
        // libvirt's default for ivshmem-plain is 4 MiB.
        const uint64_t bytes =
            size ? to_bytes(size.text().as_ullong(), size.attribute("unit").as_string(), "b")
                 : 4 * kMiB;
        if (model == "ivshmem-doorbell") {
            doorbell(found, name, need);
        } else if (model != "ivshmem-plain") {
            add("shmem", Level::Fail,
                fmt::format("<shmem name='{}'> uses model '{}': Porthole maps a plain region (or "
                            "a doorbell one served by porthole-ivshmem-server)",
                            name, model),
                "<model type='ivshmem-plain'/>");
        } else if (bytes < need || !std::has_single_bit(bytes)) {
            add("shmem", Level::Fail,
                fmt::format(
                    "<shmem name='{}'> is {} MiB; {}x{} frames need {} MiB (a power of two)", name,
                    bytes / kMiB, o_.width, o_.height, need / kMiB),
                fmt::format("<size unit='M'>{}</size>", need / kMiB));
        } else {
            add("shmem", Level::Pass,
                fmt::format("/dev/shm/{} of {} MiB holds {}x{} frames (needs {} MiB)", name,
                            bytes / kMiB, o_.width, o_.height, need / kMiB));
        }
    }

    // ivshmem-doorbell: QEMU gets the region and the doorbell from an ivshmem server,
    // so the domain names the server's socket and the server decides the size.
    void doorbell(pugi::xml_node shmem, const std::string& name, uint64_t need) {
        const std::string path = shmem.child("server").attribute("path").as_string();
        if (path.empty()) {
            add("shmem", Level::Fail,
                fmt::format("<shmem name='{}'> is ivshmem-doorbell without a <server path>: its "
                            "region and doorbell come from an ivshmem server's socket, which the "
                            "domain does not name (libvirt refuses it without <server>, or "
                            "guesses a path no Porthole server listens on)",
                            name),
                fmt::format("inside <shmem>: <server path='{}'/> (porthole-ivshmem-server's "
                            "socket), or a plain region: <model type='ivshmem-plain'/> <size "
                            "unit='M'>{}</size>",
                            kDefaultDoorbellSocket, need / kMiB));
            return;
        }
        add("shmem", Level::Pass,
            fmt::format("<shmem name='{}'> is ivshmem-doorbell on {}: porthole-ivshmem-server "
                        "must serve that socket before the VM starts, with a region of at least "
                        "{} MiB for {}x{} frames (`porthole-ivshmem-server --socket {} --size {}`)",
                        name, path, need / kMiB, o_.width, o_.height, path, need / kMiB));
    }

    void qmp() {
        auto path = qmp_socket(d_);
        const std::string name = d_.child("name").text().as_string();
        if (!path) {
            add("qmp", Level::Warn,
                "no QMP socket for Porthole: `porthole --input-to qmp` has nothing to talk to (the "
                "agent's input path still works)",
                fmt::format("<domain xmlns:qemu='{}'> and, inside it:\n<qemu:commandline>\n  "
                            "<qemu:arg value='-qmp'/>\n  <qemu:arg "
                            "value='unix:/run/porthole/{}.qmp,server=on,wait=off'/>\n"
                            "</qemu:commandline>\n",
                            kQemuNamespace, name));
            return;
        }
        const std::string dir = fs::path(*path).parent_path().string();
        if (!sys_.exists(dir)) {
            add("qmp", Level::Warn,
                fmt::format("the QMP socket {} is in {}, which does not exist: QEMU cannot create "
                            "the socket and the VM fails to start",
                            *path, dir),
                fmt::format("create it writable by the QEMU user, at every boot (/run is a tmpfs): "
                            "a tmpfiles.d line `d {} 0750 libvirt-qemu kvm -`",
                            dir));
        } else {
            add("qmp", Level::Pass,
                fmt::format("QMP socket {}: `porthole --input-to qmp --qmp unix:{}`", *path,
                            *path));
        }
    }

    void install_mode() {
        std::vector<std::string> pieces;
        auto devices = d_.child("devices");
        for (auto g : devices.children("graphics")) {
            if (std::string(g.attribute("type").as_string()) == "spice") pieces.push_back("SPICE");
        }
        for (auto v : devices.children("video")) {
            if (std::string(v.child("model").attribute("type").as_string()) == "qxl")
                pieces.push_back("QXL");
        }
        for (auto disk : devices.children("disk")) {
            if (std::string(disk.attribute("device").as_string()) == "cdrom" &&
                disk.child("source")) {
                pieces.push_back(
                    fmt::format("cdrom {}", disk.child("source").attribute("file").as_string()));
            }
        }
        if (pieces.empty()) {
            add("install-mode", Level::Pass, "no installer pieces (SPICE, QXL, cdroms)");
        } else {
            add("install-mode", Level::Warn,
                fmt::format("still in install mode ({}): the emulated display competes with the "
                            "GPU",
                            fmt::join(pieces, ", ")),
                fmt::format("`porthole-vfio vm finish-install {}` once Windows, the GPU driver and "
                            "porthole-agent are installed",
                            d_.child("name").text().as_string()));
        }
    }

    const System& sys_;
    const PciIds& ids_;
    pugi::xml_node d_;
    const DomainCheckOptions& o_;
    std::vector<Finding>& out_;
};

}  // namespace

std::vector<Finding> check_domain(const System& sys, const PciIds& ids, std::string_view domain_xml,
                                  const DomainCheckOptions& options) {
    std::vector<Finding> out;
    pugi::xml_document doc;
    if (auto s = xml::parse(doc, domain_xml); !s) {
        out.push_back({"domain", Level::Fail, s.error().message,
                       "give the XML of a libvirt domain (`virsh dumpxml NAME`)"});
        return out;
    }
    auto domain = doc.child("domain");
    if (!domain) {
        out.push_back({"domain", Level::Fail, "the root element is not <domain>",
                       "give the XML of a libvirt domain (`virsh dumpxml NAME`)"});
        return out;
    }
    DomainChecker(sys, ids, domain, options, out).run();
    return out;
}

DomainNeeds domain_needs(std::string_view domain_xml) {
    DomainNeeds n;
    pugi::xml_document doc;
    if (!xml::parse(doc, domain_xml)) return n;
    auto devices = doc.child("domain").child("devices");
    for (auto t : devices.children("tpm")) {
        if (std::string(t.child("backend").attribute("type").as_string()) == "emulator")
            n.tpm = true;
    }
    for (auto i : devices.children("interface")) {
        if (std::string(i.attribute("type").as_string()) == "network" &&
            std::string(i.child("source").attribute("network").as_string()) == "default") {
            n.default_network = true;
        }
    }
    return n;
}

void append_vm_checks(const System& sys, const PciIds& ids, const DoctorOptions& options,
                      std::vector<Finding>& out) {
    PrereqOptions prereq;
    if (!options.domain_xml.empty()) {
        auto needs = domain_needs(options.domain_xml);
        prereq.tpm = needs.tpm;
        prereq.default_network = needs.default_network;
    }
    auto host = check_host_prerequisites(sys, prereq);
    out.insert(out.end(), host.begin(), host.end());
    if (!options.domain_xml.empty()) {
        auto domain = check_domain(sys, ids, options.domain_xml, {options.width, options.height});
        out.insert(out.end(), domain.begin(), domain.end());
    }
}

}  // namespace porthole::vfio
