#pragma once
// `doctor --domain NAME` / `--xml FILE`: an existing libvirt domain checked for each
// piece `vm define` writes, with the XML to add for each one missing.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "porthole/vfio/doctor.hpp"
#include "porthole/vfio/pci.hpp"

namespace porthole::vfio {

struct DomainCheckOptions {
    uint32_t width = 1920;  // the region must hold frames this large
    uint32_t height = 1080;
};

// One finding per piece, ids "domain <piece>": machine, firmware, gpu, memory,
// cputune, hyperv, kvm-hidden, ioapic, shmem, qmp, install-mode, acceleration.
// A document that is not a domain gives one failing "domain" finding.
[[nodiscard]] std::vector<Finding> check_domain(const System& sys, const PciIds& ids,
                                                std::string_view domain_xml,
                                                const DomainCheckOptions& options);

// What a domain asks of the host, for the prerequisite checks.
struct DomainNeeds {
    bool tpm = false;
    bool default_network = false;
};
[[nodiscard]] DomainNeeds domain_needs(std::string_view domain_xml);

// doctor's VM part: the host prerequisites, then the domain in options (if any).
void append_vm_checks(const System& sys, const PciIds& ids, const DoctorOptions& options,
                      std::vector<Finding>& out);

}  // namespace porthole::vfio
