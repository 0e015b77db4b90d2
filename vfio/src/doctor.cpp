#include "porthole/vfio/doctor.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "porthole/vfio/domain_check.hpp"
#include "porthole/vfio/host.hpp"
#include "porthole/vfio/hugepages.hpp"
#include "porthole/vfio/iommu.hpp"
#include "porthole/vfio/libvirt.hpp"
#include "porthole/vfio/region.hpp"
#include "porthole/vfio/rom.hpp"

namespace porthole::vfio {

namespace {

std::string join(const std::vector<std::string>& v, const std::string& sep) {
    std::string out;
    for (const auto& s : v)
        out += (out.empty() ? "" : sep) + s;
    return out;
}

// The GPUs meant for a guest: on vfio-pci, else every display device that is not the boot GPU.
std::vector<PciDevice> guest_gpus(const std::vector<PciDevice>& devices) {
    std::vector<PciDevice> on_vfio, others;
    for (const auto& d : devices) {
        if (!d.is_display()) continue;
        if (d.driver == kVfioDriver)
            on_vfio.push_back(d);
        else if (!d.boot_vga)
            others.push_back(d);
    }
    return on_vfio.empty() ? others : on_vfio;
}

}  // namespace

std::string level_name(Level level) {
    switch (level) {
        case Level::Pass:
            return "pass";
        case Level::Warn:
            return "warn";
        case Level::Fail:
            return "fail";
        case Level::Info:
            return "info";
    }
    return "?";
}

bool needs_vendor_reset(const PciDevice& d) {
    if (d.vendor != 0x1002 || !d.is_display()) return false;
    auto in = [&](uint16_t lo, uint16_t hi) { return d.device >= lo && d.device <= hi; };
    return in(0x67c0, 0x67ff) ||  // Polaris 10/11
           in(0x6980, 0x699f) ||  // Polaris 12
           in(0x6860, 0x687f) ||  // Vega 10
           in(0x66a0, 0x66af) ||  // Vega 20
           in(0x7310, 0x731f) ||  // Navi 10
           in(0x7360, 0x7362) ||  // Navi 12
           in(0x7340, 0x734f);    // Navi 14
}

std::vector<Finding> run_doctor(System& sys, const PciIds& ids, const DoctorOptions& options) {
    std::vector<Finding> out;
    auto add = [&](std::string check, Level level, std::string detail, std::string fix = {}) {
        out.push_back({std::move(check), level, std::move(detail), std::move(fix)});
    };
    HostInfo host = read_host_info(sys);

    if (host.virtualization_flag) {
        add("cpu-virtualization", Level::Pass,
            fmt::format("{} CPU with {}", vendor_name(host.vendor),
                        host.vendor == CpuVendor::Amd ? "AMD-V (svm)" : "VT-x (vmx)"));
    } else {
        add("cpu-virtualization", Level::Fail, "the CPU reports neither vmx nor svm",
            host.vendor == CpuVendor::Amd
                ? "enable SVM Mode in the firmware setup"
                : "enable Intel Virtualization Technology (VT-x) in the firmware setup");
    }

    if (host.iommu_enabled()) {
        std::string detail = fmt::format("IOMMU on ({})", join(host.iommu_units, ", "));
        if (!host.cmdline_has("iommu=pt")) {
            add("iommu", Level::Warn, detail + "; iommu=pt not set, so host DMA is translated too",
                "add `iommu=pt` to the kernel command line (`porthole-vfio persist`)");
        } else {
            add("iommu", Level::Pass, detail + ", passthrough mode");
        }
        if (host.unsafe_interrupts_allowed) {
            add("interrupt-remapping", Level::Warn,
                "vfio_iommu_type1 allow_unsafe_interrupts=Y: a guest could forge interrupts",
                "enable interrupt remapping (x2APIC) in the firmware and drop the option");
        } else if (host.interrupt_remapping.value_or(false)) {
            add("interrupt-remapping", Level::Pass, "interrupts are remapped (IR- domains)");
        } else {
            add("interrupt-remapping", Level::Warn,
                "no remapped interrupt domains in /proc/interrupts: vfio will refuse devices",
                "enable x2APIC / interrupt remapping in the firmware setup");
        }
    } else {
        add("iommu", Level::Fail, "IOMMU is off: no IOMMU groups", iommu_enable_steps(host));
    }

    if (host.acs_override) {
        add("acs-override", Level::Warn,
            "pcie_acs_override is on the command line: groups are split by the kernel's say-so, "
            "not by the hardware, so devices may still reach each other by DMA",
            "accept the weaker isolation knowingly, or move the card to a CPU-attached slot and "
            "drop "
            "the flag");
    } else {
        add("acs-override", Level::Pass, "no ACS override: groups are the hardware's own");
    }

    auto devices = read_pci_devices(sys, ids);
    if (sys.exists(std::string(kPciDrivers) + "/" + kVfioDriver)) {
        add("vfio-driver", Level::Pass, "vfio-pci is loaded");
    } else {
        add("vfio-driver", Level::Warn, "vfio-pci is not loaded",
            "`modprobe vfio-pci`; `porthole-vfio persist` loads it at boot");
    }

    auto gpus = guest_gpus(devices);
    if (host.iommu_enabled()) {
        auto groups = read_iommu_groups(sys, ids);
        // RMRR matters only for what goes to the guest: the guest GPUs' groups.
        std::vector<std::string> checked, pinned;
        for (const auto& gpu : gpus) {
            auto g = std::find_if(groups.begin(), groups.end(), [&](const IommuGroup& x) {
                return gpu.iommu_group && x.number == *gpu.iommu_group;
            });
            if (g == groups.end()) continue;
            for (const auto& d : g->devices) {
                if (d.is_bridge()) continue;
                checked.push_back(d.bdf);
                if (!g->direct_regions.empty()) {
                    pinned.push_back(fmt::format("{} (group {}, RMRR {})", d.bdf, g->number,
                                                 g->direct_regions.front()));
                }
            }
        }
        if (!pinned.empty()) {
            add("rmrr", Level::Fail,
                "firmware reserves memory (RMRR) for " + join(pinned, ", ") +
                    ": the kernel will not attach these to a guest",
                "put the card in another slot; update the firmware or turn the reservation off "
                "where it allows (HP ProLiant: \"HP Shared Memory features\"); kernels patched "
                "to ignore RMRRs exist outside mainline, at your own risk");
        } else if (!checked.empty()) {
            add("rmrr", Level::Pass,
                "no firmware memory reservation (RMRR) on the guest's devices (" +
                    join(checked, ", ") + ")");
        }
        for (const auto& gpu : gpus) {
            auto g = std::find_if(groups.begin(), groups.end(), [&](const IommuGroup& x) {
                return gpu.iommu_group && x.number == *gpu.iommu_group;
            });
            if (g == groups.end()) continue;
            std::string check = fmt::format("group {} ({})", g->number, gpu.bdf);
            if (g->verdict == Verdict::Ready) {
                add(check, Level::Pass, "every device of the group is on vfio-pci");
            } else if (g->verdict == Verdict::NeedsBinding) {
                std::vector<std::string> bdfs;
                for (const auto& d : g->devices) {
                    if (!d.is_bridge() && d.driver != kVfioDriver) bdfs.push_back(d.bdf);
                }
                add(check, Level::Warn, join(g->reasons, "; "),
                    "`porthole-vfio bind " + join(bdfs, " ") + "` (or `persist` for boot)");
            } else if (g->verdict == Verdict::SharesWithHost || g->verdict == Verdict::HostNeeds) {
                // The choices are the fix; the detail says what is in the way.
                std::vector<std::string> why;
                const std::string choices = shared_group_choices();
                for (auto r : g->reasons) {
                    auto at = r.find(choices);
                    if (at != std::string::npos && at > 0) --at;  // and the blank before it
                    if (at != std::string::npos) r.erase(at);
                    if (!r.empty() && r.back() == '.') r.pop_back();
                    why.push_back(r);
                }
                add(check, Level::Fail, verdict_text(g->verdict) + ": " + join(why, "; "),
                    shared_group_choices());
            } else if (g->verdict == Verdict::HostDisplay) {
                add(check, Level::Fail, verdict_text(g->verdict) + ": " + join(g->reasons, "; "),
                    "give the guest another GPU; single-GPU passthrough needs hooks that stop the "
                    "display manager and release the console first");
            } else {
                add(check, Level::Fail, join(g->reasons, "; "),
                    "this group cannot be passed as it is; see the reasons");
            }
        }
    }
    if (gpus.empty()) {
        add("guest-gpu", Level::Warn, "no GPU for a guest: every display device is the boot GPU",
            "install a second GPU, or pass the boot GPU (single-GPU passthrough)");
    }

    for (const auto& gpu : gpus) {
        if (!needs_vendor_reset(gpu)) continue;
        const std::string check = "vendor-reset " + gpu.bdf;
        if (!sys.exists("/sys/module/vendor_reset")) {
            add(check, Level::Warn,
                fmt::format("{} ({}) does not reset cleanly without vendor-reset: the second VM "
                            "boot hangs or shows a black screen",
                            gpu.bdf, gpu.ids()),
                "install gnif/vendor-reset (dkms) and load it early (`vendor-reset` in "
                "/etc/modules-load.d)");
            continue;
        }
        // Since Linux 5.15 the kernel tries the methods in reset_method's order, and
        // vendor-reset's hook only runs as "device_specific".
        const std::string file = "/sys/bus/pci/devices/" + gpu.bdf + "/reset_method";
        auto methods = sys.read_trimmed(file);
        if (!methods) {
            add(check, Level::Pass,
                "vendor-reset is loaded; this kernel has no reset_method attribute, so its "
                "reset is used directly");
        } else if (!gpu.reset_methods.empty() && gpu.reset_methods.front() == "device_specific") {
            add(check, Level::Pass,
                "vendor-reset is loaded and reset_method starts with device_specific");
        } else {
            add(check, Level::Warn,
                fmt::format("vendor-reset is loaded, but {} says '{}': the kernel {}, and the "
                            "GPU still hangs on the second VM boot",
                            file, methods->empty() ? "(none)" : *methods,
                            methods->empty()
                                ? "has no reset to try"
                                : "uses the first method that works (" + gpu.reset_methods.front() +
                                      "), not vendor-reset's reset"),
                fmt::format("`echo device_specific > {}` now; `porthole-vfio persist {}` installs "
                            "a udev rule that sets it at every boot",
                            file, gpu.bdf));
        }
    }

    for (const auto& gpu : gpus) {
        if (!gpu.has_rom || (options.read_roms && !sys.dry_run())) continue;
        add("gpu-rom " + gpu.bdf, Level::Info,
            "option ROM not read: doctor only reads unless asked, and reading a ROM means "
            "enabling it for a moment",
            "`porthole-vfio doctor --rom` checks it for the UEFI image OVMF needs");
    }
    if (options.read_roms && !sys.dry_run()) {
        for (const auto& gpu : gpus) {
            if (!gpu.has_rom) continue;
            std::string check = "gpu-rom " + gpu.bdf;
            auto bytes = read_device_rom(sys, gpu.bdf);
            if (!bytes) {
                add(check, Level::Warn, bytes.error().message,
                    "dump the ROM while the VM is off, then check it with `porthole-vfio rom "
                    "--file`");
                continue;
            }
            auto rom = parse_option_rom(*bytes);
            if (!rom) {
                add(check, Level::Warn, rom.error().message,
                    "dump the ROM while the GPU is not in use");
            } else if (rom->has_uefi()) {
                add(check, Level::Pass, "the option ROM has a UEFI image, as OVMF needs");
            } else {
                add(check, Level::Warn,
                    "the option ROM has no UEFI image: OVMF shows nothing on this GPU until the "
                    "guest driver loads",
                    "give the VM a ROM file with a UEFI image (<rom file='...'/>), or update the "
                    "card's firmware");
            }
        }
    }

    // Every pool, not only the default size /proc/meminfo reports.
    std::vector<std::string> reserved;
    uint64_t reserved_pages = 0;
    for (const auto& p : read_hugepage_pools(sys)) {
        if (p.node || p.total == 0) continue;
        reserved_pages += p.total;
        std::string per_node;
        for (const auto& n : read_hugepage_pools(sys)) {
            if (n.node && n.page_kib == p.page_kib && n.total > 0) {
                per_node +=
                    fmt::format("{}node {}: {}", per_node.empty() ? "" : ", ", *n.node, n.total);
            }
        }
        reserved.push_back(fmt::format("{} x {} ({} free{})", p.total, page_size_text(p.page_kib),
                                       p.free, per_node.empty() ? "" : "; " + per_node));
    }
    const std::string page = page_size_text(default_page_kib(sys));
    if (reserved_pages > 0) {
        add("hugepages", Level::Pass, "huge pages reserved: " + join(reserved, ", "));
    } else {
        add("hugepages", Level::Warn, "no huge pages reserved: guest RAM uses 4 KiB pages",
            fmt::format("`porthole-vfio hugepages reserve 16G --page {}` before the VM starts "
                        "(the libvirt hook does it), or at boot with `persist --hugepages 16G "
                        "--page {}`",
                        page, page));
    }

    uint64_t need = region_size_bytes(options.width, options.height);
    auto region = sys.stat(options.region_path);
    std::string region_check = "region-file";
    if (!region) {
        add(region_check, Level::Warn, fmt::format("{} does not exist yet", options.region_path),
            fmt::format("QEMU creates it from <shmem name='porthole'> ({} MiB for {}x{}) when the "
                        "VM starts; `porthole-vfio region --user NAME` has it made at boot for "
                        "QEMU and your user",
                        need >> 20, options.width, options.height));
    } else if (region->size < need) {
        add(region_check, Level::Fail,
            fmt::format("{} is {} MiB; {}x{} needs {} MiB", options.region_path, region->size >> 20,
                        options.width, options.height, need >> 20),
            fmt::format("set <size unit='M'>{}</size> in the <shmem> device "
                        "(`porthole-vfio libvirt snippets --width {} --height {}`)",
                        need >> 20, options.width, options.height));
    } else if ((region->mode & 0002u) != 0) {
        add(region_check, Level::Warn,
            fmt::format("{} is world-writable (mode {:04o}): any local user can read the guest's "
                        "screen and type into it",
                        options.region_path, region->mode),
            fmt::format("`porthole-vfio region --user NAME`: {} owned by that user and QEMU's "
                        "group, mode 0660, at every boot",
                        options.region_path));
    } else if ((region->mode & 0060u) != 0060u && (region->mode & 0600u) != 0600u) {
        add(region_check, Level::Warn,
            fmt::format("{} has mode {:04o}: the client cannot map it", options.region_path,
                        region->mode),
            fmt::format("`porthole-vfio region --user NAME`: {} owned by that user and QEMU's "
                        "group, mode 0660, at every boot",
                        options.region_path));
    } else {
        add(region_check, Level::Pass,
            fmt::format("{} is {} MiB (mode {:04o})", options.region_path, region->size >> 20,
                        region->mode));
    }
    // QEMU makes the file as its own user, mode 0644: without a rule the desktop user
    // cannot write it (a udev rule does not apply to /dev/shm).
    if (options.region_path.starts_with("/dev/shm/")) {
        if (auto line = region_rule_line(sys, options.region_path)) {
            add("region-access", Level::Pass,
                fmt::format("{} gives it its owner and mode: {}", kRegionRuleFile, *line));
        } else {
            add("region-access", Level::Warn,
                fmt::format("no tmpfiles.d rule for {}: QEMU creates it as its own user with "
                            "mode 0644, and the desktop user cannot map it",
                            options.region_path),
                fmt::format("`porthole-vfio region --user NAME{}` writes {} (owner NAME, "
                            "QEMU's group, mode 0660)",
                            options.region_path == "/dev/shm/porthole"
                                ? std::string()
                                : " --path " + options.region_path,
                            kRegionRuleFile));
        }
    }

    // QEMU, libvirt, OVMF, swtpm, the default network; then --domain / --xml.
    append_vm_checks(sys, ids, options, out);
    return out;
}

}  // namespace porthole::vfio
