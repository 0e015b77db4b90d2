#include "porthole/vfio/libvirt.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include <fmt/format.h>

#include "porthole/protocol/layout.hpp"
#include "porthole/vfio/hugepages.hpp"
#include "porthole/vfio/pci.hpp"
#include "porthole/vfio/shell.hpp"

namespace porthole::vfio {

uint64_t region_size_bytes(uint32_t width, uint32_t height) {
    return protocol::recommended_region_size(width, height, protocol::PixelFormat::bgra8);
}

namespace {

// `text` for a quoted attribute value; the quotes themselves were refused before.
std::string xml_attribute_text(std::string_view text) {
    std::string out;
    for (char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

}  // namespace

Status validate_doorbell_socket(std::string_view path) {
    auto bad = [&](std::string_view why) {
        return Error::make(fmt::format(
            "--doorbell '{}' {}: give the absolute path of porthole-ivshmem-server's socket "
            "(default {})",
            valid_utf8(path), why, kDefaultDoorbellSocket));
    };
    if (path.empty() || path.front() != '/') return bad("is not an absolute path");
    if (path.back() == '/') return bad("names a directory, not a socket");
    if (path.size() > 107) return bad("is longer than a UNIX socket path may be (107 bytes)");
    if (valid_utf8(path) != path) return bad("is not valid UTF-8");
    if (std::any_of(path.begin(), path.end(), [](char c) {
            auto u = static_cast<unsigned char>(c);
            return u < 0x20 || u == 0x7f;
        })) {
        return bad("holds a control character (newline, tab, ...)");
    }
    if (path.find_first_of("'\"\\") != std::string_view::npos) {
        return bad("holds a quote or a backslash (it goes into XML and a systemd unit)");
    }
    return {};
}

Result<std::vector<Snippet>> libvirt_snippets(const SnippetOptions& o) {
    if (o.width == 0 || o.height == 0 || o.width > 16384 || o.height > 16384) {
        return Error::make(
            fmt::format("resolution {}x{} is out of range (1..16384 per side)", o.width, o.height));
    }
    if (o.vendor_id.empty() || o.vendor_id.size() > 12) {
        return Error::make("hyperv vendor_id must be 1 to 12 characters");
    }
    // It is written into XML and QEMU's -cpu option: letters, digits, '-', '_' only.
    for (char c : o.vendor_id) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') {
            return Error::make(fmt::format(
                "hyperv vendor_id '{}' may hold only letters, digits, '-' and '_'", o.vendor_id));
        }
    }
    auto page_kib = parse_page_size(o.page_size);
    if (!page_kib) return page_kib.error();
    if (o.vcpus < 1) return Error::make("--vcpus must be at least 1");

    std::vector<Snippet> s;
    s.push_back({"memoryBacking", "guest RAM from the huge page pool (reserve it first)",
                 fmt::format("<memoryBacking>\n  <hugepages>\n    <page size='{}' unit='KiB'/>\n"
                             "  </hugepages>\n  <locked/>\n</memoryBacking>\n",
                             *page_kib)});
    s.push_back(
        {"features",
         "Hyper-V enlightenments for Windows; vendor_id and kvm hidden keep older NVIDIA "
         "drivers from refusing a VM (error 43); the in-kernel IOAPIC cuts interrupt latency",
         fmt::format("<features>\n"
                     "  <acpi/>\n  <apic/>\n"
                     "  <hyperv mode='custom'>\n"
                     "    <relaxed state='on'/>\n    <vapic state='on'/>\n"
                     "    <spinlocks state='on' retries='8191'/>\n"
                     "    <vpindex state='on'/>\n    <runtime state='on'/>\n"
                     "    <synic state='on'/>\n    <stimer state='on'/>\n"
                     "    <reset state='on'/>\n"
                     "    <vendor_id state='on' value='{}'/>\n"
                     "    <frequencies state='on'/>\n    <tlbflush state='on'/>\n"
                     "    <ipi state='on'/>\n"
                     "  </hyperv>\n"
                     "  <kvm>\n    <hidden state='on'/>\n  </kvm>\n"
                     "  <vmport state='off'/>\n"
                     "  <ioapic driver='kvm'/>\n"
                     "</features>\n"
                     "<clock offset='localtime'>\n"
                     "  <timer name='hypervclock' present='yes'/>\n"
                     "  <timer name='tsc' present='yes' mode='native'/>\n"
                     "</clock>\n",
                     o.vendor_id)});
    s.push_back({"disk",
                 "virtio-blk on its own iothread, or virtio-scsi with the controller on one",
                 fmt::format("<iothreads>{}</iothreads>\n"
                             "<disk type='block' device='disk'>\n"
                             "  <driver name='qemu' type='raw' cache='none' io='native' "
                             "discard='unmap' iothread='1' queues='{}'/>\n"
                             "  <source dev='/dev/disk/by-id/REPLACE-ME'/>\n"
                             "  <target dev='vda' bus='virtio'/>\n"
                             "</disk>\n"
                             "<controller type='scsi' index='0' model='virtio-scsi'>\n"
                             "  <driver iothread='1' queues='{}'/>\n"
                             "</controller>\n",
                             o.iothreads, o.vcpus, o.vcpus)});
    s.push_back({"interface", "virtio-net with one queue per vCPU (vhost in the kernel)",
                 fmt::format("<interface type='network'>\n"
                             "  <source network='default'/>\n"
                             "  <model type='virtio'/>\n"
                             "  <driver name='vhost' queues='{}'/>\n"
                             "</interface>\n",
                             o.vcpus)});
    s.push_back({"audio", "guest audio straight into the host's PipeWire (libvirt 9.0+)",
                 fmt::format("<sound model='ich9'>\n  <audio id='1'/>\n</sound>\n"
                             "<audio id='1' type='pipewire' runtimeDir='/run/user/{}'>\n"
                             "  <input mixingEngine='no'/>\n"
                             "  <output mixingEngine='no'/>\n"
                             "</audio>\n",
                             o.pipewire_uid)});
    uint64_t bytes = region_size_bytes(o.width, o.height);
    if (o.doorbell_socket.empty()) {
        s.push_back({"shmem",
                     fmt::format("the porthole region for {}x{} frames ({} MiB, a power of two as "
                                 "IVSHMEM requires); QEMU backs it with /dev/shm/porthole",
                                 o.width, o.height, bytes / (1024 * 1024)),
                     fmt::format("<shmem name='porthole'>\n"
                                 "  <model type='ivshmem-plain'/>\n"
                                 "  <size unit='M'>{}</size>\n"
                                 "</shmem>\n",
                                 bytes / (1024 * 1024))});
    } else {
        if (auto v = validate_doorbell_socket(o.doorbell_socket); !v) return v.error();
        // No <size>: libvirt refuses one beside <server>; the server's region file sets it.
        s.push_back(
            {"shmem",
             // Printed inside an XML comment by `libvirt snippets`: no "--" (XML forbids it).
             fmt::format("the porthole region for {}x{} frames with a doorbell: the guest rings "
                         "the client through the device's doorbell register, so the client "
                         "learns of a new frame by interrupt instead of polling. QEMU takes the "
                         "region and the doorbell from porthole-ivshmem-server once, when the VM "
                         "starts: the server must be running on {} before then, with the size the "
                         "plain region would have, {} MiB (its size option), and /dev/shm/porthole "
                         "as its region file. There is no <size>: the server's file sets it",
                         o.width, o.height, o.doorbell_socket, bytes / (1024 * 1024)),
             fmt::format("<shmem name='porthole'>\n"
                         "  <model type='ivshmem-doorbell'/>\n"
                         "  <server path='{}'/>\n"
                         "  <msi vectors='1' ioeventfd='on'/>\n"
                         "</shmem>\n",
                         xml_attribute_text(o.doorbell_socket))});
    }
    return s;
}

std::string hook_dispatcher_script() {
    return std::string("#!/bin/bash\n") + kHookMarker + R"SH(
# libvirt qemu hook dispatcher, installed by porthole-vfio.
# libvirt calls: qemu <vm> <phase> <sub-phase> <extra>; this runs every executable in
# /etc/libvirt/hooks/qemu.d/<vm>/<phase>/<sub-phase>/ in name order, stopping at the
# first failure so that a failed bind stops the VM from starting.
set -e
GUEST_NAME="$1"
HOOK_NAME="$2"
STATE_NAME="$3"
BASEDIR="$(dirname "$0")"
HOOKPATH="$BASEDIR/qemu.d/$GUEST_NAME/$HOOK_NAME/$STATE_NAME"
if [ -f "$HOOKPATH" ] && [ -x "$HOOKPATH" ]; then
    "$HOOKPATH" "$@"
elif [ -d "$HOOKPATH" ]; then
    while read -r file; do
        [ -n "$file" ] && "$file" "$@"
    done <<< "$(find -L "$HOOKPATH" -maxdepth 1 -type f -executable | sort)"
fi
)SH";
}

namespace {

// Ours: the marker, or the header lines earlier versions wrote.
bool written_by_us(std::string_view text) {
    return text.find(kHookMarker) != std::string_view::npos ||
           text.find("# libvirt qemu hook dispatcher, installed by porthole-vfio.") !=
               std::string_view::npos ||
           text.find("(porthole-vfio hook for ") != std::string_view::npos;
}

}  // namespace

Status validate_vm_name(std::string_view name) {
    auto bad = [&](const std::string& why) {
        return Error::make(
            fmt::format("--vm must be a libvirt domain name (as `virsh list --all` "
                        "shows it): {}",
                        why));
    };
    if (name.empty()) return bad("it is empty");
    if (name.size() > 251) return bad("longer than 251 bytes");
    if (name == "." || name == "..") return bad("'.' and '..' are directories, not names");
    if (name.find('/') != std::string_view::npos) return bad("it holds '/'");
    if (std::any_of(name.begin(), name.end(), [](char c) {
            auto u = static_cast<unsigned char>(c);
            return u < 0x20 || u == 0x7f;
        })) {
        return bad("it holds a control character (newline, tab, ...)");
    }
    return {};
}

Result<HookProgram> hook_program(const System& sys, const std::string& explicit_path,
                                 const std::string& self) {
    HookProgram p;
    p.path = explicit_path.empty() ? self : explicit_path;
    if (p.path.empty() || p.path.front() != '/') {
        return Error::make(fmt::format(
            "the porthole-vfio path in hooks must be absolute ('{}'): pass --program /usr/bin/...",
            valid_utf8(p.path)));
    }
    if (p.path.ends_with(" (deleted)")) {
        return Error::make(
            "the running porthole-vfio was deleted or replaced since it started: pass "
            "--program with the installed path");
    }
    if (std::any_of(p.path.begin(), p.path.end(),
                    [](char c) { return static_cast<unsigned char>(c) < 0x20; })) {
        return Error::make("the porthole-vfio path holds a control character");
    }
    // A build folder moves or is rebuilt: hooks pointing into one break later, as root.
    namespace fs = std::filesystem;
    std::error_code ec;
    for (fs::path dir = fs::path(p.path).parent_path(); !dir.empty() && dir != dir.root_path();
         dir = dir.parent_path()) {
        if (fs::exists(dir / "CMakeCache.txt", ec)) {
            p.warnings.push_back(fmt::format(
                "the hooks call {}, inside a build tree ({}): they break when it is rebuilt or "
                "removed. Install porthole-vfio (`cmake --install`, or the package) and run the "
                "installed one, or pass --program",
                p.path, dir.string()));
            break;
        }
    }
    if (!explicit_path.empty() && !sys.exists(p.path)) {
        p.warnings.push_back(fmt::format("{} does not exist{}: the hooks will fail until it does",
                                         p.path, sys.commands_run_here() ? "" : " under --root"));
    }
    if (explicit_path.empty() && !sys.commands_run_here()) {
        p.warnings.push_back(
            "--root is another system: the hooks name this machine's porthole-vfio; pass "
            "--program with its path in that system");
    }
    return p;
}

Result<std::vector<HookFile>> hook_files(const HookOptions& o) {
    if (auto s = validate_vm_name(o.vm); !s) return s.error();
    if (o.program.empty() || o.program.front() != '/') {
        return Error::make("the porthole-vfio path in hooks must be absolute");
    }
    std::vector<std::string> bdfs;
    for (const auto& b : o.bdfs) {
        auto n = normalize_bdf(b);
        if (!n) return n.error();
        bdfs.push_back(*n);
    }
    // Root runs these: every word is quoted, whatever the validation upstream allowed.
    auto command = [&](std::vector<std::string> args) {
        std::string line = shell_quote(o.program);
        for (const auto& a : args) {
            line += ' ';
            line += shell_quote(a);
        }
        return line;
    };
    std::vector<std::string> devices = bdfs;
    const std::string base = "/etc/libvirt/hooks/qemu.d/" + o.vm;
    auto script = [&](const std::string& what, const std::string& line) {
        return fmt::format("#!/bin/sh\n{}\n# {} (porthole-vfio hook for {})\nset -e\nexec {}\n",
                           kHookMarker, what, valid_utf8(o.vm), line);
    };
    auto with = [](std::string first, const std::vector<std::string>& rest) {
        std::vector<std::string> v{std::move(first)};
        v.insert(v.end(), rest.begin(), rest.end());
        return v;
    };
    std::vector<HookFile> files;
    files.push_back({"/etc/libvirt/hooks/qemu", hook_dispatcher_script()});
    if (!bdfs.empty()) {
        files.push_back(
            {base + "/prepare/begin/10-porthole-bind.sh",
             script("give the passed devices to vfio-pci", command(with("bind", devices)))});
    }
    if (!o.hugepages.empty()) {
        if (auto s = parse_size(o.hugepages); !s) return s.error();
        if (auto p = parse_page_size(o.hugepage_size); !p) return p.error();
        files.push_back(
            {base + "/prepare/begin/20-porthole-hugepages.sh",
             script("reserve the guest's RAM as huge pages",
                    command({"hugepages", "reserve", o.hugepages, "--page", o.hugepage_size}))});
    }
    if (o.isolate_vcpus > 0) {
        files.push_back(
            {base + "/started/begin/30-porthole-isolate.sh",
             script("keep host tasks off the guest's CPUs",
                    command({"pin", "--vcpus", std::to_string(o.isolate_vcpus), "--host-cores",
                             std::to_string(o.host_cores), "--isolate"}))});
        files.push_back(
            {base + "/release/end/10-porthole-isolate.sh",
             script("give the host all CPUs back", command({"pin", "--undo-isolation"}))});
    }
    if (!o.hugepages.empty()) {
        files.push_back(
            {base + "/release/end/20-porthole-hugepages.sh",
             script("return the huge pages",
                    command({"hugepages", "release", o.hugepages, "--page", o.hugepage_size}))});
    }
    if (!bdfs.empty()) {
        files.push_back(
            {base + "/release/end/30-porthole-unbind.sh",
             script("return the devices to their host drivers", command(with("unbind", devices)))});
    }
    return files;
}

Result<std::vector<HookFile>> install_hooks(System& sys, HookOptions options) {
    if (options.hugepage_size.empty()) {
        options.hugepage_size = page_size_text(default_page_kib(sys));
    }
    auto files = hook_files(options);
    if (!files) return files.error();
    // Decide for every file before writing any: a refusal leaves all of them as they were.
    std::vector<std::string> foreign;
    for (const auto& f : *files) {
        auto old = sys.read_if_exists(f.path);
        if (!old) return Error::make(old.error().message + "; nothing was written");
        if (*old && **old != f.content && !written_by_us(**old)) foreign.push_back(f.path);
    }
    if (!foreign.empty() && !options.force) {
        std::string list;
        for (const auto& p : foreign)
            list += (list.empty() ? "" : ", ") + p;
        return Error::make(fmt::format(
            "{} already exist{} and {} not written by porthole-vfio; nothing was replaced. Move "
            "your own hook into /etc/libvirt/hooks/qemu.d/<vm>/<phase>/<sub-phase>/ (the "
            "dispatcher runs every executable there), or pass --force to replace {} (the old "
            "content is kept beside it as .porthole-bak)",
            list, foreign.size() == 1 ? "s" : "", foreign.size() == 1 ? "was" : "were",
            foreign.size() == 1 ? "it" : "them"));
    }
    for (const auto& f : *files) {
        if (auto s = sys.write_file(f.path, f.content, 0755); !s) return s.error();
    }
    return files;
}

}  // namespace porthole::vfio
