#include "porthole/vfio/persist.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "porthole/vfio/bind.hpp"
#include "porthole/vfio/boot_config.hpp"
#include "porthole/vfio/doctor.hpp"
#include "porthole/vfio/host.hpp"
#include "porthole/vfio/host_use.hpp"
#include "porthole/vfio/hugepages.hpp"

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

// The kernel flag that keeps the firmware framebuffer off a boot GPU given to vfio, and why.
std::pair<std::string, std::string> framebuffer_flag(const System& sys, const PciDevice& gpu) {
    const std::string fb = read_display_use(sys, gpu).firmware_framebuffer;
    if (fb == "efifb") {
        return {"video=efifb:off",
                fmt::format("{} is the boot GPU and efifb holds its memory: video=efifb:off keeps "
                            "efifb off it (any kernel), so vfio-pci and QEMU can map the card",
                            gpu.bdf)};
    }
    if (fb == "vesafb") {
        return {"video=vesafb:off",
                fmt::format("{} is the boot GPU and vesafb holds its memory: video=vesafb:off "
                            "keeps vesafb off it",
                            gpu.bdf)};
    }
    return {"initcall_blacklist=sysfb_init",
            fmt::format("{} is the boot GPU{}: since Linux 5.15 the firmware framebuffer comes "
                        "from sysfb (simpledrm or simplefb), which video=efifb:off does not stop; "
                        "initcall_blacklist=sysfb_init keeps sysfb from registering any firmware "
                        "framebuffer, so nothing holds the card's memory. The host shows no boot "
                        "messages until its own GPU driver starts",
                        gpu.bdf, fb.empty() ? "" : " and " + fb + " holds its memory")};
}

// Huge pages at boot: `default_hugepagesz=P hugepagesz=P hugepages=N`, added only where the
// boot configuration has none (the kernel ignores a second hugepages= for one size).
Result<std::vector<std::string>> hugepage_flags(const System& sys, const PersistOptions& o,
                                                const std::vector<std::string>& words) {
    if (o.hugepages.empty()) return std::vector<std::string>{};
    auto bytes = parse_size(o.hugepages);
    if (!bytes) return bytes.error();
    auto page_kib = choose_page_kib(sys, o.hugepage_size);
    if (!page_kib) return page_kib.error();
    const uint64_t page_bytes = *page_kib * 1024;
    if (*bytes == 0 || *bytes % page_bytes != 0) {
        return Error::make(fmt::format("--hugepages {} is not a whole number of {} pages",
                                       o.hugepages, page_size_text(*page_kib)));
    }
    const std::string page = page_size_text(*page_kib);
    std::vector<std::string> flags = {"default_hugepagesz=" + page, "hugepagesz=" + page,
                                      fmt::format("hugepages={}", *bytes / page_bytes)};
    if (std::all_of(flags.begin(), flags.end(),
                    [&](const std::string& f) { return kernel_flag_present(words, f); })) {
        return std::vector<std::string>{};
    }
    std::vector<std::string> existing;
    for (const auto& w : words) {
        for (const char* key : {"default_hugepagesz=", "hugepagesz=", "hugepages="}) {
            if (w.starts_with(key)) existing.push_back(w);
        }
    }
    if (!existing.empty()) {
        return Error::make(fmt::format(
            "the boot configuration already sets huge pages ({}): the kernel ignores a second "
            "hugepages= for the same page size, so change those flags by hand instead",
            join(existing, " ")));
    }
    return flags;
}

}  // namespace

Result<PersistPlan> plan_persist(const System& sys, const PciIds& ids,
                                 const PersistOptions& options) {
    PersistPlan plan;
    HostInfo host = read_host_info(sys);

    auto all = read_pci_devices(sys, ids);
    std::vector<PciDevice> passed;
    for (const auto& text : options.bdfs) {
        auto bdf = normalize_bdf(text);
        if (!bdf) return bdf.error();
        auto it =
            std::find_if(all.begin(), all.end(), [&](const PciDevice& d) { return d.bdf == *bdf; });
        if (it == all.end()) {
            return Error::make(fmt::format("no PCI device {}; list devices with `lspci -D`", *bdf));
        }
        if (std::none_of(passed.begin(), passed.end(),
                         [&](const PciDevice& p) { return p.bdf == *bdf; })) {
            passed.push_back(*it);
        }
    }

    // At boot vfio-pci takes these before any host driver: never what the host cannot lose.
    HostLoss loss = assess_host_loss(sys, passed);
    const bool other_gpu = std::any_of(all.begin(), all.end(), [&](const PciDevice& d) {
        return d.is_display() && std::none_of(passed.begin(), passed.end(),
                                              [&](const PciDevice& p) { return p.bdf == d.bdf; });
    });
    std::vector<std::string> critical = loss.critical;
    if (!loss.display.empty() && !other_gpu) {
        for (const auto& d : loss.display)
            critical.push_back(d + ", and no other GPU is left for the host");
    }
    if (!critical.empty() && !options.force) {
        return Error::make(fmt::format(
            "refusing to give vfio-pci at boot what the host needs: {}. Pass devices the host can "
            "spare (`porthole-vfio groups`); single-GPU passthrough binds at VM start through the "
            "libvirt hooks instead; --force writes it anyway",
            join(critical, "; ")));
    }
    for (const auto& c : critical)
        plan.notes.push_back("--force: at boot the host loses this: " + c);
    // vfio needs whole groups: say what else a passed device's group holds.
    for (const auto& d : passed) {
        if (!d.iommu_group) continue;
        for (const auto& mate : all) {
            if (mate.iommu_group != d.iommu_group || mate.is_bridge() ||
                mate.driver == kVfioDriver ||
                std::any_of(passed.begin(), passed.end(),
                            [&](const PciDevice& p) { return p.bdf == mate.bdf; })) {
                continue;
            }
            std::string note = fmt::format(
                "IOMMU group {} also holds {} ({}), which is not passed: the VM cannot start "
                "until the whole group is on vfio-pci (see `porthole-vfio groups`)",
                *d.iommu_group, mate.bdf, mate.class_name());
            if (std::find(plan.notes.begin(), plan.notes.end(), note) == plan.notes.end()) {
                plan.notes.push_back(note);
            }
        }
    }
    for (const auto& l : loss.lost)
        plan.notes.push_back("at boot the host loses the " + l);

    // The flags this configuration needs.
    std::vector<std::string> wanted = iommu_kernel_flags(host.vendor);

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
        wanted.push_back("vfio-pci.ids=" + join({passed_ids.begin(), passed_ids.end()}, ","));
    } else if (!passed.empty()) {
        plan.notes.push_back(fmt::format(
            "the host keeps {} with the same ids as a passed device, so vfio-pci.ids would take it "
            "too: an early-boot driver_override rule picks the passed devices by address instead",
            join(twins, ", ")));
    }
    for (const auto& d : passed) {
        if (!d.is_display() || !d.boot_vga) continue;
        auto [flag, why] = framebuffer_flag(sys, d);
        if (std::find(wanted.begin(), wanted.end(), flag) == wanted.end()) {
            wanted.push_back(flag);
            plan.notes.push_back(why);
        }
    }

    // The boot configuration this plan edits, and the words it gives the kernel.
    std::vector<std::string> words;
    std::optional<GrubDefaults> grub;
    std::optional<std::string> kernel_cmdline;
    std::vector<BootFile> entries;
    auto kc = sys.read_if_exists("/etc/kernel/cmdline");
    if (!kc) {
        return Error::make(kc.error().message +
                           ": the boot configuration cannot be checked; nothing was written");
    }
    const std::string running = sys.read_trimmed("/proc/cmdline").value_or("");
    if (*kc) {
        plan.bootloader = "systemd-boot";
        kernel_cmdline = **kc;
        words = kernel_cmdline_words(**kc);
        if (words.empty()) {
            // kernel-install falls back to the running command line when the file is empty;
            // start from the same words so root= and friends stay.
            std::string seeded;
            for (const auto& w : kernel_cmdline_words(running)) {
                if (w.starts_with("BOOT_IMAGE=") || w.starts_with("initrd=")) continue;
                seeded += (seeded.empty() ? "" : " ") + w;
            }
            kernel_cmdline = seeded + "\n";
            words = kernel_cmdline_words(seeded);
            plan.notes.push_back(
                "/etc/kernel/cmdline is empty, so kernel-install used the running command line: "
                "the new file starts from it (root= included)");
        }
    } else if (auto dir = loader_entries_dir(sys)) {
        plan.bootloader = "systemd-boot";
        for (const auto& name : sys.list(*dir)) {
            if (!name.ends_with(".conf")) continue;
            const std::string path = *dir + "/" + name;
            auto text = sys.read(path);
            if (!text) {
                return Error::make(text.error().message +
                                   ": the boot configuration cannot be checked; nothing was "
                                   "written");
            }
            if (loader_entry_is_linux(*text)) entries.push_back({path, std::move(*text)});
        }
        // A flag counts as present only when every entry has it.
        for (const auto& e : entries) {
            auto w = loader_entry_words(e.text);
            words.insert(words.end(), w.begin(), w.end());
        }
    } else {
        auto g = read_grub_defaults(sys);
        if (!g) return g.error();
        if (!g->files.empty()) {
            plan.bootloader = "grub";
            auto w = grub_kernel_words(*g);
            if (!w) return w.error();
            words = std::move(*w);
            grub = std::move(*g);
        } else {
            plan.bootloader = "unknown";
            words = kernel_cmdline_words(running);
        }
    }

    auto huge = hugepage_flags(sys, options, words);
    if (!huge) return huge.error();
    wanted.insert(wanted.end(), huge->begin(), huge->end());

    const auto running_words = kernel_cmdline_words(running);
    for (const auto& f : wanted) {
        bool present = entries.empty()
                           ? kernel_flag_present(words, f)
                           : std::all_of(entries.begin(), entries.end(), [&](const BootFile& e) {
                                 return kernel_flag_present(loader_entry_words(e.text), f);
                             });
        if (present) {
            if (!kernel_flag_present(running_words, f)) {
                plan.notes.push_back(fmt::format(
                    "{} is in the boot configuration but not on the running kernel's command "
                    "line: reboot to apply it",
                    f));
            }
            continue;
        }
        plan.cmdline_add.push_back(f);
        for (const auto& other : kernel_flag_conflicts(words, f)) {
            plan.notes.push_back(fmt::format(
                "the boot configuration also has {}; the kernel takes the last value, {}", other,
                f));
        }
    }

    // Host drivers that must wait for vfio-pci.
    std::set<std::string> host_modules;
    for (const auto& d : passed) {
        std::string driver = d.driver;
        if (driver == kVfioDriver || driver.empty()) {
            driver = remembered_driver(sys, d.bdf, plan.notes).value_or("");
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

    // AMD GPUs that need vendor-reset: its reset only runs when reset_method says so.
    std::vector<std::string> reset_rules;
    for (const auto& d : passed) {
        if (!needs_vendor_reset(d)) continue;
        if (!sys.exists("/sys/module/vendor_reset")) {
            plan.notes.push_back(fmt::format(
                "{} needs gnif/vendor-reset to reset between VM boots: install it (dkms), then "
                "run persist again to add the udev rule that selects its reset",
                d.bdf));
            continue;
        }
        const std::string set = fmt::format(
            "RUN+=\"/bin/sh -c 'echo device_specific > /sys/bus/pci/devices/{}/reset_method'\"",
            d.bdf);
        reset_rules.push_back(
            fmt::format("ACTION==\"add\", SUBSYSTEM==\"pci\", KERNEL==\"{}\", {}", d.bdf, set));
        reset_rules.push_back(fmt::format(
            "ACTION==\"add\", SUBSYSTEM==\"module\", KERNEL==\"vendor_reset\", {}", set));
    }
    if (!reset_rules.empty()) {
        plan.files.push_back(
            {kVendorResetRule,
             "# Written by porthole-vfio persist: use vendor-reset's device-specific reset for "
             "the passed AMD GPUs,\n# set when the GPU appears and again when vendor_reset "
             "loads (whichever comes last).\n" +
                 join(reset_rules, "\n") + "\n",
             0644, "udev rule: reset_method device_specific"});
        plan.files.push_back({kVendorResetLoad,
                              "# Written by porthole-vfio persist\nvendor-reset\n", 0644,
                              "load vendor-reset at boot"});
    }

    // Initramfs generators present on this system.
    std::vector<std::string> extra_files;
    if (!passed.empty()) extra_files.push_back(kModprobeConf);
    if (!passed.empty() && !plan.uses_ids) extra_files.push_back(kOverrideScript);
    if (sys.exists("/etc/initramfs-tools")) {
        plan.initramfs.push_back("initramfs-tools");
        auto text = sys.read_if_exists("/etc/initramfs-tools/modules");
        if (!text) {
            return Error::make(text.error().message +
                               ": the initramfs configuration cannot be checked; nothing was "
                               "written");
        }
        std::string modules = text->value_or("");
        std::set<std::string> listed;
        for (const auto& line : split(modules, "\n")) {
            auto w = split(line);
            if (w.empty() || w[0].starts_with("#")) continue;
            std::string m = w[0];
            std::replace(m.begin(), m.end(), '-', '_');
            listed.insert(m);
        }
        std::string add;
        for (const auto& m : kVfioModules) {
            if (!listed.count(m)) add += m + "\n";
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

    // The boot loader's files, edited in place.
    auto mode_of = [&](const std::string& path) {
        auto st = sys.stat(path);
        return st ? st->mode : 0644u;
    };
    if (!plan.cmdline_add.empty()) {
        if (kernel_cmdline) {
            plan.files.push_back({"/etc/kernel/cmdline",
                                  append_to_cmdline_text(*kernel_cmdline, plan.cmdline_add),
                                  mode_of("/etc/kernel/cmdline"),
                                  "kernel command line for kernel-install (systemd-boot, UKIs)"});
            plan.notes.push_back(
                "reinstall the kernel entries so they pick up /etc/kernel/cmdline "
                "(`kernel-install add $(uname -r) /lib/modules/$(uname -r)/vmlinuz`)");
        } else if (!entries.empty()) {
            for (const auto& e : entries) {
                std::vector<std::string> missing;
                auto w = loader_entry_words(e.text);
                for (const auto& f : plan.cmdline_add) {
                    if (!kernel_flag_present(w, f)) missing.push_back(f);
                }
                if (missing.empty()) continue;
                plan.files.push_back({e.path, loader_entry_add_flags(e.text, missing),
                                      mode_of(e.path), "systemd-boot entry"});
            }
        } else if (grub) {
            auto edited = grub_add_flags(*grub, plan.cmdline_add);
            if (!edited) return edited.error();
            plan.files.push_back({edited->path, edited->text, mode_of(edited->path),
                                  "GRUB kernel command line (GRUB_CMDLINE_LINUX_DEFAULT)"});
            plan.notes.push_back(
                "the flags go into GRUB_CMDLINE_LINUX_DEFAULT, which only the normal boot "
                "entries get: the recovery entries keep a plain command line, a way back in if "
                "passthrough leaves the host without a screen");
            if (sys.exists("/usr/sbin/update-grub")) {
                plan.commands.push_back({"update-grub"});
            } else if (sys.exists("/usr/sbin/grub2-mkconfig")) {
                plan.commands.push_back({"grub2-mkconfig", "-o", "/boot/grub2/grub.cfg"});
                if (sys.exists("/boot/loader/entries")) {
                    plan.notes.push_back(
                        "with BLS entries (Fedora, RHEL) the installed kernels keep their own "
                        "options: `grubby --update-kernel=ALL --args=\"" +
                        join(plan.cmdline_add, " ") + "\"` applies the flags to them");
                }
            } else {
                plan.commands.push_back({"grub-mkconfig", "-o", "/boot/grub/grub.cfg"});
            }
        } else {
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
