#include "porthole/vfio/live_pin.hpp"

#include <algorithm>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "porthole/qmp/session.hpp"

namespace porthole::vfio {

Result<VmThreads> query_vm_threads(const std::string& socket_path) {
    auto qmp = porthole::qmp::Session::connect(socket_path);
    if (!qmp) return qmp.error();
    auto cpus = qmp->execute("query-cpus-fast");
    if (!cpus) return cpus.error();
    if (!cpus->is_array()) return Error::make("QMP query-cpus-fast returned no list");
    VmThreads out;
    // A thread id is what sched_setaffinity will be given: only positive numbers.
    const auto number = [](const nlohmann::json& j, const char* key) -> std::optional<int64_t> {
        if (!j.is_object()) return std::nullopt;
        const auto it = j.find(key);
        if (it == j.end() || !it->is_number_integer()) return std::nullopt;
        return it->get<int64_t>();
    };
    for (const auto& c : *cpus) {
        const auto index = number(c, "cpu-index"), tid = number(c, "thread-id");
        if (!index || !tid || *index < 0 || *index > 4096 || *tid <= 0)
            return Error::make(
                "QMP query-cpus-fast returned a vCPU without a valid "
                "cpu-index and thread-id: " +
                c.dump());
        out.vcpus.push_back({static_cast<int>(*index), *tid});
    }
    auto iothreads = qmp->execute("query-iothreads");
    if (!iothreads) return iothreads.error();
    if (!iothreads->is_array()) return Error::make("QMP query-iothreads returned no list");
    for (const auto& t : *iothreads) {
        const auto tid = number(t, "thread-id");
        if (!tid || *tid <= 0)
            return Error::make(
                "QMP query-iothreads returned an iothread without a valid "
                "thread-id: " +
                t.dump());
        out.iothreads.push_back(*tid);
    }
    return out;
}

Status apply_pin_live(System& sys, const PinPlan& plan, const VmThreads& threads,
                      std::optional<int> qemu_pid) {
    if (threads.vcpus.size() != plan.vcpu_to_cpu.size()) {
        return Error::make(
            fmt::format("the VM has {} vCPUs but the plan is for {}: run `pin --vcpus {}`",
                        threads.vcpus.size(), plan.vcpu_to_cpu.size(), threads.vcpus.size()));
    }
    for (const auto& t : threads.vcpus) {
        if (t.cpu_index < 0 || static_cast<size_t>(t.cpu_index) >= plan.vcpu_to_cpu.size()) {
            return Error::make(
                fmt::format("QMP reported vCPU index {} outside the plan", t.cpu_index));
        }
    }
    for (const auto& t : threads.vcpus) {
        int cpu = plan.vcpu_to_cpu[static_cast<size_t>(t.cpu_index)];
        if (auto s = sys.set_affinity(t.thread_id, std::to_string(cpu)); !s) return s;
    }
    const std::string host = format_cpu_list(plan.host_cpus);
    for (int64_t tid : threads.iothreads) {
        if (auto s = sys.set_affinity(tid, host); !s) return s;
    }
    if (!qemu_pid) return {};
    const auto tasks = sys.list(fmt::format("/proc/{}/task", *qemu_pid));
    if (tasks.empty()) {
        return Error::make(
            fmt::format("no QEMU process {} (no /proc/{}/task)", *qemu_pid, *qemu_pid));
    }
    for (const auto& name : tasks) {
        int64_t tid = 0;
        try {
            tid = std::stoll(name);
        } catch (const std::exception&) {
            continue;
        }
        bool is_vcpu = std::any_of(threads.vcpus.begin(), threads.vcpus.end(),
                                   [&](const VcpuThread& v) { return v.thread_id == tid; });
        bool is_iothread = std::find(threads.iothreads.begin(), threads.iothreads.end(), tid) !=
                           threads.iothreads.end();
        if (is_vcpu || is_iothread) continue;
        if (auto s = sys.set_affinity(tid, host); !s) return s;
    }
    return {};
}

Status isolate_host(System& sys, const std::vector<int>& host_cpus) {
    if (host_cpus.empty()) return Error::make("refusing to leave the host without CPUs");
    for (const auto& unit : kHostUnits) {
        auto s = sys.run({"systemctl", "set-property", "--runtime", unit,
                          "AllowedCPUs=" + format_cpu_list(host_cpus)});
        if (!s) return s;
    }
    return {};
}

Status undo_isolation(System& sys, const std::vector<int>& all_cpus) {
    for (const auto& unit : kHostUnits) {
        auto s = sys.run({"systemctl", "set-property", "--runtime", unit,
                          "AllowedCPUs=" + format_cpu_list(all_cpus)});
        if (!s) return s;
    }
    return {};
}

}  // namespace porthole::vfio
