#include "porthole/vfio/topology.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

namespace porthole::vfio {

namespace {

std::optional<int> read_int(const System& sys, const std::string& path) {
    auto text = sys.read_trimmed(path);
    if (!text) return std::nullopt;
    try {
        return std::stoi(*text);
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

}  // namespace

std::vector<int> Topology::all_cpus() const {
    std::vector<int> cpus;
    for (const auto& c : cores)
        cpus.insert(cpus.end(), c.threads.begin(), c.threads.end());
    std::sort(cpus.begin(), cpus.end());
    return cpus;
}

int Topology::threads_per_core() const {
    size_t most = 1;
    for (const auto& c : cores)
        most = std::max(most, c.threads.size());
    return static_cast<int>(most);
}

Result<Topology> read_topology(const System& sys) {
    const std::string base = "/sys/devices/system/cpu";
    auto online_text = sys.read_trimmed(base + "/online");
    if (!online_text) {
        return Error::make("cannot read /sys/devices/system/cpu/online: is --sysfs-root right?");
    }
    Topology topo;
    topo.vendor = read_host_info(sys).vendor;
    std::map<int, int> cpu_node;
    for (const auto& name : sys.list("/sys/devices/system/node")) {
        // Bounded like every number read here: a node name is not trusted to fit an int.
        auto number = name.starts_with("node")
                          ? parse_decimal(std::string_view(name).substr(4), kMaxNumaNode)
                          : std::nullopt;
        if (!number) continue;
        int node = static_cast<int>(*number);
        for (int cpu : parse_cpu_list(
                 sys.read_trimmed("/sys/devices/system/node/" + name + "/cpulist").value_or(""))) {
            cpu_node[cpu] = node;
        }
        topo.nodes = std::max(topo.nodes, node + 1);
    }
    auto p_cores = parse_cpu_list(sys.read_trimmed("/sys/devices/cpu_core/cpus").value_or(""));
    auto e_cores = parse_cpu_list(sys.read_trimmed("/sys/devices/cpu_atom/cpus").value_or(""));
    topo.hybrid = !p_cores.empty() && !e_cores.empty();

    std::set<int> seen;
    std::map<std::string, int> l3_index;
    for (int cpu : parse_cpu_list(*online_text)) {
        if (seen.count(cpu)) continue;
        std::string dir = fmt::format("{}/cpu{}", base, cpu);
        Core core;
        auto siblings =
            parse_cpu_list(sys.read_trimmed(dir + "/topology/thread_siblings_list").value_or(""));
        core.threads = siblings.empty() ? std::vector<int>{cpu} : siblings;
        core.package = read_int(sys, dir + "/topology/physical_package_id").value_or(0);
        core.node = cpu_node.count(cpu) ? cpu_node[cpu] : 0;
        std::string l3 = fmt::format("package{}", core.package);  // no L3 info: one per package
        for (const auto& index : sys.list(dir + "/cache")) {
            if (!index.starts_with("index")) continue;
            if (read_int(sys, dir + "/cache/" + index + "/level").value_or(0) == 3) {
                l3 = sys.read_trimmed(dir + "/cache/" + index + "/shared_cpu_list").value_or(l3);
            }
        }
        auto [it, inserted] = l3_index.emplace(l3, static_cast<int>(l3_index.size()));
        if (inserted) {
            auto cpus = parse_cpu_list(l3);
            topo.l3_domains.push_back(cpus.empty() ? core.threads : cpus);
        }
        core.l3 = it->second;
        if (topo.hybrid) {
            core.type = std::count(p_cores.begin(), p_cores.end(), cpu) ? CoreType::Performance
                                                                        : CoreType::Efficiency;
        }
        for (int t : core.threads)
            seen.insert(t);
        topo.cores.push_back(std::move(core));
    }
    if (topo.cores.empty()) return Error::make("no online CPUs found under " + base);
    std::sort(topo.cores.begin(), topo.cores.end(),
              [](const Core& a, const Core& b) { return a.threads.front() < b.threads.front(); });
    return topo;
}

Result<PinPlan> plan_pinning(const Topology& topo, const PinOptions& options) {
    if (options.vcpus <= 0) return Error::make("--vcpus must be at least 1");
    if (options.vcpus > kMaxCpuId + 1) {
        return Error::make(fmt::format("--vcpus {} is more CPUs than any host has", options.vcpus));
    }
    if (options.iothreads < 0 || options.iothreads > 64) {
        return Error::make("--iothreads must be between 0 and 64");
    }
    if (options.host_cores < 1) {
        return Error::make("--host-cores must be at least 1: the host needs a core");
    }
    const int total_cores = static_cast<int>(topo.cores.size());
    if (options.host_cores >= total_cores) {
        return Error::make(fmt::format("--host-cores {} leaves no core for the guest ({} cores)",
                                       options.host_cores, total_cores));
    }
    PinPlan plan;
    plan.amd = topo.vendor == CpuVendor::Amd;
    plan.iothreads = options.iothreads;

    auto threads = [](const Core* c) { return static_cast<int>(c->threads.size()); };
    std::vector<const Core*> pool;
    for (int i = options.host_cores; i < total_cores; ++i) {
        pool.push_back(&topo.cores[static_cast<size_t>(i)]);
    }
    int capacity = 0;
    for (auto* c : pool)
        capacity += threads(c);
    if (options.vcpus > capacity) {
        return Error::make(
            fmt::format("{} vCPUs do not fit: {} CPUs are left after {} core(s) for the host; ask "
                        "for at most {}",
                        options.vcpus, capacity, options.host_cores, capacity));
    }
    // Hybrid: P-cores first; E-cores only when the P-cores run out.
    std::stable_sort(pool.begin(), pool.end(), [](const Core* a, const Core* b) {
        return a->type == CoreType::Performance && b->type != CoreType::Performance;
    });

    // Whole cores from `cores`, in order, exactly `vcpus` threads; empty when impossible.
    auto take = [&](const std::vector<const Core*>& cores) {
        std::vector<const Core*> out;
        int n = 0;
        for (auto* c : cores) {
            if (n >= options.vcpus) break;
            out.push_back(c);
            n += threads(c);
        }
        if (n != options.vcpus) out.clear();
        return out;
    };
    // The smallest domain (by `key`) that holds the guest.
    auto best_fit = [&](const std::vector<const Core*>& cores, auto key) {
        std::map<int, std::vector<const Core*>> domains;
        for (auto* c : cores)
            domains[key(*c)].push_back(c);
        std::vector<const Core*> best;
        int best_capacity = 0;
        for (const auto& [k, members] : domains) {
            auto picked = take(members);
            int cap = 0;
            for (auto* c : members)
                cap += threads(c);
            if (!picked.empty() && (best.empty() || cap < best_capacity)) {
                best = picked;
                best_capacity = cap;
            }
        }
        return best;
    };
    auto plan_on = [&](const std::vector<const Core*>& cores) {
        auto chosen = best_fit(cores, [](const Core& c) { return c.l3; });
        if (!chosen.empty()) return chosen;
        chosen = best_fit(cores, [](const Core& c) { return c.node; });
        if (!chosen.empty()) {
            if (topo.l3_domains.size() > 1) {
                plan.notes.push_back(
                    "the guest spans more than one L3 cache (CCX): expect some "
                    "cross-CCX latency");
            }
            return chosen;
        }
        chosen = take(cores);
        if (!chosen.empty() && topo.nodes > 1) {
            plan.notes.push_back(
                "the guest spans NUMA nodes: memory latency differs between vCPUs");
        }
        return chosen;
    };

    std::vector<const Core*> chosen;
    if (topo.hybrid) {
        std::vector<const Core*> p_cores;
        for (auto* c : pool) {
            if (c->type == CoreType::Performance) p_cores.push_back(c);
        }
        chosen = plan_on(p_cores);
        if (chosen.empty()) {
            chosen = take(pool);
            if (!chosen.empty())
                plan.notes.push_back("not enough P-cores: the guest gets E-cores too");
        }
    } else {
        chosen = plan_on(pool);
    }
    if (chosen.empty()) {
        return Error::make(fmt::format(
            "{} vCPUs would split a core between guest and host ({} threads per core): use a "
            "multiple of {}",
            options.vcpus, topo.threads_per_core(), topo.threads_per_core()));
    }

    std::set<int> nodes;
    std::set<size_t> thread_counts;
    for (const Core* c : chosen) {
        nodes.insert(c->node);
        thread_counts.insert(c->threads.size());
        // Siblings get consecutive vCPU numbers: the guest sees them as one core's threads.
        for (int cpu : c->threads) {
            plan.vcpu_to_cpu.push_back(cpu);
            plan.guest_cpus.push_back(cpu);
        }
    }
    if (thread_counts.size() == 1) {
        plan.guest_cores = static_cast<int>(chosen.size());
        plan.guest_threads = static_cast<int>(*thread_counts.begin());
    } else {
        plan.guest_cores = options.vcpus;
        plan.guest_threads = 1;
        plan.notes.push_back(
            "cores with and without SMT mixed: the guest sees single-thread cores");
    }
    if (nodes.size() == 1) plan.numa_node = *nodes.begin();
    for (int cpu : topo.all_cpus()) {
        if (std::find(plan.guest_cpus.begin(), plan.guest_cpus.end(), cpu) ==
            plan.guest_cpus.end()) {
            plan.host_cpus.push_back(cpu);
        }
    }
    std::sort(plan.guest_cpus.begin(), plan.guest_cpus.end());
    return plan;
}

std::string pin_plan_xml(const PinPlan& plan) {
    std::string host = format_cpu_list(plan.host_cpus);
    std::string x;
    x += fmt::format("<vcpu placement='static'>{}</vcpu>\n", plan.vcpu_to_cpu.size());
    if (plan.iothreads > 0) x += fmt::format("<iothreads>{}</iothreads>\n", plan.iothreads);
    x += "<cputune>\n";
    for (size_t i = 0; i < plan.vcpu_to_cpu.size(); ++i) {
        x += fmt::format("  <vcpupin vcpu='{}' cpuset='{}'/>\n", i, plan.vcpu_to_cpu[i]);
    }
    x += fmt::format("  <emulatorpin cpuset='{}'/>\n", host);
    for (int i = 1; i <= plan.iothreads; ++i) {
        x += fmt::format("  <iothreadpin iothread='{}' cpuset='{}'/>\n", i, host);
    }
    x += "</cputune>\n";
    if (plan.numa_node) {
        x += fmt::format("<numatune>\n  <memory mode='strict' nodeset='{}'/>\n</numatune>\n",
                         *plan.numa_node);
    }
    x += "<cpu mode='host-passthrough' check='none' migratable='off'>\n";
    x += fmt::format("  <topology sockets='1' dies='1' cores='{}' threads='{}'/>\n",
                     plan.guest_cores, plan.guest_threads);
    x += "  <cache mode='passthrough'/>\n";
    // Without topoext an AMD guest sees no SMT and schedules sibling threads as cores.
    if (plan.amd) x += "  <feature policy='require' name='topoext'/>\n";
    x += "</cpu>\n";
    return x;
}

}  // namespace porthole::vfio
