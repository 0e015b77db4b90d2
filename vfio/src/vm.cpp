#include "porthole/vfio/vm.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <pugixml.hpp>

#include "porthole/vfio/host_prereqs.hpp"
#include "porthole/vfio/hugepages.hpp"
#include "porthole/vfio/libvirt.hpp"
#include "porthole/vfio/rom.hpp"
#include "porthole/vfio/topology.hpp"
#include "xml_util.hpp"

namespace porthole::vfio {

namespace {

constexpr uint64_t kMiB = 1024ull * 1024;
constexpr uint64_t kGiB = 1024ull * kMiB;
// The pcie-root-port the GPU's functions sit behind, together, as on the host.
constexpr int kGpuRootPort = 1;

// Well-formed UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool is_valid_utf8(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        size_t extra = 0;
        unsigned char lo = 0x80, hi = 0xbf;  // bounds of the first continuation byte
        if (c < 0x80) {
            extra = 0;
        } else if (c >= 0xc2 && c <= 0xdf) {
            extra = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            extra = 2;
            if (c == 0xe0) lo = 0xa0;
            if (c == 0xed) hi = 0x9f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            extra = 3;
            if (c == 0xf0) lo = 0x90;
            if (c == 0xf4) hi = 0x8f;
        } else {
            return false;
        }
        if (extra > s.size() - i - 1) return false;
        for (size_t k = 1; k <= extra; ++k) {
            const auto b = static_cast<unsigned char>(s[i + k]);
            if (k == 1 ? (b < lo || b > hi) : (b & 0xc0) != 0x80) return false;
        }
        i += extra + 1;
    }
    return true;
}

bool has_control(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7f;
    });
}

// Names made into files and sockets (the region, the QMP socket).
Status validate_file_name(std::string_view what, std::string_view name) {
    if (name.empty() || name.size() > 64) {
        return Error::make(
            fmt::format("{} must be 1 to 64 bytes long ({} given)", what, name.size()));
    }
    if (!is_valid_utf8(name)) return Error::make(fmt::format("{} is not valid UTF-8", what));
    if (has_control(name)) {
        return Error::make(
            fmt::format("{} contains a control character (newline, tab, ...)", what));
    }
    if (name.find('/') != std::string_view::npos) {
        return Error::make(fmt::format("{} '{}' contains '/'", what, name));
    }
    if (name == "." || name == "..")
        return Error::make(fmt::format("{} cannot be '{}'", what, name));
    return {};
}

// Linux's rule for network interface names (dev_valid_name).
Status validate_ifname(std::string_view name) {
    if (name.empty() || name.size() > 15 || name == "." || name == ".." ||
        std::any_of(name.begin(), name.end(), [](char c) {
            return c == '/' || c == ':' || c == ' ' || c == '\t' || c == '\n' ||
                   static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e;
        })) {
        return Error::make(
            fmt::format("'{}' is not a network interface name (1 to 15 characters, "
                        "no '/', ':' or spaces)",
                        name));
    }
    return {};
}

// A host path for the domain: absolute, free of control characters, existing when asked.
Result<std::string> host_path(std::string_view what, const std::string& path, bool must_exist) {
    if (has_control(path) || !is_valid_utf8(path)) {
        return Error::make(
            fmt::format("{} path contains a control character or invalid UTF-8", what));
    }
    std::error_code ec;
    fs::path p = fs::absolute(path, ec);
    if (ec) return Error::make(fmt::format("{} path '{}': {}", what, path, ec.message()));
    p = p.lexically_normal();
    if (must_exist && !fs::exists(p, ec)) {
        return Error::make(fmt::format("{} '{}' does not exist", what, p.string()));
    }
    return p.string();
}

std::string page_label(uint64_t kib) {
    return kib % (1024 * 1024) == 0 ? fmt::format("{}G", kib / (1024 * 1024))
                                    : fmt::format("{}M", kib / 1024);
}

// Reserved pages per page size (KiB) under /sys/kernel/mm/hugepages.
std::map<uint64_t, uint64_t> hugepage_pools(const System& sys) {
    std::map<uint64_t, uint64_t> pools;
    for (const auto& dir : sys.list("/sys/kernel/mm/hugepages")) {
        if (!dir.starts_with("hugepages-") || !dir.ends_with("kB")) continue;
        try {
            uint64_t kib = std::stoull(dir.substr(10, dir.size() - 12));
            auto n = sys.read_trimmed("/sys/kernel/mm/hugepages/" + dir + "/nr_hugepages");
            pools[kib] = n ? std::stoull(*n) : 0;
        } catch (const std::exception&) {
        }
    }
    return pools;
}

struct PageChoice {
    std::optional<uint64_t> kib;  // none: ordinary pages
    std::vector<std::string> notes;
};

Result<PageChoice> choose_pages(const System& sys, const VmOptions& o, uint64_t memory) {
    PageChoice c;
    auto pools = hugepage_pools(sys);
    if (o.page == "none") return c;
    if (!o.page.empty()) {
        auto kib = parse_page_size(o.page);
        if (!kib) return kib.error();
        if (memory % (*kib * 1024) != 0) {
            return Error::make(fmt::format("--memory {} is not a whole number of {} pages",
                                           o.memory, page_label(*kib)));
        }
        c.kib = *kib;
        uint64_t need = memory / (*kib * 1024);
        uint64_t have = pools.count(*kib) ? pools[*kib] : 0;
        if (have < need) {
            c.notes.push_back(fmt::format(
                "{} pages of {} are reserved now, the VM needs {}: reserve them before it starts "
                "(`porthole-vfio hugepages reserve {} --page {}`, or the libvirt hook), or it "
                "fails to start",
                have, page_label(*kib), need, o.memory, page_label(*kib)));
        }
        return c;
    }
    // The largest page size whose pool holds the whole guest; else ordinary pages.
    for (auto it = pools.rbegin(); it != pools.rend(); ++it) {
        const auto [kib, have] = *it;
        if (have == 0 || memory % (kib * 1024) != 0) continue;
        if (have * kib * 1024 >= memory) {
            c.kib = kib;
            c.notes.push_back(
                fmt::format("guest RAM from the reserved pool of {} pages ({} of them)",
                            page_label(kib), have));
            return c;
        }
        c.notes.push_back(fmt::format(
            "{} pages of {} are reserved, less than the guest's {}: ordinary pages used; "
            "reserve enough and give --page {}",
            have, page_label(kib), o.memory, page_label(kib)));
    }
    if (c.notes.empty()) {
        c.notes.push_back(
            "no huge pages are reserved: guest RAM uses ordinary pages; for less latency reserve "
            "them (`porthole-vfio hugepages reserve " +
            o.memory + " --page 1G`) and give --page 1G");
    }
    return c;
}

// The GPU and every other function of its card, function 0 first.
Result<std::vector<PciDevice>> gpu_functions(const System& sys, const PciIds& ids,
                                             const std::string& gpu_text,
                                             std::vector<std::string>& notes) {
    auto bdf = normalize_bdf(gpu_text);
    if (!bdf) return bdf.error();
    auto gpu = read_pci_device(sys, *bdf, ids);
    if (!gpu) {
        return Error::make(
            fmt::format("no PCI device {} on this host (`porthole-vfio groups` lists "
                        "them), or give --gpu none",
                        *bdf));
    }
    if (!gpu->is_display()) {
        notes.push_back(fmt::format("{} is a {}, not a display controller: passed as asked",
                                    gpu->bdf, gpu->class_name()));
    }
    if (gpu->boot_vga) {
        notes.push_back(fmt::format(
            "{} is the boot GPU: the host loses its console while the VM runs", gpu->bdf));
    }
    std::vector<PciDevice> functions;
    std::vector<std::string> group_mates;
    for (auto& d : read_pci_devices(sys, ids)) {
        if (d.slot() == gpu->slot()) {
            functions.push_back(std::move(d));
        } else if (gpu->iommu_group && d.iommu_group == gpu->iommu_group && !d.is_bridge() &&
                   d.driver != kVfioDriver) {
            group_mates.push_back(fmt::format("{} ({}, driver {})", d.bdf, d.display_name(),
                                              d.driver.empty() ? "none" : d.driver));
        }
    }
    // libvirt detaches only the <hostdev>s; VFIO refuses a group with a device left
    // on a host driver.
    if (!group_mates.empty()) {
        std::string list;
        for (const auto& g : group_mates)
            list += (list.empty() ? "" : ", ") + g;
        notes.push_back(fmt::format(
            "IOMMU group {} also holds {}: the VM will not start while they stay on host "
            "drivers; `porthole-vfio groups` explains the choices",
            *gpu->iommu_group, list));
    }
    std::sort(functions.begin(), functions.end(),
              [](const PciDevice& a, const PciDevice& b) { return a.bdf < b.bdf; });
    if (functions.empty()) functions.push_back(*gpu);
    return functions;
}

unsigned function_of(const std::string& bdf) {
    return static_cast<unsigned>(std::stoul(bdf.substr(bdf.rfind('.') + 1), nullptr, 16));
}

void set_pci_address(pugi::xml_node node, const std::string& bdf) {
    // dddd:bb:ss.f
    node.append_attribute("domain") = ("0x" + bdf.substr(0, 4)).c_str();
    node.append_attribute("bus") = ("0x" + bdf.substr(5, 2)).c_str();
    node.append_attribute("slot") = ("0x" + bdf.substr(8, 2)).c_str();
    node.append_attribute("function") = ("0x" + bdf.substr(11, 1)).c_str();
}

std::string disk_format(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    char magic[4] = {};
    if (in.read(magic, 4) && std::string_view(magic, 4) == std::string_view("QFI\xfb", 4)) {
        return "qcow2";
    }
    return "raw";
}

std::string qemu_option_escape(std::string_view v) {
    std::string out;
    for (char c : v) {
        out += c;
        if (c == ',') out += ',';  // QEMU's option syntax doubles a literal comma
    }
    return out;
}

Status append_snippet(pugi::xml_node parent, const std::vector<Snippet>& snippets,
                      const std::string& name, std::initializer_list<const char*> only = {}) {
    for (const auto& s : snippets) {
        if (s.name != name) continue;
        return xml::append_fragment(parent, s.xml, only);
    }
    return Error::make("internal: no '" + name + "' snippet");
}

}  // namespace

Status validate_domain_name(std::string_view name) {
    return validate_file_name("the VM name", name);
}

Result<VmDefinition> build_domain(const System& sys, const PciIds& ids, const VmOptions& o) {
    VmDefinition def;
    auto& notes = def.notes;
    if (auto s = validate_domain_name(o.name); !s) return s.error();
    if (auto s = validate_file_name("--shm-name", o.shm_name); !s) return s.error();
    if (o.os != "win11" && o.os != "win10" && o.os != "linux") {
        return Error::make("--os must be win11, win10 or linux");
    }
    const bool windows = o.os != "linux";
    if (o.gpu.empty()) return Error::make("give --gpu BDF (the GPU for the guest) or --gpu none");

    // Acceleration: KVM when the host has it; TCG otherwise (tests, no VT-x).
    if (o.virt_type == "auto") {
        def.virt_type = sys.exists("/dev/kvm") ? "kvm" : "qemu";
        if (def.virt_type == "qemu") {
            notes.push_back(
                "no /dev/kvm on this host: the domain is emulated (TCG), far too slow "
                "for real use; enable VT-x/AMD-V and load kvm, then define it again");
        }
    } else if (o.virt_type == "kvm" || o.virt_type == "qemu") {
        def.virt_type = o.virt_type;
    } else {
        return Error::make("--virt-type must be auto, kvm or qemu");
    }
    const bool tcg = def.virt_type == "qemu";

    auto memory = parse_size(o.memory);
    if (!memory) return memory.error();
    if (*memory < 128 * kMiB || *memory > 16384 * kGiB || *memory % kMiB != 0) {
        return Error::make(fmt::format(
            "--memory {} must be a whole number of MiB between 128M and 16384G", o.memory));
    }
    if (o.os == "win11" && *memory < 4 * kGiB) {
        notes.push_back("Windows 11's installer refuses less than 4 GiB of RAM");
    }
    auto pages = choose_pages(sys, o, *memory);
    if (!pages) return pages.error();
    notes.insert(notes.end(), pages->notes.begin(), pages->notes.end());

    if (o.vcpus < 1 || o.vcpus > 512) return Error::make("--vcpus must be between 1 and 512");
    if (o.iothreads < 0 || o.iothreads > 16) return Error::make("--iothreads must be 0 to 16");

    SnippetOptions so;
    so.width = o.width;
    so.height = o.height;
    so.page_size = pages->kib ? page_label(*pages->kib) : "2M";
    so.vendor_id = o.vendor_id;
    so.vcpus = o.vcpus;
    so.iothreads = std::max(o.iothreads, 1);
    so.doorbell_socket = o.doorbell;
    auto snippets = libvirt_snippets(so);
    if (!snippets) return snippets.error();
    def.region_bytes = region_size_bytes(o.width, o.height);
    def.region_path = "/dev/shm/" + o.shm_name;

    // QMP socket: what `porthole --input-to qmp --qmp unix:PATH` connects to.
    def.qmp_path = o.qmp.empty() ? "/run/porthole/" + o.name + ".qmp" : o.qmp;
    if (def.qmp_path.front() != '/' || has_control(def.qmp_path) || !is_valid_utf8(def.qmp_path)) {
        return Error::make("--qmp must be an absolute socket path without control characters");
    }
    if (def.qmp_path.size() > 107) {
        return Error::make(
            fmt::format("the QMP socket path {} is longer than a UNIX socket allows "
                        "(107 bytes): give a shorter --qmp",
                        def.qmp_path));
    }

    const bool kernel_boot = !o.kernel.empty();
    const bool tpm = o.tpm.value_or(o.os == "win11" && !kernel_boot);
    const bool secure_boot = o.secure_boot.value_or(o.os == "win11" && !kernel_boot);
    if (kernel_boot && secure_boot) {
        return Error::make(
            "--kernel boots without firmware: it cannot be combined with "
            "--secure-boot");
    }
    if (o.os == "win11" && !kernel_boot && (!tpm || !secure_boot)) {
        notes.push_back(
            "Windows 11's installer checks for a TPM 2.0 and Secure Boot; without "
            "them it refuses to install unless told to bypass the check");
    }

    pugi::xml_document doc;
    pugi::xml_node domain = doc.append_child("domain");
    domain.append_attribute("type") = def.virt_type.c_str();
    domain.append_attribute("xmlns:qemu") = kQemuNamespace;
    domain.append_child("name").text().set(o.name.c_str());

    pugi::xml_node meta = domain.append_child("metadata").append_child("porthole:vm");
    meta.append_attribute("xmlns:porthole") = kVmMetadataNamespace;
    pugi::xml_node meta_region = meta.append_child("porthole:region");
    meta_region.append_attribute("name") = o.shm_name.c_str();
    meta_region.append_attribute("width") = o.width;
    meta_region.append_attribute("height") = o.height;
    meta.append_child("porthole:qmp").append_attribute("path") = def.qmp_path.c_str();

    const uint64_t kib = *memory / 1024;
    auto mem = domain.append_child("memory");
    mem.append_attribute("unit") = "KiB";
    mem.text().set(static_cast<unsigned long long>(kib));
    auto cur = domain.append_child("currentMemory");
    cur.append_attribute("unit") = "KiB";
    cur.text().set(static_cast<unsigned long long>(kib));
    if (pages->kib) {
        if (auto s = append_snippet(domain, *snippets, "memoryBacking"); !s) return s.error();
    }

    // vCPUs, iothreads, pinning and topology: the pin plan's XML, as `pin` prints it.
    std::string cpu_xml;
    if (o.pin) {
        auto topo = read_topology(sys);
        if (!topo) return topo.error();
        auto plan = plan_pinning(*topo, {o.vcpus, o.host_cores, o.iothreads});
        if (!plan) {
            return Error::make(plan.error().message +
                               " (or give --no-pin to leave vCPUs unpinned)");
        }
        notes.insert(notes.end(), plan->notes.begin(), plan->notes.end());
        cpu_xml = pin_plan_xml(*plan);
    } else {
        cpu_xml = fmt::format(
            "<vcpu placement='static'>{}</vcpu>\n<iothreads>{}</iothreads>\n"
            "<cpu mode='host-passthrough' check='none' migratable='off'>\n"
            "  <topology sockets='1' dies='1' cores='{}' threads='1'/>\n</cpu>\n",
            o.vcpus, std::max(o.iothreads, 1), o.vcpus);
    }
    if (auto s = xml::append_fragment(domain, cpu_xml); !s) return s.error();
    if (tcg) {
        // TCG has no host CPU to pass through: QEMU's "max" model with the same topology.
        auto cpu = domain.child("cpu");
        cpu.attribute("mode").set_value("maximum");
        cpu.remove_child("cache");
    }

    pugi::xml_node os = domain.append_child("os");
    auto type = xml::append_element(os, "type", {{"arch", "x86_64"}, {"machine", "q35"}});
    type.text().set("hvm");
    if (kernel_boot) {
        auto kernel = host_path("--kernel", o.kernel, true);
        if (!kernel) return kernel.error();
        os.append_child("kernel").text().set(kernel->c_str());
        if (!o.initrd.empty()) {
            auto initrd = host_path("--initrd", o.initrd, true);
            if (!initrd) return initrd.error();
            os.append_child("initrd").text().set(initrd->c_str());
        }
        if (!o.cmdline.empty()) os.append_child("cmdline").text().set(o.cmdline.c_str());
    } else {
        auto fw = choose_ovmf(sys, secure_boot);
        if (!fw) return fw.error();
        auto loader = os.append_child("loader");
        loader.append_attribute("readonly") = "yes";
        loader.append_attribute("secure") = secure_boot ? "yes" : "no";
        loader.append_attribute("type") = "pflash";
        loader.text().set(fw->code.c_str());
        os.append_child("nvram").append_attribute("template") = fw->vars.c_str();
        if (secure_boot && !fw->enrolled_keys) {
            notes.push_back("the Secure Boot firmware found (" + fw->code +
                            ") has no keys enrolled: Secure Boot stays off until keys are "
                            "enrolled in the firmware setup");
        }
    }

    if (auto s = append_snippet(domain, *snippets, "features"); !s) return s.error();
    auto features = domain.child("features");
    if (secure_boot) features.append_child("smm").append_attribute("state") = "on";
    if (tcg) {
        // Without KVM, QEMU refuses VP_INDEX and what builds on it.
        auto hyperv = features.child("hyperv");
        for (const char* f : {"vpindex", "synic", "stimer", "ipi"})
            hyperv.remove_child(f);
        notes.push_back(
            "TCG: the Hyper-V features vpindex, synic, stimer and ipi are left out "
            "(QEMU offers them only with KVM)");
    }
    if (!windows) domain.child("clock").attribute("offset").set_value("utc");

    domain.append_child("on_poweroff").text().set("destroy");
    domain.append_child("on_reboot").text().set("restart");
    domain.append_child("on_crash").text().set("destroy");
    auto pm = domain.append_child("pm");
    pm.append_child("suspend-to-mem").append_attribute("enabled") = "no";
    pm.append_child("suspend-to-disk").append_attribute("enabled") = "no";

    pugi::xml_node devices = domain.append_child("devices");

    // The GPU: every function of the card on one guest slot, as on the host.
    if (o.gpu != "none") {
        auto functions = gpu_functions(sys, ids, o.gpu, notes);
        if (!functions) return functions.error();
        auto gpu_bdf = normalize_bdf(o.gpu);
        meta.append_child("porthole:gpu").append_attribute("bdf") = gpu_bdf->c_str();
        auto port = devices.append_child("controller");
        port.append_attribute("type") = "pci";
        port.append_attribute("index") = kGpuRootPort;
        port.append_attribute("model") = "pcie-root-port";
        std::optional<std::string> rom;
        if (!o.rom.empty()) {
            auto path = host_path("--rom", o.rom, true);
            if (!path) return path.error();
            std::ifstream in(*path, std::ios::binary);
            std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                       std::istreambuf_iterator<char>());
            if (!in.good() && !in.eof()) return Error::make("cannot read the ROM file " + *path);
            auto info = parse_option_rom(bytes);
            if (!info) return Error::make(*path + ": " + info.error().message);
            if (!info->has_uefi()) {
                notes.push_back(*path +
                                " has no UEFI image: OVMF shows nothing on the GPU until "
                                "the guest's driver loads");
            }
            rom = *path;
        }
        const bool multifunction = functions->size() > 1;
        for (const auto& f : *functions) {
            auto hostdev = xml::append_element(
                devices, "hostdev", {{"mode", "subsystem"}, {"type", "pci"}, {"managed", "yes"}});
            set_pci_address(hostdev.append_child("source").append_child("address"), f.bdf);
            if (rom && f.bdf == *gpu_bdf)
                hostdev.append_child("rom").append_attribute("file") = rom->c_str();
            auto addr =
                xml::append_element(hostdev, "address",
                                    {{"type", "pci"},
                                     {"domain", "0x0000"},
                                     {"bus", fmt::format("{:#04x}", kGpuRootPort)},
                                     {"slot", "0x00"},
                                     {"function", fmt::format("{:#x}", function_of(f.bdf))}});
            if (multifunction && function_of(f.bdf) == 0)
                addr.append_attribute("multifunction") = "on";
        }
        if (functions->size() > 1) {
            std::string list;
            for (const auto& f : *functions)
                list += (list.empty() ? "" : ", ") + f.bdf;
            notes.push_back("passing every function of the card: " + list);
        }
    } else if (!o.rom.empty()) {
        return Error::make("--rom needs a GPU (--gpu BDF)");
    }

    const bool install = !o.iso.empty();
    def.install_mode = install;
    int boot_order = install ? 2 : 1;
    if (!o.disk.empty()) {
        auto path = host_path("--disk", o.disk, true);
        if (!path) {
            return Error::make(path.error().message +
                               ": create it first, e.g. `qemu-img create -f qcow2 FILE 128G`, or "
                               "give a block device (/dev/disk/by-id/...)");
        }
        struct ::stat st {};
        if (::stat(path->c_str(), &st) != 0 || !(S_ISBLK(st.st_mode) || S_ISREG(st.st_mode))) {
            return Error::make(
                fmt::format("--disk {} is neither an image file nor a block device", *path));
        }
        const bool block = S_ISBLK(st.st_mode);
        if (auto s = append_snippet(devices, *snippets, "disk", {"disk"}); !s) return s.error();
        auto disk = devices.last_child();
        disk.attribute("type").set_value(block ? "block" : "file");
        disk.child("driver").attribute("type").set_value(block ? "raw"
                                                               : disk_format(*path).c_str());
        auto source = disk.child("source");
        source.remove_attribute("dev");
        source.append_attribute(block ? "dev" : "file") = path->c_str();
        if (!kernel_boot) disk.append_child("boot").append_attribute("order") = boot_order;
    }
    if (install) {
        std::vector<std::pair<std::string, std::string>> cdroms{{"--iso", o.iso}};
        if (!o.virtio_iso.empty()) cdroms.emplace_back("--virtio-iso", o.virtio_iso);
        std::string targets;
        char target = 'a';
        for (const auto& [what, file] : cdroms) {
            auto path = host_path(what, file, true);
            if (!path) return path.error();
            auto cd = xml::append_element(devices, "disk", {{"type", "file"}, {"device", "cdrom"}});
            xml::append_element(cd, "driver", {{"name", "qemu"}, {"type", "raw"}});
            cd.append_child("source").append_attribute("file") = path->c_str();
            auto t = cd.append_child("target");
            const std::string dev = std::string("sd") + target++;
            t.append_attribute("dev") = dev.c_str();
            t.append_attribute("bus") = "sata";
            cd.append_child("readonly");
            if (what == "--iso") cd.append_child("boot").append_attribute("order") = 1;
            targets += (targets.empty() ? "" : " ") + dev;
        }
        meta.append_child("porthole:install").append_attribute("cdroms") = targets.c_str();
        notes.push_back(fmt::format(
            "install mode: the installer shows on SPICE (`virt-viewer {}`){}; once Windows, the "
            "GPU driver and porthole-agent are installed, `porthole-vfio vm finish-install {}`",
            o.name,
            o.virtio_iso.empty() ? ""
                                 : "; load the virtio disk driver from the second cdrom "
                                   "(viostor) when the installer finds no disk",
            o.name));
    } else if (!o.virtio_iso.empty()) {
        return Error::make("--virtio-iso is for install mode: give --iso too");
    }

    // Network.
    if (o.network != "none") {
        std::string kind = o.network, arg;
        if (auto colon = o.network.find(':'); colon != std::string::npos) {
            kind = o.network.substr(0, colon);
            arg = o.network.substr(colon + 1);
        }
        pugi::xml_node nic;
        if (kind == "default" || kind == "bridge" || kind == "macvtap") {
            if (kind != "default") {
                if (auto s = validate_ifname(arg); !s) return s.error();
            } else if (!arg.empty()) {
                return Error::make("--network default takes no argument");
            }
            if (auto s = append_snippet(devices, *snippets, "interface"); !s) return s.error();
            nic = devices.last_child();
            if (kind == "bridge") {
                nic.attribute("type").set_value("bridge");
                nic.child("source").remove_attribute("network");
                nic.child("source").append_attribute("bridge") = arg.c_str();
            } else if (kind == "macvtap") {
                nic.attribute("type").set_value("direct");
                nic.child("source").remove_attribute("network");
                nic.child("source").append_attribute("dev") = arg.c_str();
                nic.child("source").append_attribute("mode") = "bridge";
                notes.push_back("macvtap: the guest and this host cannot reach each other over " +
                                arg + " (a limit of macvtap); use a bridge if they must");
            }
        } else if (kind == "user" && arg.empty()) {
            // SLIRP: no host setup, no vhost.
            nic = devices.append_child("interface");
            nic.append_attribute("type") = "user";
            nic.append_child("model").append_attribute("type") = "virtio";
        } else {
            return Error::make(fmt::format(
                "--network '{}': use default, bridge:BR, macvtap:IF, user or none", o.network));
        }
        if (windows) {
            notes.push_back(
                "virtio network and disk need the virtio-win drivers in Windows "
                "(--virtio-iso)");
        }
    }

    // An xHCI controller stated, not left to libvirt's default (EHCI on older
    // libvirt): USB 3 devices given with `porthole-vfio usb attach` need it, and
    // 15 ports leave room for a controller, a headset and a wheel beside the tablet.
    xml::append_element(devices, "controller",
                        {{"type", "usb"}, {"index", "0"}, {"model", "qemu-xhci"}, {"ports", "15"}});

    // Input for QMP (porthole --input-to qmp): PS/2 keyboard and mouse are built in; a
    // tablet takes absolute positions. USB needs no driver in Windows; virtio is lighter.
    std::string bus = o.input_bus.empty() ? (windows ? "usb" : "virtio") : o.input_bus;
    if (bus != "usb" && bus != "virtio") return Error::make("--input-bus must be usb or virtio");
    xml::append_element(devices, "input", {{"type", "tablet"}, {"bus", bus}});
    if (bus == "virtio") {
        xml::append_element(devices, "input", {{"type", "mouse"}, {"bus", "virtio"}});
    }

    if (install) {
        // SPICE on the loopback only: it has no password.
        auto graphics =
            xml::append_element(devices, "graphics", {{"type", "spice"}, {"autoport", "yes"}});
        xml::append_element(graphics, "listen", {{"type", "address"}, {"address", "127.0.0.1"}});
        graphics.append_child("image").append_attribute("compression") = "off";
        auto channel = devices.append_child("channel");
        channel.append_attribute("type") = "spicevmc";
        xml::append_element(channel, "target",
                            {{"type", "virtio"}, {"name", "com.redhat.spice.0"}});
        auto model = devices.append_child("video").append_child("model");
        model.append_attribute("type") = "qxl";
        model.append_attribute("heads") = 1;
        model.append_attribute("primary") = "yes";
    } else {
        // The passed GPU is the display; no emulated one.
        devices.append_child("video").append_child("model").append_attribute("type") = "none";
    }

    if (tpm) {
        auto t = devices.append_child("tpm");
        t.append_attribute("model") = "tpm-crb";
        xml::append_element(t, "backend", {{"type", "emulator"}, {"version", "2.0"}});
    }

    if (auto s = append_snippet(devices, *snippets, "shmem"); !s) return s.error();
    devices.last_child().attribute("name").set_value(o.shm_name.c_str());

    if (!o.serial_log.empty()) {
        auto path = host_path("--serial-log", o.serial_log, false);
        if (!path) return path.error();
        auto serial = devices.append_child("serial");
        serial.append_attribute("type") = "file";
        serial.append_child("source").append_attribute("path") = path->c_str();
        serial.append_child("target").append_attribute("port") = 0;
    }
    // All guest RAM is pinned for the GPU's DMA: a balloon could never return any.
    devices.append_child("memballoon").append_attribute("model") = "none";

    auto cmd = domain.append_child("qemu:commandline");
    cmd.append_child("qemu:arg").append_attribute("value") = "-qmp";
    cmd.append_child("qemu:arg").append_attribute("value") =
        ("unix:" + qemu_option_escape(def.qmp_path) + ",server=on,wait=off").c_str();

    if (o.qmp.empty()) {
        notes.push_back("the QMP socket " + def.qmp_path +
                        " needs /run/porthole to exist, writable by the QEMU user, before the VM "
                        "starts (it is a tmpfs: e.g. a tmpfiles.d line `d /run/porthole 0750 "
                        "libvirt-qemu kvm -`)");
    }
    if (o.doorbell.empty()) {
        notes.push_back(
            fmt::format("the region {} is {} MiB for {}x{}; the client: `porthole --shm {} "
                        "--input-to qmp --qmp unix:{}`",
                        def.region_path, def.region_bytes / kMiB, o.width, o.height,
                        def.region_path, def.qmp_path));
    } else {
        // QEMU asks the server for the region and the doorbell's eventfds once, when the
        // device is created, and cannot reconnect later.
        const std::string server_options = fmt::format("--socket {} --shm {} --size {}", o.doorbell,
                                                       def.region_path, def.region_bytes / kMiB);
        notes.push_back(fmt::format(
            "the region {} ({} MiB for {}x{}) and its doorbell come from porthole-ivshmem-server, "
            "which must be running before the VM starts: `porthole-ivshmem-server {}`; or its "
            "service: `systemctl edit porthole-ivshmem-server` with [Service] "
            "Environment=\"PORTHOLE_IVSHMEM_SERVER_OPTIONS={}\", then `systemctl enable --now "
            "porthole-ivshmem-server`. Restart the VM after restarting the server. The socket "
            "and a region file the server creates are mode 0660: add --group GROUP, a group that "
            "both you and QEMU's user are in (e.g. kvm), so that porthole may connect",
            def.region_path, def.region_bytes / kMiB, o.width, o.height, server_options,
            server_options));
        notes.push_back(
            fmt::format("the client: `porthole --shm {} --doorbell {} --input-to qmp "
                        "--qmp unix:{}`",
                        def.region_path, o.doorbell, def.qmp_path));
    }
    def.xml = xml::to_string(doc);
    return def;
}

Result<FinishInstall> finish_install(std::string_view domain_xml) {
    pugi::xml_document doc;
    if (auto s = xml::parse(doc, domain_xml); !s) return s.error();
    pugi::xml_node domain = doc.child("domain");
    if (!domain) return Error::make("not a libvirt domain: the root element is not <domain>");
    FinishInstall r;
    pugi::xml_node devices = domain.child("devices");
    pugi::xml_node meta = xml::porthole_metadata(domain);
    const std::string prefix = meta ? xml::prefix_of(meta) : std::string();
    pugi::xml_node install = meta ? meta.child((prefix + "install").c_str()) : pugi::xml_node();
    // The cdroms vm define attached; for other domains every cdrom with a medium.
    std::vector<std::string> cdrom_targets;
    const bool known = static_cast<bool>(install);
    if (known) cdrom_targets = split(install.attribute("cdroms").as_string(), " ");

    std::vector<pugi::xml_node> drop;
    std::set<std::string> dropped_audio;
    for (auto n : devices.children()) {
        const std::string name = n.name();
        const std::string type = n.attribute("type").as_string();
        if (name == "graphics" && type == "spice") {
            drop.push_back(n);
            r.removed.push_back("SPICE graphics");
        } else if ((name == "channel" || name == "redirdev" || name == "smartcard") &&
                   type == "spicevmc") {
            drop.push_back(n);
            r.removed.push_back(fmt::format(
                "SPICE {} ({})", name,
                n.child("target").attribute("name").as_string(n.attribute("bus").as_string())));
        } else if (name == "audio" && type == "spice") {
            drop.push_back(n);
            dropped_audio.insert(n.attribute("id").as_string());
            r.removed.push_back("SPICE audio");
        } else if (name == "video" &&
                   std::string(n.child("model").attribute("type").as_string()) == "qxl") {
            drop.push_back(n);
            r.removed.push_back("QXL video");
        } else if (name == "disk" && std::string(n.attribute("device").as_string()) == "cdrom") {
            const std::string target = n.child("target").attribute("dev").as_string();
            const bool ours = known ? std::find(cdrom_targets.begin(), cdrom_targets.end(),
                                                target) != cdrom_targets.end()
                                    : static_cast<bool>(n.child("source"));
            if (ours) {
                drop.push_back(n);
                r.removed.push_back(
                    fmt::format("cdrom {} ({})", target,
                                n.child("source").attribute("file").as_string("no medium")));
            }
        }
    }
    for (auto n : drop)
        devices.remove_child(n);
    // A sound card fed by a removed SPICE audio backend would point at nothing.
    for (auto sound : devices.children("sound")) {
        for (auto a = sound.child("audio"); a;) {
            auto next = a.next_sibling("audio");
            if (dropped_audio.count(a.attribute("id").as_string())) sound.remove_child(a);
            a = next;
        }
    }
    bool has_video = static_cast<bool>(devices.child("video"));
    bool had_qxl = std::any_of(r.removed.begin(), r.removed.end(),
                               [](const std::string& s) { return s == "QXL video"; });
    if (had_qxl && !has_video) {
        devices.append_child("video").append_child("model").append_attribute("type") = "none";
    }
    // Boot order stays dense, in the order it had.
    std::vector<std::pair<int, pugi::xml_node>> boots;
    for (auto d : devices.children()) {
        if (auto b = d.child("boot"); b && b.attribute("order")) {
            boots.emplace_back(b.attribute("order").as_int(), b);
        }
    }
    std::stable_sort(boots.begin(), boots.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (size_t i = 0; i < boots.size(); ++i) {
        if (boots[i].first != static_cast<int>(i + 1)) {
            boots[i].second.attribute("order").set_value(static_cast<int>(i + 1));
            r.removed.push_back(fmt::format("boot order {} is now {}", boots[i].first, i + 1));
        }
    }
    if (install) {
        meta.remove_child(install);
        if (r.removed.empty()) r.removed.push_back("the install-mode record");
    }
    r.changed = !r.removed.empty();
    r.xml = r.changed ? xml::to_string(doc) : std::string(domain_xml);
    return r;
}

Result<std::string> keep_identity(std::string_view domain_xml, std::string_view replaced_xml) {
    pugi::xml_document doc, old;
    if (auto s = xml::parse(doc, domain_xml); !s) return s.error();
    if (auto s = xml::parse(old, replaced_xml); !s) return s.error();
    auto domain = doc.child("domain");
    auto before = old.child("domain");
    if (!domain || !before) return Error::make("not a libvirt domain: the root is not <domain>");
    if (auto uuid = before.child("uuid")) {
        domain.remove_child("uuid");
        domain.insert_child_after("uuid", domain.child("name")).text().set(uuid.text().as_string());
    }
    auto next_old = before.child("devices").child("interface");
    for (auto nic : domain.child("devices").children("interface")) {
        if (!next_old) break;
        if (auto mac = next_old.child("mac"); mac && !nic.child("mac")) {
            nic.prepend_child("mac").append_attribute("address") =
                mac.attribute("address").as_string();
        }
        next_old = next_old.next_sibling("interface");
    }
    return xml::to_string(doc);
}

std::optional<VmMetadata> read_vm_metadata(std::string_view domain_xml) {
    pugi::xml_document doc;
    if (!xml::parse(doc, domain_xml)) return std::nullopt;
    auto meta = xml::porthole_metadata(doc.child("domain"));
    if (!meta) return std::nullopt;
    VmMetadata m;
    const std::string prefix = xml::prefix_of(meta);
    auto region = meta.child((prefix + "region").c_str());
    m.width = region.attribute("width").as_uint();
    m.height = region.attribute("height").as_uint();
    m.gpu = meta.child((prefix + "gpu").c_str()).attribute("bdf").as_string();
    return m;
}

std::string backup_path(const System& sys, const std::string& name, const std::string& dir) {
    const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    ::localtime_r(&now, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
    const std::string base = dir + "/" + name + "-" + stamp;
    std::string path = base + ".xml";
    for (int i = 1; sys.exists(path); ++i)
        path = fmt::format("{}-{}.xml", base, i);
    return path;
}

}  // namespace porthole::vfio
