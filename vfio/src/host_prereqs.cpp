#include "porthole/vfio/host_prereqs.hpp"

#include <fnmatch.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "porthole/util/unique_fd.hpp"
#include "porthole/vfio/host.hpp"

namespace porthole::vfio {

namespace {

using nlohmann::json;

std::string join(const std::vector<std::string>& v, const std::string& sep) {
    std::string out;
    for (const auto& s : v)
        out += (out.empty() ? "" : sep) + s;
    return out;
}

// os-release values may be quoted; the file is shell-like.
std::map<std::string, std::string> read_os_release(const System& sys) {
    std::map<std::string, std::string> out;
    auto text = sys.read("/etc/os-release");
    if (!text) text = sys.read("/usr/lib/os-release");
    if (!text) return out;
    for (const auto& line : split(*text, "\n")) {
        auto eq = line.find('=');
        if (eq == std::string::npos || line.starts_with("#")) continue;
        std::string value = trim(line.substr(eq + 1));
        if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
            value.back() == value.front()) {
            value = value.substr(1, value.size() - 2);
        }
        out[trim(line.substr(0, eq))] = value;
    }
    return out;
}

Distro distro_of_id(const std::string& id) {
    if (id == "debian" || id == "ubuntu" || id == "linuxmint" || id == "pop" || id == "raspbian")
        return Distro::Debian;
    if (id == "fedora" || id == "rhel" || id == "centos" || id == "rocky" || id == "almalinux" ||
        id == "nobara")
        return Distro::Fedora;
    if (id == "arch" || id == "manjaro" || id == "endeavouros" || id == "garuda" || id == "cachyos")
        return Distro::Arch;
    return Distro::Unknown;
}

// The first of `paths` that exists under the root.
std::optional<std::string> first_existing(const System& sys,
                                          std::initializer_list<const char*> paths) {
    for (const char* p : paths) {
        if (sys.exists(p)) return std::string(p);
    }
    return std::nullopt;
}

bool socket_answers(const System& sys, const std::string& logical) {
    const std::string path = sys.physical(logical).string();
    sockaddr_un addr{};
    if (path.size() >= sizeof(addr.sun_path)) return false;
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return false;
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    return ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0;
}

bool pid_file_alive(const System& sys, const std::string& logical) {
    auto text = sys.read_trimmed(logical);
    if (!text || text->empty() || text->size() > 10 ||
        !std::all_of(text->begin(), text->end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return false;
    }
    return sys.exists("/proc/" + *text);
}

// QEMU's descriptor search: /etc overrides /usr/share file by file (an empty file masks).
std::vector<std::string> descriptor_files(const System& sys) {
    std::map<std::string, std::string> by_name;
    for (const char* dir : {"/usr/share/qemu/firmware", "/etc/qemu/firmware"}) {
        for (const auto& name : sys.list(dir)) {
            if (name.ends_with(".json")) by_name[name] = std::string(dir) + "/" + name;
        }
    }
    std::vector<std::string> out;
    for (const auto& [name, path] : by_name)
        out.push_back(path);
    return out;
}

bool has(const json& array, const std::string& value) {
    if (!array.is_array()) return false;
    return std::any_of(array.begin(), array.end(), [&](const json& v) {
        return v.is_string() && v.get<std::string>() == value;
    });
}

std::optional<Firmware> parse_descriptor(const System& sys, const std::string& path) {
    auto text = sys.read(path);
    if (!text || trim(*text).empty()) return std::nullopt;
    json d = json::parse(*text, nullptr, false);
    if (d.is_discarded() || !d.is_object()) return std::nullopt;
    if (!has(d.value("interface-types", json::array()), "uefi")) return std::nullopt;
    bool q35 = false;
    for (const auto& t : d.value("targets", json::array())) {
        if (!t.is_object() || t.value("architecture", "") != "x86_64") continue;
        for (const auto& m : t.value("machines", json::array())) {
            if (m.is_string() && ::fnmatch(m.get<std::string>().c_str(), "pc-q35-7.2", 0) == 0)
                q35 = true;
        }
    }
    if (!q35) return std::nullopt;
    const json mapping = d.value("mapping", json::object());
    // Split raw flash only: what the <loader type='pflash'>/<nvram template> pair expresses.
    if (!mapping.is_object() || mapping.value("device", "") != "flash" ||
        mapping.value("mode", "split") != "split") {
        return std::nullopt;
    }
    const json exe = mapping.value("executable", json::object());
    const json nv = mapping.value("nvram-template", json::object());
    if (!exe.is_object() || !nv.is_object() || exe.value("format", "raw") != "raw" ||
        nv.value("format", "raw") != "raw") {
        return std::nullopt;
    }
    Firmware f;
    f.code = exe.value("filename", "");
    f.vars = nv.value("filename", "");
    if (f.code.empty() || f.vars.empty() || f.code.front() != '/' || f.vars.front() != '/')
        return std::nullopt;
    const json features = d.value("features", json::array());
    // Confidential-computing builds cannot boot an ordinary guest.
    for (const char* cc : {"amd-sev-es", "amd-sev-snp", "intel-tdx"}) {
        if (has(features, cc)) return std::nullopt;
    }
    f.secure_boot = has(features, "secure-boot");
    f.enrolled_keys = has(features, "enrolled-keys");
    f.requires_smm = has(features, "requires-smm");
    f.source = path;
    if (!sys.exists(f.code) || !sys.exists(f.vars)) return std::nullopt;
    return f;
}

struct KnownFirmware {
    const char* code;
    const char* vars;
    bool secure_boot;
    bool enrolled_keys;
};

// Where Debian, Fedora and Arch put OVMF, for hosts without descriptors.
constexpr KnownFirmware kKnownFirmware[] = {
    // Debian / Ubuntu (ovmf)
    {"/usr/share/OVMF/OVMF_CODE_4M.ms.fd", "/usr/share/OVMF/OVMF_VARS_4M.ms.fd", true, true},
    {"/usr/share/OVMF/OVMF_CODE_4M.secboot.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd", true, false},
    {"/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd", false, false},
    {"/usr/share/OVMF/OVMF_CODE.secboot.fd", "/usr/share/OVMF/OVMF_VARS.ms.fd", true, true},
    {"/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/OVMF/OVMF_VARS.fd", false, false},
    // Fedora (edk2-ovmf)
    {"/usr/share/edk2/ovmf/OVMF_CODE.secboot.fd", "/usr/share/edk2/ovmf/OVMF_VARS.secboot.fd", true,
     true},
    {"/usr/share/edk2/ovmf/OVMF_CODE.fd", "/usr/share/edk2/ovmf/OVMF_VARS.fd", false, false},
    // Arch (edk2-ovmf): no template with enrolled keys
    {"/usr/share/edk2/x64/OVMF_CODE.secboot.4m.fd", "/usr/share/edk2/x64/OVMF_VARS.4m.fd", true,
     false},
    {"/usr/share/edk2/x64/OVMF_CODE.4m.fd", "/usr/share/edk2/x64/OVMF_VARS.4m.fd", false, false},
    {"/usr/share/edk2-ovmf/x64/OVMF_CODE.secboot.fd", "/usr/share/edk2-ovmf/x64/OVMF_VARS.fd", true,
     false},
    {"/usr/share/edk2-ovmf/x64/OVMF_CODE.fd", "/usr/share/edk2-ovmf/x64/OVMF_VARS.fd", false,
     false},
};

const PackageNames kQemuPackages{"qemu-system-x86", "qemu-kvm", "qemu-desktop"};
const PackageNames kLibvirtPackages{"libvirt-daemon-system", "libvirt-daemon-kvm", "libvirt"};
const PackageNames kOvmfPackages{"ovmf", "edk2-ovmf", "edk2-ovmf"};
const PackageNames kSwtpmPackages{"swtpm swtpm-tools", "swtpm swtpm-tools", "swtpm"};
const PackageNames kDnsmasqPackages{"dnsmasq-base", "dnsmasq", "dnsmasq"};

}  // namespace

Distro detect_distro(const System& sys) {
    auto os = read_os_release(sys);
    if (auto d = distro_of_id(os["ID"]); d != Distro::Unknown) return d;
    for (const auto& like : split(os["ID_LIKE"])) {
        if (auto d = distro_of_id(like); d != Distro::Unknown) return d;
    }
    return Distro::Unknown;
}

std::string install_command(Distro distro, const PackageNames& p) {
    switch (distro) {
        case Distro::Debian:
            return "apt install " + p.debian;
        case Distro::Fedora:
            return "dnf install " + p.fedora;
        case Distro::Arch:
            return "pacman -S " + p.arch;
        case Distro::Unknown:
            break;
    }
    return fmt::format(
        "install it (Debian/Ubuntu: apt install {}; Fedora: dnf install {}; Arch: "
        "pacman -S {})",
        p.debian, p.fedora, p.arch);
}

std::vector<Firmware> find_ovmf(const System& sys) {
    std::vector<Firmware> out;
    const auto descriptors = descriptor_files(sys);
    for (const auto& path : descriptors) {
        if (auto f = parse_descriptor(sys, path)) out.push_back(*f);
    }
    // Where descriptors exist they are the distribution's (and the admin's) word,
    // masking included: the known paths are for hosts without any.
    if (!descriptors.empty()) return out;
    for (const auto& k : kKnownFirmware) {
        if (!sys.exists(k.code) || !sys.exists(k.vars)) continue;
        out.push_back(
            {k.code, k.vars, k.secure_boot, k.enrolled_keys, k.secure_boot, "known path"});
    }
    return out;
}

Result<Firmware> choose_ovmf(const System& sys, bool secure_boot) {
    auto all = find_ovmf(sys);
    auto pick = [&](auto pred) -> std::optional<Firmware> {
        for (const auto& f : all) {
            if (pred(f)) return f;
        }
        return std::nullopt;
    };
    std::optional<Firmware> f;
    if (secure_boot) {
        f = pick([](const Firmware& x) { return x.secure_boot && x.enrolled_keys; });
        if (!f) f = pick([](const Firmware& x) { return x.secure_boot; });
        if (!f) {
            return Error::make(
                fmt::format("no OVMF build with Secure Boot found (looked in QEMU's firmware "
                            "descriptors and the Debian, Fedora and Arch paths): {}; or give "
                            "--no-secure-boot",
                            install_command(detect_distro(sys), kOvmfPackages)));
        }
        return *f;
    }
    f = pick([](const Firmware& x) { return !x.secure_boot; });
    if (!f && !all.empty()) f = all.front();
    if (!f) {
        return Error::make(fmt::format(
            "no OVMF (UEFI firmware for VMs) found in QEMU's firmware descriptors or the Debian, "
            "Fedora and Arch paths: {}",
            install_command(detect_distro(sys), kOvmfPackages)));
    }
    return *f;
}

std::vector<Finding> check_host_prerequisites(const System& sys, const PrereqOptions& options) {
    std::vector<Finding> out;
    auto add = [&](std::string check, Level level, std::string detail, std::string fix = {}) {
        out.push_back({std::move(check), level, std::move(detail), std::move(fix)});
    };
    const Distro distro = detect_distro(sys);
    const CpuVendor vendor = read_host_info(sys).vendor;

    if (auto qemu =
            first_existing(sys, {"/usr/bin/qemu-system-x86_64", "/usr/libexec/qemu-kvm",
                                 "/usr/local/bin/qemu-system-x86_64", "/bin/qemu-system-x86_64"})) {
        add("qemu", Level::Pass, "QEMU is installed (" + *qemu + ")");
    } else {
        add("qemu", Level::Fail, "QEMU for x86_64 guests is not installed",
            install_command(distro, kQemuPackages));
    }

    if (sys.exists("/dev/kvm")) {
        add("kvm-device", Level::Pass, "/dev/kvm exists: guests run with hardware acceleration");
    } else {
        add("kvm-device", Level::Fail,
            "/dev/kvm is missing: the kvm module is not loaded, so a VM would run emulated (TCG), "
            "far too slow for a game and impossible with a passed GPU",
            fmt::format("enable {} in the firmware setup, then `modprobe {}`",
                        vendor == CpuVendor::Amd ? "AMD-V (SVM)" : "VT-x",
                        vendor == CpuVendor::Amd     ? "kvm_amd"
                        : vendor == CpuVendor::Intel ? "kvm_intel"
                                                     : "kvm_intel` or `kvm_amd"));
    }

    auto daemon = first_existing(sys, {"/usr/sbin/libvirtd", "/usr/sbin/virtqemud",
                                       "/usr/bin/libvirtd", "/usr/local/sbin/libvirtd"});
    std::string start = distro == Distro::Fedora ? "systemctl enable --now virtqemud.socket"
                                                 : "systemctl enable --now libvirtd";
    if (!daemon) {
        add("libvirtd", Level::Fail, "libvirt's daemon is not installed",
            install_command(distro, kLibvirtPackages) + ", then `" + start + "`");
    } else {
        std::vector<std::string> reached;
        for (const char* s : {"/run/libvirt/libvirt-sock", "/run/libvirt/virtqemud-sock",
                              "/var/run/libvirt/libvirt-sock"}) {
            if (socket_answers(sys, s)) reached.push_back(s);
        }
        bool pid =
            pid_file_alive(sys, "/run/libvirtd.pid") || pid_file_alive(sys, "/run/virtqemud.pid");
        if (!reached.empty()) {
            add("libvirtd", Level::Pass, "libvirt answers on " + reached.front());
        } else if (pid) {
            add("libvirtd", Level::Warn,
                "libvirtd is running but its socket /run/libvirt/libvirt-sock does not answer",
                "check `journalctl -u libvirtd` (or `virsh -c qemu:///system version`)");
        } else {
            add("libvirtd", Level::Fail,
                fmt::format("libvirt is installed ({}) but not running: nothing answers on "
                            "/run/libvirt/libvirt-sock",
                            *daemon),
                "`" + start + "`");
        }
    }

    auto firmware = find_ovmf(sys);
    if (firmware.empty()) {
        add("ovmf", Level::Fail,
            "no OVMF (UEFI firmware for VMs) in QEMU's firmware descriptors or the Debian, Fedora "
            "and Arch paths: a GPU's UEFI driver and Windows 11 need UEFI",
            install_command(distro, kOvmfPackages));
    } else {
        auto secure = std::find_if(firmware.begin(), firmware.end(),
                                   [](const Firmware& f) { return f.secure_boot; });
        auto plain = std::find_if(firmware.begin(), firmware.end(),
                                  [](const Firmware& f) { return !f.secure_boot; });
        std::string detail = "UEFI firmware " + (plain != firmware.end() ? plain : secure)->code;
        if (secure == firmware.end()) {
            add("ovmf", Level::Warn, detail + "; no Secure Boot build, which Windows 11 requires",
                install_command(distro, kOvmfPackages) + " (a build with Secure Boot)");
        } else {
            add("ovmf", Level::Pass,
                detail + fmt::format("; Secure Boot build {}{}", secure->code,
                                     secure->enrolled_keys ? " with Microsoft keys enrolled" : ""));
        }
    }

    bool swtpm = sys.exists("/usr/bin/swtpm") || sys.exists("/usr/local/bin/swtpm");
    bool setup = sys.exists("/usr/bin/swtpm_setup") || sys.exists("/usr/local/bin/swtpm_setup");
    if (swtpm && setup) {
        add("swtpm", Level::Pass, "swtpm can emulate the TPM 2.0 Windows 11 asks for");
    } else {
        std::string missing = join(
            [&] {
                std::vector<std::string> m;
                if (!swtpm) m.push_back("swtpm");
                if (!setup) m.push_back("swtpm_setup");
                return m;
            }(),
            " and ");
        add("swtpm", options.tpm ? Level::Fail : Level::Warn,
            missing +
                " missing: libvirt cannot start a VM with an emulated TPM (Windows 11 needs "
                "one)",
            install_command(distro, kSwtpmPackages));
    }

    const Level net_level = options.default_network ? Level::Fail : Level::Warn;
    const std::string net_xml = "/etc/libvirt/qemu/networks/default.xml";
    if (!sys.exists(net_xml)) {
        add("libvirt-default-network", net_level,
            "libvirt's NAT network 'default' is not defined (" + net_xml + " missing)",
            "`virsh net-define /usr/share/libvirt/networks/default.xml && virsh net-autostart "
            "default && virsh net-start default`, or use a bridge (`vm define --network "
            "bridge:br0`)");
    } else if (!sys.exists("/usr/sbin/dnsmasq") && !sys.exists("/usr/bin/dnsmasq")) {
        add("libvirt-default-network", net_level,
            "the network 'default' is defined but dnsmasq, which serves its addresses, is "
            "missing",
            install_command(distro, kDnsmasqPackages));
    } else if (!sys.exists("/etc/libvirt/qemu/networks/autostart/default.xml")) {
        add("libvirt-default-network", Level::Warn,
            "the network 'default' is defined but does not start with libvirt: a VM using it "
            "fails to start until it is started",
            "`virsh net-autostart default && virsh net-start default`");
    } else {
        add("libvirt-default-network", Level::Pass,
            "libvirt's NAT network 'default' is defined and starts with libvirt");
    }
    return out;
}

}  // namespace porthole::vfio
