#include "porthole/vfio/cli.hpp"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "porthole/packaging/cli_docs.hpp"
#include "porthole/qmp/session.hpp"
#include "porthole/qmp/usb.hpp"
#include "porthole/util/version.hpp"
#include "porthole/vfio/bind.hpp"
#include "porthole/vfio/doctor.hpp"
#include "porthole/vfio/hugepages.hpp"
#include "porthole/vfio/iommu.hpp"
#include "porthole/vfio/libvirt.hpp"
#include "porthole/vfio/live_pin.hpp"
#include "porthole/vfio/persist.hpp"
#include "porthole/vfio/region.hpp"
#include "porthole/vfio/rom.hpp"
#include "porthole/vfio/topology.hpp"
#include "porthole/vfio/usb.hpp"
#include "porthole/vfio/virsh.hpp"
#include "porthole/vfio/vm.hpp"
#include "table.hpp"

namespace porthole::vfio {

namespace {

using nlohmann::json;

struct GlobalOptions {
    std::string sysfs_root = "/sys";
    std::string proc_root = "/proc";
    std::string root = "/";
    std::string pci_ids;
    bool json = false;
    bool dry_run = false;
};

// What a command produced: JSON for scripts, text for people, and an exit code.
struct Output {
    json data = json::object();
    std::string text;
    std::string notes;  // text mode: to stderr, so that stdout stays machine-readable
    int code = 0;
};

std::string join(const std::vector<std::string>& v, const std::string& sep) {
    std::string out;
    for (const auto& s : v)
        out += (out.empty() ? "" : sep) + s;
    return out;
}

// Bytes that are not UTF-8 (a Latin-1 pci.ids, an odd sysfs attribute) become U+FFFD
// instead of making the dump throw.
std::string dump_json(const json& j) {
    return j.dump(2, ' ', false, json::error_handler_t::replace);
}

json actions_json(const System& sys) {
    json a = json::array();
    for (const auto& act : sys.journal())
        a.push_back(describe(act));
    return a;
}

std::string actions_text(const System& sys) {
    if (sys.journal().empty()) return {};
    std::string t = sys.dry_run() ? "\nPlanned writes (dry run, nothing was changed):\n"
                                  : "\nWrites performed:\n";
    for (const auto& act : sys.journal())
        t += "  " + describe(act) + "\n";
    return t;
}

json device_json(const PciDevice& d) {
    return json{{"bdf", d.bdf},
                {"class", fmt::format("0x{:06x}", d.class_code)},
                {"class_name", d.class_name()},
                {"vendor", fmt::format("{:04x}", d.vendor)},
                {"device", fmt::format("{:04x}", d.device)},
                {"vendor_name", d.vendor_name},
                {"device_name", d.device_name},
                {"driver", d.driver},
                {"driver_override", d.driver_override},
                {"reset_methods", d.reset_methods},
                {"boot_vga", d.boot_vga}};
}

Result<Output> cmd_groups(System& sys, const PciIds& ids) {
    Output o;
    HostInfo host = read_host_info(sys);
    if (!host.iommu_enabled()) {
        std::string msg = iommu_off_message(host);
        o.data = {{"iommu", false},
                  {"cpu_vendor", vendor_name(host.vendor)},
                  {"kernel_flags", iommu_kernel_flags(host.vendor)},
                  {"message", msg},
                  {"groups", json::array()}};
        o.text = msg + "\n";
        return o;
    }
    auto groups = read_iommu_groups(sys, ids);
    json jg = json::array();
    for (const auto& g : groups) {
        json devs = json::array();
        std::vector<std::vector<std::string>> rows{
            {"BDF", "CLASS", "IDS", "DRIVER", "RESET", "NAME"}};
        for (const auto& d : g.devices) {
            devs.push_back(device_json(d));
            rows.push_back({d.bdf, d.class_name(), d.ids(), d.driver.empty() ? "-" : d.driver,
                            d.reset_methods.empty() ? "none" : join(d.reset_methods, ","),
                            d.display_name() + (d.boot_vga ? " (boot VGA)" : "")});
        }
        jg.push_back({{"group", g.number},
                      {"verdict", verdict_name(g.verdict)},
                      {"reasons", g.reasons},
                      {"devices", devs}});
        o.text += fmt::format("IOMMU group {}: {} ({})\n", g.number, verdict_name(g.verdict),
                              verdict_text(g.verdict));
        o.text += render_table(rows, "  ");
        for (const auto& r : g.reasons)
            o.text += "  - " + r + "\n";
        o.text += "\n";
    }
    if (host.acs_override) {
        o.text += "Note: pcie_acs_override is in use: these groups are weaker than they look.\n";
    }
    o.data = {{"iommu", true},
              {"cpu_vendor", vendor_name(host.vendor)},
              {"acs_override", host.acs_override},
              {"groups", jg}};
    return o;
}

Result<Output> cmd_bind(System& sys, const PciIds& ids, const std::vector<std::string>& bdfs,
                        const BindOptions& options) {
    auto r = bind_devices(sys, ids, bdfs, options);
    if (!r) return r.error();
    Output o;
    o.data = {{"bound", r->bound}, {"already", r->already}, {"notes", r->notes}};
    for (const auto& b : r->bound) {
        o.text += fmt::format("{} {} to vfio-pci\n", b, sys.dry_run() ? "would move" : "moved");
    }
    for (const auto& b : r->already)
        o.text += b + " was already on vfio-pci\n";
    for (const auto& n : r->notes)
        o.text += "note: " + n + "\n";
    return o;
}

Result<Output> cmd_unbind(System& sys, const PciIds& ids, const std::vector<std::string>& bdfs) {
    auto r = unbind_devices(sys, ids, bdfs);
    if (!r) return r.error();
    Output o;
    o.data = {{"restored", r->restored}, {"skipped", r->skipped}, {"notes", r->notes}};
    for (const auto& s : r->restored)
        o.text += "restored " + s + "\n";
    for (const auto& s : r->skipped)
        o.text += "skipped: " + s + "\n";
    for (const auto& n : r->notes)
        o.text += "note: " + n + "\n";
    return o;
}

Result<Output> cmd_persist(System& sys, const PciIds& ids, const PersistOptions& options,
                           bool apply) {
    auto plan = plan_persist(sys, ids, options);
    if (!plan) return plan.error();
    Output o;
    json files = json::array();
    for (const auto& f : plan->files) {
        files.push_back({{"path", f.path},
                         {"mode", fmt::format("{:04o}", f.mode)},
                         {"purpose", f.purpose},
                         {"content", f.content}});
    }
    json commands = json::array();
    for (const auto& c : plan->commands)
        commands.push_back(join(c, " "));
    o.data = {{"kernel_cmdline_add", plan->cmdline_add},
              {"bootloader", plan->bootloader},
              {"initramfs", plan->initramfs},
              {"method", plan->uses_ids ? "vfio-pci.ids" : "driver_override"},
              {"files", files},
              {"commands", commands},
              {"notes", plan->notes},
              {"applied", apply}};
    o.text += fmt::format("Kernel command line: add {}\n",
                          plan->cmdline_add.empty() ? "nothing (already set)"
                                                    : "`" + join(plan->cmdline_add, " ") + "`");
    o.text += fmt::format("Boot loader: {}; initramfs: {}\n", plan->bootloader,
                          plan->initramfs.empty() ? "none found" : join(plan->initramfs, ", "));
    for (const auto& f : plan->files) {
        o.text +=
            fmt::format("\n--- {} ({}, mode {:04o})\n{}", f.path, f.purpose, f.mode, f.content);
    }
    if (!plan->commands.empty()) {
        o.text += "\nThen run:\n";
        for (const auto& c : plan->commands)
            o.text += "  " + join(c, " ") + "\n";
    }
    for (const auto& n : plan->notes)
        o.text += "note: " + n + "\n";
    if (apply) {
        if (auto s = apply_persist(sys, *plan); !s) return s.error();
        if (!plan->commands.empty() && !sys.commands_run_here() &&
            std::any_of(sys.journal().begin(), sys.journal().end(),
                        [](const Action& a) { return a.not_run; })) {
            o.text += fmt::format(
                "\nThe commands were not run: --root ({}) is another system, and they would act "
                "on this one. Run them inside it (`chroot {} COMMAND`), or add --chroot to "
                "persist\n",
                sys.roots().root.string(), sys.roots().root.string());
        }
    } else {
        o.text += "\n(nothing written: add --apply to write these files and run the commands)\n";
    }
    return o;
}

struct UsbArgs {
    std::string qmp;
    std::string vm;
    std::string device;
};

// The QMP socket of the VM the user named: --vm NAME is the socket `vm define` sets up.
Result<std::string> usb_qmp_path(const UsbArgs& a) {
    if (!a.qmp.empty() && !a.vm.empty()) return Error::make("give --vm or --qmp, not both");
    if (!a.qmp.empty()) return porthole::qmp::parse_qmp_address(a.qmp);
    if (!a.vm.empty()) {
        if (auto s = validate_domain_name(a.vm); !s) return s.error();
        return "/run/porthole/" + a.vm + ".qmp";
    }
    return Error::make(
        "give the VM: --vm NAME (its QMP socket /run/porthole/NAME.qmp, as "
        "`porthole-vfio vm define` sets it up) or --qmp PATH");
}

std::string usb_vm_option(const UsbArgs& a) {
    return a.vm.empty() ? "--qmp " + a.qmp : "--vm " + a.vm;
}

Result<Output> cmd_usb_list(const System& sys, const UsbArgs& a) {
    Output o;
    std::vector<porthole::qmp::AttachedUsb> attached;
    const bool ask_vm = !a.qmp.empty() || !a.vm.empty();
    if (ask_vm) {
        auto path = usb_qmp_path(a);
        if (!path) return path.error();
        auto session = porthole::qmp::Session::connect(*path);
        if (!session) return session.error();
        auto list = porthole::qmp::list_usb(*session);
        if (!list) return list.error();
        attached = std::move(*list);
    }
    const auto in_vm = [&](const HostUsbDevice& d) -> std::string {
        for (const auto& v : attached) {
            const auto& s = v.selector;
            if ((s.vendor == d.vendor && s.product == d.product) ||
                (s.bus && porthole::qmp::to_string(s) == d.name))
                return v.id;
        }
        return "";
    };
    json host = json::array();
    std::vector<std::vector<std::string>> rows{{"DEVICE", "ID", "NAME", ask_vm ? "IN THE VM" : ""}};
    for (const auto& d : list_host_usb(sys)) {
        const auto id = fmt::format("{:04x}:{:04x}", d.vendor, d.product);
        const auto name =
            d.manufacturer.empty() ? d.description : d.manufacturer + " " + d.description;
        const auto vm_id = in_vm(d);
        rows.push_back({d.name, id, name, vm_id});
        host.push_back({{"device", d.name},
                        {"id", id},
                        {"manufacturer", d.manufacturer},
                        {"product", d.description},
                        {"in_vm", vm_id.empty() ? json(nullptr) : json(vm_id)}});
    }
    json vm = json::array();
    for (const auto& v : attached)
        vm.push_back({{"qemu_id", v.id}, {"device", porthole::qmp::to_string(v.selector)}});
    o.data = {{"host", host}};
    if (ask_vm) o.data["vm"] = vm;
    o.text = rows.size() > 1 ? render_table(rows) : "no USB devices on this host\n";
    if (ask_vm) {
        o.text += attached.empty() ? "\nthe VM has no host USB devices\n"
                                   : "\nin the VM (QEMU id, device):\n";
        for (const auto& v : attached)
            o.text += "  " + v.id + "  " + porthole::qmp::to_string(v.selector) + "\n";
    }
    return o;
}

Result<Output> cmd_usb_change(const System& sys, const UsbArgs& a, bool attach) {
    auto path = usb_qmp_path(a);
    if (!path) return path.error();
    Output o;
    std::optional<porthole::qmp::UsbSelector> selector;
    if (auto s = porthole::qmp::parse_usb_selector(a.device)) {
        selector = *s;
    } else if (attach) {
        return s.error();
    }
    if (sys.dry_run()) {
        const std::string id =
            selector ? porthole::qmp::usb_device_id(*selector) : std::string(a.device);
        const json cmd =
            attach ? json{{"execute", "device_add"},
                          {"arguments", porthole::qmp::usb_device_add_arguments(*selector, id)}}
                   : json{{"execute", "device_del"}, {"arguments", {{"id", id}}}};
        o.text = fmt::format("dry run: would send to QMP at {}: {}\n", *path, cmd.dump());
        o.data = {{"qmp", *path}, {"command", cmd}};
        return o;
    }
    auto session = porthole::qmp::Session::connect(*path);
    if (!session) return session.error();
    if (attach) {
        auto r = porthole::qmp::attach_usb(*session, *selector);
        if (!r) return r.error();
        o.text = fmt::format(
            "USB device {} given to the VM as {} (QEMU takes it when it is plugged in; give it "
            "back: porthole-vfio usb detach {} {})\n",
            porthole::qmp::to_string(*selector), r->id, porthole::qmp::to_string(*selector),
            usb_vm_option(a));
        o.data = {{"attached", r->id}};
    } else {
        auto r = porthole::qmp::detach_usb(*session, a.device);
        if (!r) return r.error();
        o.text = fmt::format("USB device {} given back to the host\n", *r);
        o.data = {{"detached", *r}};
    }
    return o;
}

struct PinArgs {
    int vcpus = 0;
    int host_cores = 1;
    int iothreads = 1;
    std::string qmp;
    int qemu_pid = 0;
    bool isolate = false;
    bool undo = false;
};

Result<Output> cmd_pin(System& sys, const PinArgs& a) {
    auto topo = read_topology(sys);
    if (!topo) return topo.error();
    Output o;
    if (a.undo) {
        if (auto s = undo_isolation(sys, topo->all_cpus()); !s) return s.error();
        o.data = {{"undo_isolation", true}, {"all_cpus", format_cpu_list(topo->all_cpus())}};
        o.text = "host may use every CPU again: " + format_cpu_list(topo->all_cpus()) + "\n";
        return o;
    }
    auto plan = plan_pinning(*topo, {a.vcpus, a.host_cores, a.iothreads});
    if (!plan) return plan.error();
    std::string xml = pin_plan_xml(*plan);
    json cores = json::array();
    for (const auto& c : topo->cores) {
        cores.push_back({{"threads", c.threads},
                         {"package", c.package},
                         {"node", c.node},
                         {"l3", c.l3},
                         {"type", c.type == CoreType::Performance  ? "P"
                                  : c.type == CoreType::Efficiency ? "E"
                                                                   : ""}});
    }
    o.data = {{"topology",
               {{"vendor", vendor_name(topo->vendor)},
                {"cores", cores},
                {"threads_per_core", topo->threads_per_core()},
                {"l3_domains", topo->l3_domains.size()},
                {"numa_nodes", topo->nodes},
                {"hybrid", topo->hybrid}}},
              {"vcpu_to_cpu", plan->vcpu_to_cpu},
              {"guest_cpus", format_cpu_list(plan->guest_cpus)},
              {"host_cpus", format_cpu_list(plan->host_cpus)},
              {"numa_node", plan->numa_node ? json(*plan->numa_node) : json(nullptr)},
              {"notes", plan->notes},
              {"xml", xml}};
    o.text += fmt::format("{} CPU: {} cores x {} threads, {} L3 domain(s), {} NUMA node(s){}\n",
                          vendor_name(topo->vendor), topo->cores.size(), topo->threads_per_core(),
                          topo->l3_domains.size(), topo->nodes, topo->hybrid ? ", hybrid P/E" : "");
    o.text += fmt::format("guest CPUs: {}   host CPUs (emulator, iothreads): {}\n",
                          format_cpu_list(plan->guest_cpus), format_cpu_list(plan->host_cpus));
    for (const auto& n : plan->notes)
        o.text += "note: " + n + "\n";
    o.text += "\n" + xml;
    if (!a.qmp.empty()) {
        auto threads = query_vm_threads(a.qmp);
        if (!threads) return threads.error();
        std::optional<int> pid;
        if (a.qemu_pid > 0) pid = a.qemu_pid;
        if (auto s = apply_pin_live(sys, *plan, *threads, pid); !s) return s.error();
        o.text += fmt::format("\npinned {} vCPU and {} iothread(s) of the running VM{}\n",
                              threads->vcpus.size(), threads->iothreads.size(),
                              pid ? ", emulator threads to the host CPUs" : "");
        o.data["live_pinned"] = threads->vcpus.size();
    }
    if (a.isolate) {
        if (auto s = isolate_host(sys, plan->host_cpus); !s) return s.error();
        o.text += "\nhost tasks confined to CPUs " + format_cpu_list(plan->host_cpus) +
                  " (undo: porthole-vfio pin --undo-isolation)\n";
        o.data["isolated"] = true;
    }
    return o;
}

struct HugepageArgs {
    std::string size;
    std::string page;  // empty: default_page_kib
    std::optional<int> node;
};

Result<Output> cmd_hugepages(System& sys, const HugepageArgs& a, bool reserve) {
    HugepageRequest req;
    auto page = choose_page_kib(sys, a.page);
    if (!page) return page.error();
    req.page_kib = *page;
    req.node = a.node;
    if (!a.size.empty()) {
        auto bytes = parse_size(a.size);
        if (!bytes) return bytes.error();
        req.bytes = *bytes;
    } else if (reserve) {
        return Error::make("give the size to reserve, e.g. `hugepages reserve 16G`");
    }
    auto r = reserve ? reserve_hugepages(sys, req) : release_hugepages(sys, req);
    if (!r) return r.error();
    Output o;
    o.data = {{"path", nr_hugepages_path(req.page_kib, req.node)},
              {"page_kib", req.page_kib},
              {"pages_before", r->pages_before},
              {"pages_after", r->pages_after},
              {"attempts", r->attempts_used}};
    o.text = fmt::format("{} pages{}: {} -> {}{}\n", page_size_text(req.page_kib),
                         req.node ? fmt::format(" on node {}", *req.node) : "", r->pages_before,
                         r->pages_after, sys.dry_run() ? " (dry run)" : "");
    return o;
}

Result<Output> cmd_snippets(const SnippetOptions& options) {
    auto snippets = libvirt_snippets(options);
    if (!snippets) return snippets.error();
    Output o;
    json arr = json::array();
    for (const auto& s : *snippets) {
        arr.push_back({{"name", s.name}, {"purpose", s.purpose}, {"xml", s.xml}});
        o.text += "<!-- " + s.name + ": " + s.purpose + " -->\n" + s.xml + "\n";
    }
    o.data = {{"snippets", arr},
              {"region_bytes", region_size_bytes(options.width, options.height)}};
    if (!options.doorbell_socket.empty()) o.data["doorbell"] = options.doorbell_socket;
    return o;
}

// The running binary, symlinks resolved: what the hooks should call.
std::string self_path() {
    std::error_code ec;
    auto p = std::filesystem::canonical("/proc/self/exe", ec);
    if (!ec) return p.string();
    auto link = std::filesystem::read_symlink("/proc/self/exe", ec);
    return ec ? std::string() : link.string();
}

Result<Output> cmd_hooks(System& sys, HookOptions options, const std::string& program) {
    auto resolved = hook_program(sys, program, self_path());
    if (!resolved) return resolved.error();
    options.program = resolved->path;
    auto files = install_hooks(sys, options);
    if (!files) return files.error();
    Output o;
    json arr = json::array();
    for (const auto& f : *files) {
        arr.push_back({{"path", f.path}, {"content", f.content}});
        o.text += fmt::format("{} {}\n", sys.dry_run() ? "would install" : "installed", f.path);
    }
    for (const auto& w : resolved->warnings)
        o.text += "warning: " + w + "\n";
    o.data = {{"files", arr}, {"program", resolved->path}, {"warnings", resolved->warnings}};
    o.text += "libvirt reads hooks at start: restart libvirtd once after the first install\n";
    return o;
}

Result<Output> cmd_region(System& sys, const RegionRuleOptions& options) {
    auto rule = plan_region_rule(sys, options);
    if (!rule) return rule.error();
    if (auto s = apply_region_rule(sys, *rule); !s) return s.error();
    Output o;
    o.data = {{"file", kRegionRuleFile},
              {"path", rule->path},
              {"user", rule->user},
              {"group", rule->group},
              {"mode", "0660"},
              {"line", rule->line},
              {"group_source", rule->group_source},
              {"notes", rule->notes}};
    o.text = fmt::format("{} {}:\n  {}\n", sys.dry_run() ? "would write" : "wrote", kRegionRuleFile,
                         rule->line);
    o.text += fmt::format(
        "{} is created at boot (and now) owned by {} with group {} ({}), mode 0660: QEMU and "
        "{} can both map it.\n",
        rule->path, rule->user, rule->group, rule->group_source, rule->user);
    for (const auto& n : rule->notes)
        o.text += "note: " + n + "\n";
    return o;
}

Result<Output> cmd_rom(System& sys, const std::string& bdf_text, const std::string& file) {
    std::vector<uint8_t> bytes;
    std::string source;
    if (!file.empty()) {
        std::ifstream in(file, std::ios::binary);
        std::ostringstream content;
        if (!in || !(content << in.rdbuf())) return Error::make("cannot read ROM file " + file);
        const std::string text = content.str();
        bytes.assign(text.begin(), text.end());
        source = file;
    } else {
        auto bdf = normalize_bdf(bdf_text);
        if (!bdf) return bdf.error();
        auto data = read_device_rom(sys, *bdf);
        if (!data) return data.error();
        bytes = std::move(*data);
        source = *bdf;
    }
    auto info = parse_option_rom(bytes);
    if (!info) return info.error();
    Output o;
    json imgs = json::array();
    std::vector<std::vector<std::string>> rows{{"OFFSET", "LENGTH", "IDS", "CODE TYPE"}};
    for (const auto& i : info->images) {
        imgs.push_back({{"offset", i.offset},
                        {"length", i.length},
                        {"vendor", fmt::format("{:04x}", i.vendor)},
                        {"device", fmt::format("{:04x}", i.device)},
                        {"code_type", i.code_type},
                        {"code_type_name", i.code_type_name()},
                        {"last", i.last}});
        rows.push_back({fmt::format("{:#07x}", i.offset), std::to_string(i.length),
                        fmt::format("{:04x}:{:04x}", i.vendor, i.device), i.code_type_name()});
    }
    o.data = {{"source", source},
              {"size", bytes.size()},
              {"images", imgs},
              {"uefi", info->has_uefi()},
              {"problems", info->problems}};
    o.text = fmt::format("Option ROM of {} ({} bytes, {} image(s))\n", source, bytes.size(),
                         info->images.size());
    o.text += render_table(rows, "  ");
    for (const auto& p : info->problems)
        o.text += "  problem: " + p + "\n";
    o.text += info->has_uefi() ? "UEFI image present: OVMF can use this GPU's GOP driver\n"
                               : "No UEFI image: OVMF shows no boot screen on this GPU; give the "
                                 "VM a ROM file with a UEFI image\n";
    return o;
}

Result<Output> cmd_doctor(System& sys, const PciIds& ids, const DoctorOptions& options) {
    auto findings = run_doctor(sys, ids, options);
    Output o;
    json arr = json::array();
    int fails = 0, warns = 0;
    for (const auto& f : findings) {
        arr.push_back({{"check", f.check},
                       {"level", level_name(f.level)},
                       {"detail", f.detail},
                       {"fix", f.fix}});
        o.text += fmt::format("[{}] {}: {}\n", level_name(f.level), f.check, f.detail);
        if (!f.fix.empty()) o.text += "       fix: " + f.fix + "\n";
        fails += f.level == Level::Fail;
        warns += f.level == Level::Warn;
    }
    o.text += fmt::format("\n{} checks: {} failed, {} warnings\n", findings.size(), fails, warns);
    o.data = {{"findings", arr}, {"failed", fails}, {"warnings", warns}};
    o.code = fails > 0 ? 1 : 0;
    return o;
}

// ---- vm define / vm finish-install, and doctor --domain's XML ----

json vm_notes_json(const std::vector<std::string>& notes) {
    json a = json::array();
    for (const auto& n : notes)
        a.push_back(n);
    return a;
}

// Keeps a domain's current XML before it is replaced; returns the backup's path.
Result<std::string> back_up_domain(System& sys, const std::string& name, const std::string& xml,
                                   const std::string& dir) {
    if (dir.empty() || dir.front() != '/') {
        return Error::make("--backup-dir must be an absolute path");
    }
    std::string path = backup_path(sys, name, dir);
    if (auto s = sys.write_file(path, xml, 0600); !s) return s.error();
    return path;
}

struct VmDefineArgs {
    VmOptions vm;
    bool apply = false;
    bool force = false;
    std::string connect;
    std::string backup_dir = kDomainBackupDir;
};

Result<Output> cmd_vm_define(System& sys, const PciIds& ids, const VmDefineArgs& a) {
    auto def = build_domain(sys, ids, a.vm);
    if (!def) return def.error();
    Output o;
    o.data = {{"name", a.vm.name},
              {"xml", def->xml},
              {"notes", vm_notes_json(def->notes)},
              {"qmp", def->qmp_path},
              {"region", def->region_path},
              {"region_bytes", def->region_bytes},
              {"install_mode", def->install_mode},
              {"virt_type", def->virt_type},
              {"defined", false}};
    if (!a.vm.doorbell.empty()) o.data["doorbell"] = a.vm.doorbell;
    if (!a.apply) {
        // The XML alone on stdout, so that `> vm.xml` works; the notes on stderr.
        o.text = def->xml;
        for (const auto& n : def->notes)
            o.notes += "note: " + n + "\n";
        o.notes += "(not defined: add --apply to run `virsh define`)\n";
        return o;
    }
    Virsh virsh(a.connect);
    auto existing = virsh.inactive_xml(a.vm.name);
    if (!existing) {
        return Error::make(existing.error().message +
                           " (is libvirtd running? `porthole-vfio doctor` checks)");
    }
    if (*existing && !a.force) {
        return Error::make(fmt::format(
            "a domain named '{}' already exists: `vm define --apply` would replace its "
            "definition. Choose another name, or add --force (its current XML is kept in {}/)",
            a.vm.name, a.backup_dir));
    }
    std::string xml = def->xml;
    if (*existing) {
        auto backup = back_up_domain(sys, a.vm.name, **existing, a.backup_dir);
        if (!backup) return backup.error();
        o.data["backup"] = *backup;
        o.text += fmt::format("the old definition of {} is saved in {}\n", a.vm.name, *backup);
        auto same = keep_identity(xml, **existing);
        if (!same) return same.error();
        xml = *same;
    }
    if (sys.dry_run()) {
        o.text += fmt::format("would run `{} define` with the domain {} (dry run)\n",
                              virsh.describe(), a.vm.name);
    } else {
        if (auto s = virsh.define(xml); !s) return s.error();
        o.data["defined"] = true;
        o.text += fmt::format("defined the domain {} ({})\n", a.vm.name, virsh.describe());
    }
    for (const auto& n : def->notes)
        o.text += "note: " + n + "\n";
    o.text += fmt::format("start it: {} start {}\n", virsh.describe(), a.vm.name);
    return o;
}

Result<Output> cmd_vm_finish_install(System& sys, const std::string& name,
                                     const std::string& connect, const std::string& backup_dir) {
    if (auto s = validate_domain_name(name); !s) return s.error();
    Virsh virsh(connect);
    auto xml = virsh.inactive_xml(name);
    if (!xml) return xml.error();
    if (!*xml) {
        return Error::make(
            fmt::format("no domain named '{}' ({} list --all shows them)", name, virsh.describe()));
    }
    auto r = finish_install(**xml);
    if (!r) return r.error();
    Output o;
    o.data = {{"name", name}, {"changed", r->changed}, {"removed", r->removed}};
    if (!r->changed) {
        o.text = fmt::format("{} is not in install mode: nothing to change\n", name);
        return o;
    }
    auto backup = back_up_domain(sys, name, **xml, backup_dir);
    if (!backup) return backup.error();
    o.data["backup"] = *backup;
    if (!sys.dry_run()) {
        if (auto s = virsh.define(r->xml); !s) return s.error();
    }
    o.text =
        fmt::format("{} {}'s install mode:\n", sys.dry_run() ? "would remove" : "removed", name);
    for (const auto& piece : r->removed)
        o.text += "  - " + piece + "\n";
    o.text += fmt::format("the previous XML is saved in {}\n", *backup);
    o.text += "it takes effect at the next start of the VM\n";
    return o;
}

// doctor --domain NAME (virsh dumpxml) or --xml FILE; the resolution from vm define's
// record unless given.
Status load_domain_for_doctor(const std::string& domain, const std::string& file,
                              const std::string& connect, bool resolution_given,
                              DoctorOptions& doc) {
    if (!domain.empty()) {
        if (auto s = validate_domain_name(domain); !s) return s;
        auto xml = Virsh(connect).inactive_xml(domain);
        if (!xml) return xml.error();
        if (!*xml) return Error::make(fmt::format("no domain named '{}'", domain));
        doc.domain_xml = **xml;
    } else if (!file.empty()) {
        std::ifstream in(file, std::ios::binary);
        std::ostringstream content;
        if (!in || !(content << in.rdbuf())) return Error::make("cannot read " + file);
        doc.domain_xml = content.str();
    } else {
        return {};
    }
    if (!resolution_given) {
        if (auto meta = read_vm_metadata(doc.domain_xml); meta && meta->width && meta->height) {
            doc.width = meta->width;
            doc.height = meta->height;
        }
    }
    return {};
}

// --doorbell [SOCKET]: given alone, the server's default socket (filled in after parsing:
// CLI11 leaves the value empty).
CLI::Option* add_doorbell_option(CLI::App* command, std::string& socket) {
    return command
        ->add_option("--doorbell", socket,
                     fmt::format("ivshmem-doorbell instead of ivshmem-plain: the guest rings the "
                                 "client instead of being polled; the region comes from "
                                 "porthole-ivshmem-server on SOCKET (default {}), which must run "
                                 "before the VM starts",
                                 kDefaultDoorbellSocket))
        ->expected(0, 1)
        ->type_name("[SOCKET]");
}

// porthole-vfio(8) beyond the option table.
packaging::ProgramDocs man_docs() {
    packaging::ProgramDocs d;
    d.name = "porthole-vfio";
    d.section = 8;
    d.summary = "prepare a Linux host for GPU passthrough to a virtual machine";
    d.sections = {
        {"EXIT STATUS",
         "0 done, 1 done with failed checks (doctor), 2 an error or bad usage: nothing was left "
         "half-written."},
        {"FILES",
         "Every file it replaces is written atomically (temporary file, fsync, rename) and the "
         "old one kept as FILE.porthole-bak.\n"
         "  /etc/tmpfiles.d/porthole.conf      the region file's owner and mode (region)\n"
         "  /etc/libvirt/hooks/qemu            the hook dispatcher (libvirt hooks)\n"
         "  /etc/modprobe.d/, /etc/default/grub, the initramfs configuration (persist)\n"
         "  /var/lib/porthole-vfio/backups/    a domain's XML before vm define --force or "
         "vm finish-install replaces it"},
        {"SEE ALSO", "porthole(1), porthole-agent(1), virsh(1)"},
    };
    return d;
}

}  // namespace

BackendFactory default_backend_factory() {
    return [](const Roots&, bool dry_run) -> std::unique_ptr<Backend> {
        if (dry_run) return std::make_unique<DryRunBackend>();
        return std::make_unique<RealBackend>();
    };
}

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
            const BackendFactory& make_backend) {
    CLI::App app{
        "porthole-vfio: IOMMU groups, vfio-pci binding, CPU pinning, huge pages, "
        "libvirt and a doctor for GPU passthrough"};
    app.name("porthole-vfio");
    app.require_subcommand(1);
    app.fallthrough();
    app.set_version_flag("--version", version_line("porthole-vfio"));
    GlobalOptions g;
    app.add_option("--sysfs-root", g.sysfs_root, "where /sys is (fixture trees)");
    app.add_option("--proc-root", g.proc_root, "where /proc is");
    app.add_option("--root", g.root, "where / is for config files (/etc, /run, /dev/shm)");
    app.add_option("--pci-ids", g.pci_ids, "pci.ids file (path under --root)");
    app.add_flag("--json", g.json, "machine-readable output");
    app.add_flag("--dry-run", g.dry_run, "print the writes in order; change nothing");

    auto* groups = app.add_subcommand("groups", "IOMMU groups and whether each can be passed");

    std::vector<std::string> bdfs;
    BindOptions bind_options;
    auto* bind = app.add_subcommand(
        "bind", "move devices to vfio-pci (whole group, RMRR and what the host loses checked)");
    bind->add_option("bdf", bdfs, "PCI addresses")->required();
    bind->add_flag("--with-group", bind_options.with_group, "also bind group-mates");
    bind->add_flag("--with-functions", bind_options.with_functions,
                   "also bind the card's other functions (HDMI audio, USB-C)");
    bind->add_flag("--force", bind_options.force,
                   "take it even when the host needs it (root disk, only keyboard, default "
                   "route, its display) or the firmware pins it (RMRR)");
    auto* unbind = app.add_subcommand("unbind", "return devices to their host drivers");
    unbind->add_option("bdf", bdfs, "PCI addresses")->required();

    bool apply = false;
    bool persist_chroot = false;
    PersistOptions persist_options;
    auto* persist = app.add_subcommand("persist", "boot configuration for vfio-pci");
    persist->add_option("bdf", bdfs, "devices to give vfio-pci at boot");
    persist->add_flag("--apply", apply,
                      "write the files (atomically, old ones kept as .porthole-bak) and run the "
                      "commands (only listed when --root is another system)");
    persist->add_option("--hugepages", persist_options.hugepages,
                        "reserve guest RAM as huge pages at boot, e.g. 16G");
    persist->add_option("--page", persist_options.hugepage_size,
                        "huge page size: 2M or 1G (default: 1G when the CPU has it)");
    persist->add_flag("--force", persist_options.force,
                      "give vfio-pci devices the host needs (root disk, only keyboard, default "
                      "route, only GPU) anyway");
    persist->add_flag("--chroot", persist_chroot,
                      "with --root: run the commands inside it (chroot ROOT ...)");

    PinArgs pin_args;
    auto* pin = app.add_subcommand("pin", "CPU pinning plan, live pinning, host isolation");
    pin->add_option("--vcpus", pin_args.vcpus, "guest vCPUs");
    pin->add_option("--host-cores", pin_args.host_cores,
                    "whole cores kept for the host (from core 0)");
    pin->add_option("--iothreads", pin_args.iothreads, "iothreads (pinned with the emulator)");
    pin->add_option("--qmp", pin_args.qmp, "QMP socket of a running VM: pin its vCPU threads now");
    pin->add_option("--qemu-pid", pin_args.qemu_pid,
                    "with --qmp: also pin QEMU's other (emulator) threads to the host CPUs");
    pin->add_flag("--isolate", pin_args.isolate, "confine host slices to the host CPUs");
    pin->add_flag("--undo-isolation", pin_args.undo, "give the host every CPU back");

    UsbArgs usb_args;
    auto* usb = app.add_subcommand(
        "usb", "give host USB devices (controllers, headsets, wheels) to a running VM over QMP");
    usb->require_subcommand(1);
    auto* usb_list = usb->add_subcommand(
        "list", "this host's USB devices, and with --vm or --qmp the VM's usb-host devices");
    auto* usb_attach =
        usb->add_subcommand("attach", "give a USB device to the VM (QEMU takes it from the host)");
    auto* usb_detach = usb->add_subcommand("detach", "give a USB device back to the host");
    for (auto* sub : {usb_list, usb_attach, usb_detach}) {
        sub->add_option("--vm", usb_args.vm, "the VM's name (QMP socket /run/porthole/NAME.qmp)");
        sub->add_option("--qmp", usb_args.qmp, "the VM's QMP socket (unix:PATH or PATH)");
    }
    usb_attach
        ->add_option("device", usb_args.device,
                     "vendor:product in hex (046d:c52b, as lsusb shows) or bus-port "
                     "(3-1.2, as usb list shows)")
        ->required();
    usb_detach->add_option("device", usb_args.device, "as given to attach, or the device's QEMU id")
        ->required();

    HugepageArgs hp_args;
    auto* hugepages = app.add_subcommand("hugepages", "reserve or release huge pages");
    hugepages->require_subcommand(1);
    auto* reserve = hugepages->add_subcommand("reserve", "grow the pool by SIZE");
    auto* release =
        hugepages->add_subcommand("release", "shrink the pool by SIZE (all if omitted)");
    for (auto* sub : {reserve, release}) {
        sub->add_option("size", hp_args.size, "e.g. 16G");
        sub->add_option("--page", hp_args.page, "2M or 1G (default: 1G when the CPU has it)");
        sub->add_option("--node", hp_args.node, "NUMA node");
    }

    SnippetOptions snip;
    HookOptions hook;
    std::string hook_program_path;
    auto* libvirt = app.add_subcommand("libvirt", "libvirt XML snippets and hooks");
    libvirt->require_subcommand(1);
    auto* snippets = libvirt->add_subcommand("snippets", "print domain XML snippets");
    snippets->add_option("--width", snip.width, "guest resolution width");
    snippets->add_option("--height", snip.height, "guest resolution height");
    auto* snippet_page = snippets->add_option(
        "--page", snip.page_size, "huge page size: 2M or 1G (default: 1G when the CPU has it)");
    snippets->add_option("--vendor-id", snip.vendor_id, "hyperv vendor_id (<= 12 chars)");
    snippets->add_option("--vcpus", snip.vcpus, "vCPUs (queues)");
    snippets->add_option("--iothreads", snip.iothreads, "iothreads");
    snippets->add_option("--uid", snip.pipewire_uid, "uid whose PipeWire gets the audio");
    auto* snippet_doorbell = add_doorbell_option(snippets, snip.doorbell_socket);
    auto* hooks = libvirt->add_subcommand("hooks", "install the hook dispatcher and VM hooks");
    hooks->add_option("--vm", hook.vm, "libvirt domain name")->required();
    hooks->add_option("--bdf", hook.bdfs, "devices to bind on prepare, restore on release");
    hooks->add_option("--hugepages", hook.hugepages, "guest RAM to reserve, e.g. 16G");
    hooks->add_option("--page", hook.hugepage_size,
                      "huge page size: 2M or 1G (default: 1G when the CPU has it)");
    hooks->add_option("--isolate-vcpus", hook.isolate_vcpus, "isolate the host from N vCPUs");
    hooks->add_option("--host-cores", hook.host_cores, "cores kept for the host");
    hooks->add_option("--program", hook_program_path,
                      "porthole-vfio path the hooks call (default: this program's own path)");
    hooks->add_flag("--force", hook.force,
                    "replace hook files porthole-vfio did not write (kept as .porthole-bak)");

    RegionRuleOptions region_options;
    auto* region = app.add_subcommand(
        "region", "let the desktop user and QEMU share the region file (a tmpfiles.d rule)");
    region->add_option("--user", region_options.user, "the desktop user who runs porthole")
        ->required();
    region->add_option("--vm", region_options.vm,
                       "libvirt domain whose <shmem name> names the file");
    region->add_option("--path", region_options.path,
                       "the region file (default /dev/shm/porthole, or the VM's)");
    region->add_option("--group", region_options.group,
                       "group QEMU runs as (default: qemu.conf's, else libvirt-qemu, qemu, kvm)");

    std::string rom_bdf, rom_file;
    auto* rom = app.add_subcommand("rom", "list a GPU option ROM's images (UEFI or not)");
    rom->add_option("bdf", rom_bdf, "GPU address");
    rom->add_option("--file", rom_file, "a dumped ROM file instead");

    DoctorOptions doc;
    bool no_rom = false;
    auto* doctor = app.add_subcommand(
        "doctor", "every check, pass / warn / fail with the fix; reads only (unless --rom)");
    doctor->add_option("--region", doc.region_path, "the shared region file");
    doctor->add_option("--width", doc.width, "resolution the region must hold");
    doctor->add_option("--height", doc.height, "resolution the region must hold");
    doctor->add_flag("--rom", doc.read_roms,
                     "also read the GPUs' option ROMs (enables each ROM for a moment: a write)");
    doctor->add_flag("--no-rom", no_rom, "deprecated: ROMs are only read with --rom");
    std::string doctor_domain, doctor_xml, doctor_connect;
    auto* doctor_domain_opt =
        doctor->add_option("--domain", doctor_domain, "also check this libvirt domain");
    doctor->add_option("--xml", doctor_xml, "also check the domain in this XML file")
        ->excludes(doctor_domain_opt);
    doctor->add_option("--connect", doctor_connect, "libvirt URI for --domain");

    // vm define / vm finish-install
    VmDefineArgs vm_args;
    std::string finish_name, finish_connect, finish_backups = kDomainBackupDir;
    bool vm_tpm = false, vm_secure_boot = false, vm_no_pin = false;
    CLI::Option* vm_doorbell = nullptr;
    auto* vm = app.add_subcommand("vm", "a complete libvirt domain for a passthrough VM");
    vm->require_subcommand(1);
    auto* vm_define = vm->add_subcommand(
        "define", "print (or with --apply, define) the libvirt domain for a passthrough VM");
    {
        VmOptions& v = vm_args.vm;
        vm_define->add_option("name", v.name, "the domain's name")->required();
        vm_define
            ->add_option("--gpu", v.gpu,
                         "the GPU's PCI address (its other functions follow), or none")
            ->required();
        vm_define->add_option("--memory", v.memory, "guest RAM")->capture_default_str();
        vm_define->add_option("--vcpus", v.vcpus, "vCPUs (whole cores, pinned)")
            ->capture_default_str();
        vm_define->add_option("--host-cores", v.host_cores, "whole cores kept for the host")
            ->capture_default_str();
        vm_define->add_flag("--no-pin", vm_no_pin, "no <cputune>: leave vCPUs unpinned");
        vm_define->add_option("--disk", v.disk, "image file or block device (virtio)");
        vm_define->add_option("--iso", v.iso,
                              "installer ISO: install mode (SPICE + QXL, cdrom boots first)");
        vm_define->add_option("--virtio-iso", v.virtio_iso, "virtio-win driver ISO (install mode)");
        vm_define
            ->add_option("--network", v.network, "default | bridge:BR | macvtap:IF | user | none")
            ->capture_default_str();
        vm_define->add_option("--width", v.width, "largest guest resolution: width")
            ->capture_default_str();
        vm_define->add_option("--height", v.height, "largest guest resolution: height")
            ->capture_default_str();
        vm_define->add_option("--page", v.page,
                              "huge page size: 2M, 1G or none (default: the reserved pool's)");
        vm_define->add_option("--rom", v.rom, "GPU option ROM file (<rom file>)");
        vm_define->add_option("--os", v.os, "win11 | win10 | linux")->capture_default_str();
        vm_define->add_flag("--tpm,!--no-tpm", vm_tpm,
                            "a TPM 2.0 emulated by swtpm (default: on for win11)");
        vm_define->add_flag("--secure-boot,!--no-secure-boot", vm_secure_boot,
                            "OVMF with Secure Boot (default: on for win11)");
        vm_define->add_option("--shm-name", v.shm_name, "the region: /dev/shm/NAME")
            ->capture_default_str();
        vm_define->add_option("--qmp", v.qmp, "QMP socket path (default /run/porthole/NAME.qmp)");
        vm_define->add_option("--vendor-id", v.vendor_id, "Hyper-V vendor_id (<= 12 characters)")
            ->capture_default_str();
        vm_define
            ->add_option("--virt-type", v.virt_type,
                         "auto (kvm when /dev/kvm exists) | kvm | qemu (TCG)")
            ->capture_default_str();
        vm_define->add_option("--kernel", v.kernel, "direct kernel boot, no firmware (Linux)");
        vm_define->add_option("--initrd", v.initrd, "initrd for --kernel");
        vm_define->add_option("--cmdline", v.cmdline, "kernel command line for --kernel");
        vm_define->add_option("--serial-log", v.serial_log, "the guest's serial console to a file");
        vm_define->add_option("--input-bus", v.input_bus,
                              "tablet for QMP input: usb (Windows default) or virtio");
        vm_doorbell = add_doorbell_option(vm_define, v.doorbell);
        vm_define->add_flag("--apply", vm_args.apply, "define it with virsh instead of printing");
        vm_define->add_flag("--force", vm_args.force,
                            "with --apply: replace a domain of the same name (backed up)");
        vm_define->add_option("--connect", vm_args.connect,
                              "libvirt URI (default: LIBVIRT_DEFAULT_URI, else virsh's)");
        vm_define
            ->add_option("--backup-dir", vm_args.backup_dir,
                         "where --force keeps the replaced domain's XML")
            ->capture_default_str();
    }
    auto* vm_finish = vm->add_subcommand(
        "finish-install", "take the install mode (SPICE, QXL, installer cdroms) out of a domain");
    vm_finish->add_option("name", finish_name, "the domain's name")->required();
    vm_finish->add_option("--connect", finish_connect, "libvirt URI");
    vm_finish->add_option("--backup-dir", finish_backups, "where the old XML is kept")
        ->capture_default_str();

    if (auto code = packaging::print_docs_if_asked(app, args, man_docs(), out, err)) return *code;
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    try {
        app.parse(reversed);
    } catch (const CLI::ParseError& e) {
        return app.exit(e, out, err) == 0 ? 0 : 2;
    }

    Roots roots{g.sysfs_root, g.proc_root, g.root};
    System sys(roots, make_backend(roots, g.dry_run));
    PciIds ids = PciIds::load(sys, g.pci_ids);

    Result<Output> result = Error::make("no command");
    if (groups->parsed()) {
        result = cmd_groups(sys, ids);
    } else if (bind->parsed()) {
        result = cmd_bind(sys, ids, bdfs, bind_options);
    } else if (unbind->parsed()) {
        result = cmd_unbind(sys, ids, bdfs);
    } else if (persist->parsed()) {
        persist_options.bdfs = bdfs;
        sys.set_chroot_commands(persist_chroot);
        result = cmd_persist(sys, ids, persist_options, apply);
    } else if (pin->parsed()) {
        if (!pin_args.undo && pin_args.vcpus <= 0) {
            result = Error::make("give --vcpus N (or --undo-isolation)");
        } else {
            result = cmd_pin(sys, pin_args);
        }
    } else if (usb_list->parsed()) {
        result = cmd_usb_list(sys, usb_args);
    } else if (usb_attach->parsed() || usb_detach->parsed()) {
        result = cmd_usb_change(sys, usb_args, usb_attach->parsed());
    } else if (reserve->parsed() || release->parsed()) {
        result = cmd_hugepages(sys, hp_args, reserve->parsed());
    } else if (snippets->parsed()) {
        if (snippet_page->count() == 0) snip.page_size = page_size_text(default_page_kib(sys));
        if (snippet_doorbell->count() > 0 && snip.doorbell_socket.empty())
            snip.doorbell_socket = kDefaultDoorbellSocket;
        result = cmd_snippets(snip);
    } else if (hooks->parsed()) {
        result = cmd_hooks(sys, hook, hook_program_path);
    } else if (region->parsed()) {
        result = cmd_region(sys, region_options);
    } else if (rom->parsed()) {
        if (rom_bdf.empty() == rom_file.empty()) {
            result = Error::make("give either a BDF or --file");
        } else {
            result = cmd_rom(sys, rom_bdf, rom_file);
        }
    } else if (doctor->parsed()) {
        if (no_rom) {
            err << "note: --no-rom is deprecated: doctor reads option ROMs only with --rom\n";
        }
        const bool resolution_given = doctor->count("--width") > 0 || doctor->count("--height") > 0;
        if (no_rom && doc.read_roms) {
            result = Error::make("--rom and --no-rom contradict each other: give one");
        } else if (auto s = load_domain_for_doctor(doctor_domain, doctor_xml, doctor_connect,
                                                   resolution_given, doc);
                   !s) {
            result = s.error();
        } else {
            result = cmd_doctor(sys, ids, doc);
        }
    } else if (vm_define->parsed()) {
        if (vm_define->count("--tpm") + vm_define->count("--no-tpm") > 0) vm_args.vm.tpm = vm_tpm;
        if (vm_define->count("--secure-boot") + vm_define->count("--no-secure-boot") > 0)
            vm_args.vm.secure_boot = vm_secure_boot;
        vm_args.vm.pin = !vm_no_pin;
        if (vm_doorbell->count() > 0 && vm_args.vm.doorbell.empty())
            vm_args.vm.doorbell = kDefaultDoorbellSocket;
        result = cmd_vm_define(sys, ids, vm_args);
    } else if (vm_finish->parsed()) {
        result = cmd_vm_finish_install(sys, finish_name, finish_connect, finish_backups);
    }

    const bool show_actions = !doctor->parsed() && !rom->parsed();
    if (!result) {
        std::string msg = result.error().message;
        if (g.json) {
            json j = {{"ok", false}, {"error", msg}};
            if (show_actions) j["actions"] = actions_json(sys);
            out << dump_json(j) << "\n";
        } else {
            err << "error: " << msg << "\n";
            if (show_actions) err << actions_text(sys);
        }
        return 2;
    }
    if (g.json) {
        json j = result->data;
        j["ok"] = true;
        if (show_actions) {
            j["dry_run"] = g.dry_run;
            j["actions"] = actions_json(sys);
        }
        out << dump_json(j) << "\n";
    } else {
        out << result->text;
        if (show_actions) out << actions_text(sys);
        err << result->notes;
    }
    return result->code;
}

}  // namespace porthole::vfio
