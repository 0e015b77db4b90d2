#include "porthole/vfio/bind.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include <fmt/format.h>

#include "porthole/util/defer.hpp"
#include "porthole/vfio/host_use.hpp"

namespace porthole::vfio {

namespace {

std::string device_dir(const std::string& bdf) {
    return std::string(kPciDevices) + "/" + bdf;
}

std::string current_driver(const System& sys, const std::string& bdf) {
    return sys.link_name(device_dir(bdf) + "/driver").value_or("");
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

// The console on a framebuffer: unbinding the boot GPU's driver takes it away.
std::vector<std::string> bound_framebuffer_consoles(const System& sys) {
    std::vector<std::string> out;
    for (const auto& vt : sys.list("/sys/class/vtconsole")) {
        std::string dir = "/sys/class/vtconsole/" + vt;
        auto name = sys.read_trimmed(dir + "/name").value_or("");
        if (name.find("frame buffer") != std::string::npos &&
            sys.read_trimmed(dir + "/bind").value_or("0") == "1") {
            out.push_back(vt);
        }
    }
    return out;
}

// Moves one device to vfio-pci. On failure the device is already back on `previous`.
Status bind_one(System& sys, const std::string& bdf, const std::string& previous);

// Returns `bdf` to `previous` (empty: leave unbound). Best effort, every step verified.
Status restore_one(System& sys, const std::string& bdf, const std::string& previous) {
    const std::string dir = device_dir(bdf);
    std::vector<std::string> problems;
    if (auto s = sys.write_attribute(dir + "/driver_override", "\n"); !s) {
        problems.push_back(s.error().message);
    }
    std::string now = current_driver(sys, bdf);
    if (!now.empty() && now != previous) {
        if (auto s = sys.write_attribute(std::string(kPciDrivers) + "/" + now + "/unbind", bdf);
            !s) {
            problems.push_back(s.error().message);
        }
    }
    if (!previous.empty() && (sys.dry_run() || current_driver(sys, bdf) != previous)) {
        // Explicit bind first: drivers_probe could let another driver win the match.
        auto s = sys.write_attribute(std::string(kPciDrivers) + "/" + previous + "/bind", bdf);
        if (!s && !sys.dry_run()) {
            if (auto p = sys.write_attribute("/sys/bus/pci/drivers_probe", bdf); !p) {
                problems.push_back(p.error().message);
            }
        }
        if (!sys.dry_run() && current_driver(sys, bdf) != previous) {
            problems.push_back(fmt::format("{} did not return to {}{}", bdf, previous,
                                           s ? "" : ": " + s.error().message));
        }
    }
    if (problems.empty()) return {};
    std::string msg = problems.front();
    for (size_t i = 1; i < problems.size(); ++i)
        msg += "; " + problems[i];
    return Error::make(msg);
}

Status bind_one(System& sys, const std::string& bdf, const std::string& previous) {
    const std::string dir = device_dir(bdf);
    Defer rollback([&] { (void)restore_one(sys, bdf, previous); });
    auto fail = [&](const std::string& what) -> Status {
        return Error::make(fmt::format("binding {} to vfio-pci failed: {}", bdf, what));
    };

    if (auto s = sys.write_attribute(dir + "/driver_override", kVfioDriver); !s) {
        return fail(s.error().message);
    }
    if (!sys.dry_run() && sys.read_trimmed(dir + "/driver_override").value_or("") != kVfioDriver) {
        return fail("driver_override did not keep 'vfio-pci' (kernel older than 3.16?)");
    }
    if (!previous.empty()) {
        auto s = sys.write_attribute(std::string(kPciDrivers) + "/" + previous + "/unbind", bdf);
        if (!s) return fail(s.error().message);
        if (!sys.dry_run() && !current_driver(sys, bdf).empty()) {
            return fail(fmt::format("{} still holds the device after unbind", previous));
        }
    }
    if (auto s = sys.write_attribute("/sys/bus/pci/drivers_probe", bdf); !s) {
        return fail(s.error().message);
    }
    if (!sys.dry_run()) {
        std::string now = current_driver(sys, bdf);
        if (now != kVfioDriver) {
            return fail(now.empty() ? "no driver took the device after drivers_probe (is "
                                      "vfio-pci refusing it? see `dmesg | grep vfio`)"
                                    : fmt::format("{} took the device instead of vfio-pci", now));
        }
    }
    if (!previous.empty()) {
        if (auto s = sys.write_file(previous_driver_file(bdf), previous + "\n"); !s) {
            return fail(s.error().message);
        }
    }
    rollback.dismiss();
    return {};
}

}  // namespace

std::string previous_driver_file(const std::string& bdf) {
    return "/run/porthole-vfio/" + bdf + ".driver";
}

std::optional<std::string> remembered_driver(const System& sys, const std::string& bdf,
                                             std::vector<std::string>& notes) {
    const std::string file = previous_driver_file(bdf);
    auto text = sys.read_if_exists(file);
    if (!text) {
        notes.push_back(fmt::format("ignored {}: {}", file, text.error().message));
        return std::nullopt;
    }
    if (!*text) return std::nullopt;
    // The file sits in /run, but a root tool still treats it as input: a driver name only.
    std::string name = trim(**text);
    bool valid =
        !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
        });
    if (!valid || name == kVfioDriver) {
        std::string shown;
        for (char c : (*text)->substr(0, 40))
            shown += std::isprint(static_cast<unsigned char>(c)) != 0 ? c : '?';
        notes.push_back(fmt::format("ignored {}: it holds '{}', not a PCI driver name", file,
                                    valid_utf8(shown)));
        return std::nullopt;
    }
    if (!sys.exists(std::string(kPciDrivers) + "/" + name)) {
        notes.push_back(fmt::format("{} used {} before, which is not loaded now (`modprobe {}`)",
                                    bdf, name, name));
        return std::nullopt;
    }
    return name;
}

Result<BindReport> bind_devices(System& sys, const PciIds& ids,
                                const std::vector<std::string>& requested_bdfs,
                                const BindOptions& options) {
    if (requested_bdfs.empty()) return Error::make("no device given: name at least one BDF");
    std::vector<std::string> wanted;
    for (const auto& text : requested_bdfs) {
        auto bdf = normalize_bdf(text);
        if (!bdf) return bdf.error();
        if (!contains(wanted, *bdf)) wanted.push_back(*bdf);
    }
    std::map<std::string, PciDevice> devices;
    for (const auto& d : read_pci_devices(sys, ids))
        devices.emplace(d.bdf, d);

    BindReport report;
    // Related functions: other functions of the same card.
    for (size_t i = 0; i < wanted.size(); ++i) {
        auto it = devices.find(wanted[i]);
        if (it == devices.end()) {
            return Error::make(
                fmt::format("no PCI device {} (not in {}); list devices with `lspci -D`", wanted[i],
                            kPciDevices));
        }
        for (const auto& [bdf, other] : devices) {
            if (other.slot() != it->second.slot() || contains(wanted, bdf)) continue;
            if (options.with_functions) {
                wanted.push_back(bdf);
                report.notes.push_back(fmt::format("also binding {} ({}), another function of {}",
                                                   bdf, other.class_name(), it->second.bdf));
            } else {
                report.notes.push_back(fmt::format(
                    "{} ({}) is another function of the same card; pass it too for the card's "
                    "HDMI audio / USB-C (add it, or use --with-functions)",
                    bdf, other.class_name()));
            }
        }
    }

    // The whole group goes to the guest or nothing does.
    std::set<int> checked_groups;
    for (size_t i = 0; i < wanted.size(); ++i) {
        const PciDevice& d = devices.at(wanted[i]);
        if (!d.iommu_group) {
            return Error::make(fmt::format(
                "{} has no IOMMU group: the IOMMU is off. Run `porthole-vfio groups` for the "
                "kernel flags to add",
                d.bdf));
        }
        if (!checked_groups.insert(*d.iommu_group).second) continue;
        for (const auto& [bdf, mate] : devices) {
            if (mate.iommu_group != d.iommu_group || contains(wanted, bdf) || mate.is_bridge()) {
                continue;
            }
            if (mate.is_chipset()) {
                return Error::make(fmt::format(
                    "{} shares IOMMU group {} with {} ({}), which the host cannot give away; "
                    "move the card to another slot (see `porthole-vfio groups`)",
                    d.bdf, *d.iommu_group, bdf, mate.class_name()));
            }
            if (mate.driver.empty() || mate.driver == kVfioDriver) continue;
            if (options.with_group) {
                wanted.push_back(bdf);
                report.notes.push_back(fmt::format("also binding group-mate {} ({}, was {})", bdf,
                                                   mate.class_name(), mate.driver));
            } else if (mate.slot() != d.slot()) {
                return Error::make(fmt::format(
                    "{} shares IOMMU group {} with {} ({}, on {}), which is not part of the card "
                    "but a device of the host: vfio needs the whole group, so the host would lose "
                    "it. {} (--with-group takes the whole group, after checking what the host "
                    "loses)",
                    d.bdf, *d.iommu_group, bdf, mate.class_name(), mate.driver,
                    shared_group_choices()));
            } else {
                return Error::make(fmt::format(
                    "{} shares IOMMU group {} with {} ({}), still bound to the host driver {}: "
                    "vfio needs the whole group. Bind both (`porthole-vfio bind {} {}`) or add "
                    "--with-group",
                    d.bdf, *d.iommu_group, bdf, mate.class_name(), mate.driver, d.bdf, bdf));
            }
        }
    }

    // Firmware-pinned memory: vfio-pci would take the device, the guest never could.
    for (const auto& bdf : wanted) {
        const PciDevice& d = devices.at(bdf);
        auto pinned = read_direct_regions(sys, *d.iommu_group);
        if (pinned.empty()) continue;
        std::string why = fmt::format(
            "{} is in IOMMU group {}, for which the firmware reserves memory (RMRR {}): the "
            "kernel refuses to attach it to a guest (\"Device is ineligible for IOMMU domain "
            "attach due to platform RMRR requirement\")",
            bdf, *d.iommu_group, pinned.front());
        if (!options.force) {
            return Error::make(why +
                               ". Ways out: put the card in another slot; update the firmware, or "
                               "turn the reservation off where it allows (HP ProLiant: disable "
                               "\"HP Shared Memory features\" for the slot); or run a kernel "
                               "patched to ignore RMRRs (not in mainline, at your own risk). "
                               "--force binds it anyway");
        }
        report.notes.push_back("--force: " + why);
    }

    // What the host loses; refused when it cannot do without it.
    std::vector<PciDevice> taken;
    for (const auto& bdf : wanted) {
        if (devices.at(bdf).driver != kVfioDriver) taken.push_back(devices.at(bdf));
    }
    HostLoss loss = assess_host_loss(sys, taken);
    loss.critical.insert(loss.critical.end(), loss.display.begin(), loss.display.end());
    if (!loss.critical.empty() && !options.force) {
        std::string msg = "refusing to take what the host needs: ";
        for (size_t i = 0; i < loss.critical.size(); ++i)
            msg += (i ? "; " : "") + loss.critical[i];
        if (loss.lost.size() > loss.critical.size()) {
            msg += ". The host would lose: ";
            for (size_t i = 0; i < loss.lost.size(); ++i)
                msg += (i ? "; " : "") + loss.lost[i];
        }
        msg +=
            ". Give the guest a device the host can spare (`porthole-vfio groups`), move what the "
            "host needs elsewhere (another USB port or controller, another disk or NIC, the "
            "monitor on another GPU), or add --force to take it anyway";
        return Error::make(msg);
    }
    for (const auto& c : loss.critical)
        report.notes.push_back("--force: taking it anyway: " + c);
    for (const auto& l : loss.lost)
        report.notes.push_back("the host loses the " + l);

    if (!sys.exists(std::string(kPciDrivers) + "/" + kVfioDriver)) {
        return Error::make(
            "the vfio-pci driver is not loaded (no /sys/bus/pci/drivers/vfio-pci): run "
            "`modprobe vfio-pci`, and `porthole-vfio persist` to load it at boot");
    }

    for (const auto& bdf : wanted) {
        const PciDevice& d = devices.at(bdf);
        if (!d.boot_vga) continue;
        for (const auto& claim : find_framebuffer_claims(sys, d)) {
            report.notes.push_back(explain_framebuffer(claim));
        }
        for (const auto& vt : bound_framebuffer_consoles(sys)) {
            report.notes.push_back(fmt::format(
                "{} is the boot GPU and the text console ({}) draws on it: the host console goes "
                "blank once it leaves its driver (write 0 to /sys/class/vtconsole/{}/bind first)",
                bdf, vt, vt));
        }
    }

    std::vector<std::pair<std::string, std::string>> done;  // bdf, previous driver
    Defer rollback_all([&] {
        for (auto it = done.rbegin(); it != done.rend(); ++it) {
            (void)restore_one(sys, it->first, it->second);
        }
    });
    for (const auto& bdf : wanted) {
        const PciDevice& d = devices.at(bdf);
        if (d.driver == kVfioDriver) {
            report.already.push_back(bdf);
            continue;
        }
        if (auto s = bind_one(sys, bdf, d.driver); !s) {
            std::string msg = s.error().message;
            if (!done.empty()) {
                msg += "; returned";
                for (const auto& [b, prev] : done) {
                    msg += fmt::format(" {} to {}", b, prev.empty() ? "no driver" : prev);
                }
            }
            msg +=
                fmt::format("; {} is back on {}", bdf, d.driver.empty() ? "no driver" : d.driver);
            return Error::make(msg);
        }
        done.emplace_back(bdf, d.driver);
        report.bound.push_back(bdf);
    }
    rollback_all.dismiss();
    return report;
}

Result<UnbindReport> unbind_devices(System& sys, const PciIds& ids,
                                    const std::vector<std::string>& requested_bdfs) {
    if (requested_bdfs.empty()) return Error::make("no device given: name at least one BDF");
    UnbindReport report;
    for (const auto& text : requested_bdfs) {
        auto bdf = normalize_bdf(text);
        if (!bdf) return bdf.error();
        auto dev = read_pci_device(sys, *bdf, ids);
        if (!dev) return dev.error();
        if (dev->driver != kVfioDriver && dev->driver_override != kVfioDriver) {
            report.skipped.push_back(fmt::format("{} is not on vfio-pci ({})", *bdf,
                                                 dev->driver.empty() ? "no driver" : dev->driver));
            continue;
        }
        const bool has_memory = sys.exists(previous_driver_file(*bdf));
        std::string remembered = remembered_driver(sys, *bdf, report.notes).value_or("");
        const std::string dir = device_dir(*bdf);
        if (auto s = sys.write_attribute(dir + "/driver_override", "\n"); !s) return s.error();
        if (dev->driver == kVfioDriver) {
            auto s = sys.write_attribute(std::string(kPciDrivers) + "/vfio-pci/unbind", *bdf);
            if (!s) return s.error();
        }
        if (auto s = sys.write_attribute("/sys/bus/pci/drivers_probe", *bdf); !s) return s.error();
        std::string now = current_driver(sys, *bdf);
        if (!sys.dry_run() && now.empty() && !remembered.empty()) {
            auto s =
                sys.write_attribute(std::string(kPciDrivers) + "/" + remembered + "/bind", *bdf);
            if (!s) report.notes.push_back(s.error().message);
            now = current_driver(sys, *bdf);
        }
        if (sys.dry_run()) {
            report.restored.push_back(*bdf + " -> native driver (dry run)");
        } else if (now.empty()) {
            report.notes.push_back(fmt::format(
                "no host driver claimed {}{}", *bdf,
                remembered.empty()
                    ? "; load its driver with modprobe"
                    : fmt::format("; load {} (`modprobe {}`)", remembered, remembered)));
        } else if (now == kVfioDriver) {
            return Error::make(fmt::format("{} is still on vfio-pci after unbind", *bdf));
        } else {
            report.restored.push_back(*bdf + " -> " + now);
            if (!remembered.empty() && now != remembered) {
                report.notes.push_back(
                    fmt::format("{} went to {}, not {} as before bind", *bdf, now, remembered));
            }
        }
        if (has_memory) {
            if (auto s = sys.remove_file(previous_driver_file(*bdf)); !s) {
                report.notes.push_back(s.error().message);
            }
        }
    }
    return report;
}

}  // namespace porthole::vfio
