#pragma once
// Applying a pin plan to a running QEMU (vCPU thread ids over QMP, then
// sched_setaffinity) and isolating the host with systemd AllowedCPUs.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "porthole/vfio/topology.hpp"

namespace porthole::vfio {

struct VcpuThread {
    int cpu_index = 0;
    int64_t thread_id = 0;
};

struct VmThreads {
    std::vector<VcpuThread> vcpus;
    std::vector<int64_t> iothreads;
};

// Connects to a QMP unix socket, negotiates capabilities, runs query-cpus-fast and
// query-iothreads.
[[nodiscard]] Result<VmThreads> query_vm_threads(const std::string& socket_path);

// Pins each vCPU thread to its planned CPU and the iothreads to the host CPUs; with
// `qemu_pid`, every other thread of QEMU (the emulator) goes to the host CPUs too.
// Fails before pinning anything when QEMU has a different vCPU count.
[[nodiscard]] Status apply_pin_live(System& sys, const PinPlan& plan, const VmThreads& threads,
                                    std::optional<int> qemu_pid = std::nullopt);

// The slices the host runs in; AllowedCPUs on them keeps the host off the guest's CPUs.
inline const std::vector<std::string> kHostUnits = {"user.slice", "system.slice", "init.scope"};

// `systemctl set-property --runtime <unit> AllowedCPUs=<host>` for each host unit.
[[nodiscard]] Status isolate_host(System& sys, const std::vector<int>& host_cpus);
// Gives the host every CPU back.
[[nodiscard]] Status undo_isolation(System& sys, const std::vector<int>& all_cpus);

}  // namespace porthole::vfio
