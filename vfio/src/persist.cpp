#include "porthole/vfio/persist.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "porthole/vfio/bind.hpp"
#include "porthole/vfio/host.hpp"

namespace porthole::vfio {

namespace {

const std::vector<std::string> kVfioModules = {"vfio_pci", "vfio", "vfio_iommu_type1"};

std::string join(const std::vector<std::string>& v, const std::string& sep) {
    std::string out;
    for (const auto& s : v)
        out += (out.empty() ? "" : sep) + s;
    return out;
}

// Module providing a driver: the driver's `module` link, else the name with '_'.
std::string module_of(const System& sys, const std::string& driver) {
    if (auto m = sys.link_name(std::string(kPciDrivers) + "/" + driver + "/module")) return *m;
    std::string name = driver;
    std::replace(name.begin(), name.end(), '-', '_');
    return name;
}

// The flags not already among the words of `text` (a config line or file).
std::vector<std::string> missing_from(const std::string& text,
                                      const std::vector<std::string>& flags) {
    auto whole = split(text, " \t\n\"'");
    std::vector<std::string> out;
    for (const auto& f : flags) {
        if (std::find(whole.begin(), whole.end(), f) == whole.end()) out.push_back(f);
    }
    return out;
}

// Adds flags to `KEY="..."` in /etc/default/grub, keeping everything else.
std::string edit_grub(const std::string& text, const std::vector<std::string>& flags) {
    std::string out;
    bool done = false;
    for (const auto& line : split(text, "\n")) {
        std::string l = line;
        const std::string key = "GRUB_CMDLINE_LINUX_DEFAULT=";
        if (!done && l.starts_with(key)) {
            std::string value = l.substr(key.size());
            char quote = !value.empty() && (value.front() == '"' || value.front() == '\'')
                             ? value.front()
                             : '\0';
            std::string inner = quote ? value.substr(1, value.rfind(quote) - 1) : value;
            for (const auto& f : flags)
                inner += (trim(inner).empty() ? "" : " ") + f;
            l = key + "\"" + trim(inner) + "\"";
            done = true;
        }
        out += l + "\n";
    }
    if (!done) out += "GRUB_CMDLINE_LINUX_DEFAULT=\"" + join(flags, " ") + "\"\n";
    return out;
}

}  // namespace

Result<PersistPlan> plan_persist(const System& sys, const PciIds& ids,
                                 const std::vector<std::string>& requested) {
    PersistPlan plan;
    HostInfo host = read_host_info(sys);
    for (const auto& f : iommu_kernel_flags(host.vendor)) {
        if (!host.cmdline_has(f)) plan.cmdline_add.push_back(f);
    }

    auto all = read_pci_devices(sys, ids);
    std::vector<PciDevice> passed;
    for (const auto& text : requested) {
        auto bdf = normalize_bdf(text);
        if (!bdf) return bdf.error();
        auto it =
            std::find_if(all.begin(), all.end(), [&](const PciDevice& d) { return d.bdf == *bdf; });
        if (it == all.end()) {
            return Error::make(fmt::format("no PCI device {}; list devices with `lspci -D`", *bdf));
        }
        passed.push_back(*it);
    }

    // vfio-pci.ids catches every device with those ids: only safe when the host has no twin.
    std::set<std::string> passed_ids;
    for (const auto& d : passed)
        passed_ids.insert(d.ids());
    std::vector<std::string> twins;
    for (const auto& d : all) {
        bool is_passed = std::any_of(passed.begin(), passed.end(),
                                     [&](const PciDevice& p) { return p.bdf == d.bdf; });
        if (!is_passed && passed_ids.count(d.ids())) twins.push_back(d.bdf + " (" + d.ids() + ")");
    }
    plan.uses_ids = twins.empty();
    if (!passed.empty() && plan.uses_ids) {
        plan.cmdline_add.push_back("vfio-pci.ids=" +
                                   join({passed_ids.begin(), passed_ids.end()}, ","));
    } else if (!passed.empty()) {
        plan.notes.push_back(fmt::format(
            "the host keeps {} with the same ids as a passed device, so vfio-pci.ids would take it "
            "too: an early-boot driver_override rule picks the passed devices by address instead",
            join(twins, ", ")));
    }

    // Host drivers that must wait for vfio-pci.
    std::set<std::string> host_modules;
    for (const auto& d : passed) {
        std::string driver = d.driver;
        if (driver == kVfioDriver || driver.empty()) {
            driver = sys.read_trimmed(previous_driver_file(d.bdf)).value_or("");
        }
        if (!driver.empty() && driver != kVfioDriver) host_modules.insert(module_of(sys, driver));
    }
    std::string modprobe =
        "# Written by porthole-vfio persist: vfio-pci claims the passed devices "
        "before their host drivers.\n";
    for (const auto& m : host_modules)
        modprobe += "softdep " + m + " pre: vfio-pci\n";
    if (!passed.empty() && !plan.uses_ids) {
        modprobe += fmt::format("install vfio-pci {}; /sbin/modprobe --ignore-install vfio-pci\n",
                                kOverrideScript);
        std::string script =
            "#!/bin/sh\n# Written by porthole-vfio persist: mark the passed "
            "devices for vfio-pci by address,\n# before any driver binds them.\n";
        for (const auto& d : passed) {
            script += fmt::format(
                "[ -e /sys/bus/pci/devices/{0}/driver_override ] && echo vfio-pci > "
                "/sys/bus/pci/devices/{0}/driver_override\n",
                d.bdf);
        }
        script += "exit 0\n";
        plan.files.push_back({kOverrideScript, script, 0755, "early-boot driver_override rule"});
    }
    if (!passed.empty()) {
        plan.files.push_back({kModprobeConf, modprobe, 0644, "modprobe.d softdeps"});
    }

    // Initramfs generators present on this system.
    std::vector<std::string> extra_files;
    if (!passed.empty()) extra_files.push_back(kModprobeConf);
    if (!passed.empty() && !plan.uses_ids) extra_files.push_back(kOverrideScript);
    if (sys.exists("/etc/initramfs-tools")) {
        plan.initramfs.push_back("initramfs-tools");
        std::string modules = sys.read_trimmed("/etc/initramfs-tools/modules").value_or("");
        auto lines = split(modules, "\n");
        std::string add;
        for (const auto& m : kVfioModules) {
            if (std::find(lines.begin(), lines.end(), m) == lines.end()) add += m + "\n";
        }
        if (!add.empty()) {
            if (!modules.empty() && modules.back() != '\n') modules += "\n";
            plan.files.push_back({"/etc/initramfs-tools/modules", modules + add, 0644,
                                  "initramfs-tools: load vfio early"});
        }
        if (!extra_files.empty() && !plan.uses_ids) {
            plan.files.push_back(
                {"/etc/initramfs-tools/hooks/porthole-vfio",
                 std::string("#!/bin/sh\n# Written by porthole-vfio persist: the override rule "
                             "in the initramfs.\n[ \"$1\" = prereqs ] && exit 0\n"
                             ". /usr/share/initramfs-tools/hook-functions\ncopy_exec ") +
                     kOverrideScript + "\n",
                 0755, "initramfs-tools hook"});
        }
        plan.commands.push_back({"update-initramfs", "-u", "-k", "all"});
    }
    if (sys.exists("/etc/dracut.conf.d") || sys.exists("/etc/dracut.conf")) {
        plan.initramfs.push_back("dracut");
        std::string conf = "# Written by porthole-vfio persist\nforce_drivers+=\" " +
                           join(kVfioModules, " ") + " \"\n";
        if (!extra_files.empty()) conf += "install_items+=\" " + join(extra_files, " ") + " \"\n";
        plan.files.push_back(
            {"/etc/dracut.conf.d/porthole-vfio.conf", conf, 0644, "dracut: load vfio early"});
        plan.commands.push_back({"dracut", "-f", "--regenerate-all"});
    }
    if (sys.exists("/etc/mkinitcpio.conf")) {
        plan.initramfs.push_back("mkinitcpio");
        std::string conf =
            "# Written by porthole-vfio persist (needs the modconf hook in HOOKS)\n"
            "MODULES+=(" +
            join(kVfioModules, " ") + ")\n";
        if (!extra_files.empty()) conf += "FILES+=(" + join(extra_files, " ") + ")\n";
        plan.files.push_back({"/etc/mkinitcpio.conf.d/porthole-vfio.conf", conf, 0644,
                              "mkinitcpio: load vfio early"});
        plan.commands.push_back({"mkinitcpio", "-P"});
    }
    if (plan.initramfs.empty()) {
        plan.notes.push_back(
            "no initramfs generator found (initramfs-tools, dracut, mkinitcpio): "
            "make sure vfio-pci loads before the GPU driver");
    }

    // Boot loader: systemd-boot's /etc/kernel/cmdline wins over GRUB when both exist.
    if (sys.exists("/etc/kernel/cmdline")) {
        plan.bootloader = "systemd-boot";
        if (!plan.cmdline_add.empty()) {
            std::string line = trim(sys.read_trimmed("/etc/kernel/cmdline").value_or(""));
            for (const auto& f : missing_from(line, plan.cmdline_add)) {
                line += (line.empty() ? "" : " ") + f;
            }
            plan.files.push_back(
                {"/etc/kernel/cmdline", line + "\n", 0644, "systemd-boot kernel command line"});
            plan.notes.push_back(
                "reinstall the kernel entries so they pick up /etc/kernel/cmdline "
                "(`kernel-install add $(uname -r) /lib/modules/$(uname -r)/vmlinuz`)");
        }
    } else if (sys.exists("/etc/default/grub")) {
        plan.bootloader = "grub";
        const std::string grub = sys.read_trimmed("/etc/default/grub").value_or("");
        if (!plan.cmdline_add.empty()) {
            plan.files.push_back({"/etc/default/grub",
                                  edit_grub(grub, missing_from(grub, plan.cmdline_add)), 0644,
                                  "GRUB kernel command line"});
            if (sys.exists("/usr/sbin/update-grub")) {
                plan.commands.push_back({"update-grub"});
            } else if (sys.exists("/usr/sbin/grub2-mkconfig")) {
                plan.commands.push_back({"grub2-mkconfig", "-o", "/boot/grub2/grub.cfg"});
            } else {
                plan.commands.push_back({"grub-mkconfig", "-o", "/boot/grub/grub.cfg"});
            }
        }
    } else {
        plan.bootloader = "unknown";
        if (!plan.cmdline_add.empty()) {
            plan.notes.push_back(
                "no GRUB or systemd-boot configuration found: add the flags to "
                "your boot loader's kernel command line by hand");
        }
    }
    return plan;
}

Status apply_persist(System& sys, const PersistPlan& plan) {
    for (const auto& f : plan.files) {
        if (auto s = sys.write_file(f.path, f.content, f.mode); !s) return s;
    }
    for (const auto& c : plan.commands) {
        if (auto s = sys.run(c); !s) return s;
    }
    return {};
}

}  // namespace porthole::vfio
