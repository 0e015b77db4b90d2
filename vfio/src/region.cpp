#include "porthole/vfio/region.hpp"

#include <algorithm>
#include <sstream>

#include <fmt/format.h>

#include "porthole/vfio/libvirt.hpp"

namespace porthole::vfio {

namespace {

// Field `index` (0-based) of the colon-separated line of /etc/passwd or /etc/group
// whose first field is `name`.
std::optional<std::string> db_field(const System& sys, const std::string& file,
                                    const std::string& name, std::size_t index) {
    auto text = sys.read_if_exists(file);
    if (!text || !*text) return std::nullopt;
    std::istringstream lines(**text);
    for (std::string line; std::getline(lines, line);) {
        if (line.empty() || line.front() == '#') continue;
        std::vector<std::string> fields;
        std::stringstream in(line);
        for (std::string f; std::getline(in, f, ':');)
            fields.push_back(f);
        if (fields.size() > index && fields[0] == name) return fields[index];
    }
    return std::nullopt;
}

bool group_exists(const System& sys, const std::string& group) {
    return db_field(sys, "/etc/group", group, 0).has_value();
}

// `key = "value"` from libvirt's qemu.conf, ignoring comments.
std::optional<std::string> qemu_conf_value(const System& sys, const std::string& key) {
    auto text = sys.read_if_exists("/etc/libvirt/qemu.conf");
    if (!text || !*text) return std::nullopt;
    std::istringstream lines(**text);
    for (std::string line; std::getline(lines, line);) {
        const std::string t = trim(line);
        if (!t.starts_with(key)) continue;
        std::string rest = trim(std::string_view(t).substr(key.size()));
        if (rest.empty() || rest.front() != '=') continue;
        rest = trim(std::string_view(rest).substr(1));
        if (rest.size() >= 2 && rest.front() == '"' && rest.find('"', 1) != std::string::npos)
            return rest.substr(1, rest.find('"', 1) - 1);
    }
    return std::nullopt;
}

// A user or group name as tmpfiles.d and useradd accept it: no blanks, no colon, no
// control characters, not empty.
bool plain_name(const std::string& s) {
    return !s.empty() && s.size() <= 64 && std::none_of(s.begin(), s.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u <= 0x20 || u == 0x7f || c == ':' || c == '/' || c == '\\';
    });
}

// The <shmem name='X'> of a libvirt domain's XML.
Result<std::string> vm_region_path(const System& sys, const std::string& vm) {
    if (auto ok = validate_vm_name(vm); !ok) return ok.error();
    const std::string file = "/etc/libvirt/qemu/" + vm + ".xml";
    auto xml = sys.read_if_exists(file);
    if (!xml) return xml.error();
    if (!*xml) {
        return Error::make(
            fmt::format("no VM '{}': {} does not exist (define it first, or pass --path)",
                        valid_utf8(vm), file));
    }
    const std::string& text = **xml;
    const auto at = text.find("<shmem");
    if (at == std::string::npos) {
        return Error::make(fmt::format(
            "VM '{}' has no <shmem> device: add the one `porthole-vfio libvirt snippets` "
            "prints (`virsh edit {}`)",
            valid_utf8(vm), valid_utf8(vm)));
    }
    const auto end = text.find('>', at);
    const std::string tag =
        text.substr(at, end == std::string::npos ? std::string::npos : end - at);
    for (const char quote : {'\'', '"'}) {
        const std::string key = std::string("name=") + quote;
        const auto k = tag.find(key);
        if (k == std::string::npos) continue;
        const auto close = tag.find(quote, k + key.size());
        if (close == std::string::npos) break;
        const std::string name = tag.substr(k + key.size(), close - k - key.size());
        if (!plain_name(name)) break;
        return "/dev/shm/" + name;
    }
    return Error::make(fmt::format("VM '{}': cannot read the name of its <shmem> device in {}",
                                   valid_utf8(vm), file));
}

}  // namespace

std::optional<std::string> region_rule_line(const System& sys, const std::string& path) {
    auto text = sys.read_if_exists(kRegionRuleFile);
    if (!text || !*text) return std::nullopt;
    std::istringstream lines(**text);
    for (std::string line; std::getline(lines, line);) {
        auto fields = split(line);
        if (fields.size() >= 2 && !fields[0].starts_with("#") && fields[1] == path) return line;
    }
    return std::nullopt;
}

Result<RegionRule> plan_region_rule(const System& sys, const RegionRuleOptions& options) {
    RegionRule r;
    if (!plain_name(options.user)) {
        return Error::make("give the desktop user who runs porthole: --user NAME");
    }
    if (!db_field(sys, "/etc/passwd", options.user, 0)) {
        return Error::make(fmt::format("no user '{}' in /etc/passwd{}", valid_utf8(options.user),
                                       sys.commands_run_here() ? "" : " under --root"));
    }
    r.user = options.user;

    if (!options.path.empty()) {
        r.path = options.path;
    } else if (!options.vm.empty()) {
        auto p = vm_region_path(sys, options.vm);
        if (!p) return p.error();
        r.path = *p;
    } else {
        r.path = "/dev/shm/porthole";
    }
    if (r.path.front() != '/' || r.path.find("/../") != std::string::npos ||
        std::any_of(r.path.begin(), r.path.end(),
                    [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; })) {
        return Error::make(fmt::format("--path must be an absolute path without blanks, not '{}'",
                                       valid_utf8(r.path)));
    }
    if (r.path.starts_with("/dev/") && !r.path.starts_with("/dev/shm/")) {
        return Error::make(fmt::format(
            "{} is a device (kvmfr): the kernel makes it at every boot, so its owner and mode "
            "come from a udev rule, e.g. SUBSYSTEM==\"kvmfr\", OWNER=\"{}\", GROUP=\"kvm\", "
            "MODE=\"0660\" in /etc/udev/rules.d/99-kvmfr.rules",
            r.path, r.user));
    }

    // QEMU under libvirt runs with qemu.conf's group, whose built-in default is the
    // distribution's QEMU group: libvirt-qemu (Debian, Ubuntu), qemu (Fedora, Arch).
    if (!options.group.empty()) {
        r.group = options.group;
        r.group_source = "--group";
    } else if (auto g = qemu_conf_value(sys, "group")) {
        r.group = *g;
        r.group_source = "group in /etc/libvirt/qemu.conf";
    } else {
        for (const char* candidate : {"libvirt-qemu", "qemu", "kvm"}) {
            if (group_exists(sys, candidate)) {
                r.group = candidate;
                r.group_source = "libvirt's default QEMU group on this system";
                break;
            }
        }
        if (r.group.empty()) {
            return Error::make(
                "no QEMU group found (libvirt-qemu, qemu or kvm in /etc/group): install "
                "libvirt, or pass --group with the group QEMU runs as");
        }
    }
    if (!plain_name(r.group)) {
        return Error::make(fmt::format("'{}' is not a group name", valid_utf8(r.group)));
    }
    if (!group_exists(sys, r.group)) {
        return Error::make(
            fmt::format("no group '{}' in /etc/group ({})", valid_utf8(r.group), r.group_source));
    }
    if (auto u = qemu_conf_value(sys, "user"); u && *u == "root") {
        r.notes.push_back("qemu.conf runs QEMU as root: it can open the file whatever its owner");
    }

    if (!sys.exists("/usr/bin/systemd-tmpfiles") && !sys.exists("/bin/systemd-tmpfiles")) {
        r.notes.push_back(fmt::format(
            "systemd-tmpfiles is not installed: the rule takes effect with it; meanwhile "
            "`chown {}:{} {} && chmod 0660 {}` once the file exists",
            r.user, r.group, r.path, r.path));
    }

    // `f`: create the file if missing, and set owner, group and mode even when QEMU
    // made it first. No size: QEMU grows it to the <shmem> size itself.
    r.line = fmt::format("f {} 0660 {} {} -", r.path, r.user, r.group);
    std::string content =
        "# Written by porthole-vfio region: the shared region file, for QEMU (group) and the\n"
        "# desktop user (owner). `porthole-vfio region --user NAME` rewrites its line.\n";
    auto old = sys.read_if_exists(kRegionRuleFile);
    if (!old) return old.error();
    if (*old) {
        std::istringstream lines(**old);
        for (std::string line; std::getline(lines, line);) {
            if (line.starts_with("#")) continue;  // our header, written afresh
            auto fields = split(line);
            if (fields.size() >= 2 && fields[1] == r.path) continue;  // replaced below
            if (!fields.empty()) content += line + "\n";
        }
    }
    r.content = content + r.line + "\n";
    return r;
}

Status apply_region_rule(System& sys, const RegionRule& rule) {
    if (auto s = sys.write_file(kRegionRuleFile, rule.content, 0644); !s) return s;
    // On this machine, apply it now: the region may already exist with QEMU's owner.
    for (const char* tool : {"/usr/bin/systemd-tmpfiles", "/bin/systemd-tmpfiles"}) {
        if (sys.exists(tool)) return sys.run({tool, "--create", kRegionRuleFile});
    }
    return {};
}

}  // namespace porthole::vfio
