#pragma once
// CPU topology from /sys/devices/system: cores with their SMT siblings, the L3
// (CCX) each shares, NUMA nodes, and hybrid P/E core types; and a pinning plan on it.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "porthole/vfio/host.hpp"

namespace porthole::vfio {

enum class CoreType { Unknown, Performance, Efficiency };

// Highest NUMA node number accepted (the kernel's MAX_NUMNODES is at most 1024).
inline constexpr uint64_t kMaxNumaNode = 1023;

struct Core {
    std::vector<int> threads;  // logical CPUs, SMT siblings, sorted
    int package = 0;
    int node = 0;
    int l3 = 0;  // index of the L3 domain (CCX on AMD)
    CoreType type = CoreType::Unknown;
};

struct Topology {
    CpuVendor vendor = CpuVendor::Other;
    std::vector<Core> cores;                   // sorted by first thread
    std::vector<std::vector<int>> l3_domains;  // CPUs per L3
    int nodes = 1;
    bool hybrid = false;

    [[nodiscard]] std::vector<int> all_cpus() const;
    [[nodiscard]] int threads_per_core() const;
};

[[nodiscard]] Result<Topology> read_topology(const System& sys);

struct PinOptions {
    int vcpus = 0;
    int host_cores = 1;  // whole cores left to the host, starting with core 0
    int iothreads = 1;
};

struct PinPlan {
    std::vector<int> vcpu_to_cpu;  // index: vCPU number
    std::vector<int> host_cpus;    // emulator, iothreads and the rest of the host
    std::vector<int> guest_cpus;
    int guest_cores = 0;
    int guest_threads = 1;         // SMT threads per guest core
    std::optional<int> numa_node;  // all vCPUs on one node
    int iothreads = 1;
    bool amd = false;
    std::vector<std::string> notes;  // trade-offs the plan made
};

// Whole cores only; one L3 then one NUMA node when possible; P-cores before E-cores.
[[nodiscard]] Result<PinPlan> plan_pinning(const Topology& topology, const PinOptions& options);

// <vcpu>, <iothreads>, <cputune>, <numatune> and <cpu mode='host-passthrough'> for the domain XML.
[[nodiscard]] std::string pin_plan_xml(const PinPlan& plan);

}  // namespace porthole::vfio
