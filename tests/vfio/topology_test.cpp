#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "porthole/vfio/topology.hpp"
#include "test_support.hpp"

namespace porthole::vfio {
namespace {

Topology load(const std::string& machine) {
    testing::FakeMachine m(machine);
    auto t = read_topology(m.sys);
    if (!t) throw std::runtime_error(t.error().message);
    return *t;
}

Core core_of(const Topology& t, int cpu) {
    for (const auto& c : t.cores) {
        if (std::count(c.threads.begin(), c.threads.end(), cpu)) return c;
    }
    throw std::runtime_error("no core for cpu");
}

TEST(Topology, ReadsHybridPAndECores) {
    Topology t = load("intel-desktop");
    EXPECT_TRUE(t.hybrid);
    ASSERT_EQ(t.cores.size(), 10u);
    EXPECT_EQ(core_of(t, 0).threads, (std::vector<int>{0, 1}));
    EXPECT_EQ(core_of(t, 0).type, CoreType::Performance);
    EXPECT_EQ(core_of(t, 13).threads, (std::vector<int>{13}));
    EXPECT_EQ(core_of(t, 13).type, CoreType::Efficiency);
}

TEST(Topology, ReadsTwoCcdsFromTheL3SharedCpuList) {
    Topology t = load("ryzen-2ccd");
    ASSERT_EQ(t.l3_domains.size(), 2u);
    EXPECT_EQ(core_of(t, 0).threads, (std::vector<int>{0, 12}));
    EXPECT_NE(core_of(t, 0).l3, core_of(t, 6).l3);
    EXPECT_EQ(core_of(t, 6).l3, core_of(t, 11).l3);
}

TEST(Topology, ReadsNumaNodesAndPackages) {
    Topology t = load("numa-server");
    EXPECT_EQ(t.nodes, 2);
    EXPECT_EQ(core_of(t, 4).node, 1);
    EXPECT_EQ(core_of(t, 4).package, 1);
    EXPECT_EQ(core_of(t, 12).node, 1);
}

TEST(PinPlan, LeavesCoreZeroAndItsSiblingToTheHost) {
    Topology t = load("ryzen-2ccd");
    auto plan = plan_pinning(t, {.vcpus = 8});
    ASSERT_TRUE(plan) << plan.error().message;
    for (int cpu : core_of(t, 0).threads) {
        EXPECT_TRUE(std::count(plan->host_cpus.begin(), plan->host_cpus.end(), cpu));
        EXPECT_FALSE(std::count(plan->guest_cpus.begin(), plan->guest_cpus.end(), cpu));
    }
}

TEST(PinPlan, KeepsWholeCoresWithSiblingsAsConsecutiveVcpus) {
    Topology t = load("ryzen-2ccd");
    auto plan = plan_pinning(t, {.vcpus = 8});
    ASSERT_TRUE(plan);
    ASSERT_EQ(plan->vcpu_to_cpu.size(), 8u);
    for (size_t v = 0; v < 8; v += 2) {
        EXPECT_EQ(core_of(t, plan->vcpu_to_cpu[v]).threads,
                  (std::vector<int>{plan->vcpu_to_cpu[v], plan->vcpu_to_cpu[v + 1]}));
    }
    EXPECT_EQ(plan->guest_threads, 2);
    EXPECT_EQ(plan->guest_cores, 4);
}

TEST(PinPlan, FitsTheGuestInOneCcxWhenItCan) {
    Topology t = load("ryzen-2ccd");
    auto plan = plan_pinning(t, {.vcpus = 12});
    ASSERT_TRUE(plan) << plan.error().message;
    std::set<int> l3s;
    for (int cpu : plan->guest_cpus)
        l3s.insert(core_of(t, cpu).l3);
    EXPECT_EQ(l3s.size(), 1u);
    EXPECT_TRUE(plan->notes.empty());
}

TEST(PinPlan, SaysSoWhenTheGuestMustSpanCcxs) {
    Topology t = load("ryzen-2ccd");
    auto plan = plan_pinning(t, {.vcpus = 16});
    ASSERT_TRUE(plan) << plan.error().message;
    EXPECT_EQ(plan->notes.size(), 1u);
    EXPECT_NE(plan->notes[0].find("L3"), std::string::npos);
}

TEST(PinPlan, StaysOnOneNumaNodeAndTunesMemoryThere) {
    Topology t = load("numa-server");
    auto plan = plan_pinning(t, {.vcpus = 8});
    ASSERT_TRUE(plan) << plan.error().message;
    ASSERT_TRUE(plan->numa_node);
    for (int cpu : plan->guest_cpus)
        EXPECT_EQ(core_of(t, cpu).node, *plan->numa_node);
    EXPECT_NE(pin_plan_xml(*plan).find(fmt::format("nodeset='{}'", *plan->numa_node)),
              std::string::npos);
}

TEST(PinPlan, PrefersPCoresOnHybridCpus) {
    Topology t = load("intel-desktop");
    auto plan = plan_pinning(t, {.vcpus = 8});
    ASSERT_TRUE(plan) << plan.error().message;
    for (int cpu : plan->guest_cpus)
        EXPECT_EQ(core_of(t, cpu).type, CoreType::Performance);
}

TEST(PinPlan, AddsECoresOnlyWhenPCoresRunOut) {
    Topology t = load("intel-desktop");
    auto plan = plan_pinning(t, {.vcpus = 12});  // 5 free P-cores hold 10
    ASSERT_TRUE(plan) << plan.error().message;
    int e = 0;
    for (int cpu : plan->guest_cpus)
        e += core_of(t, cpu).type == CoreType::Efficiency;
    EXPECT_EQ(e, 2);
    EXPECT_EQ(plan->guest_threads, 1);  // mixed SMT: plain cores for the guest
}

TEST(PinPlan, RefusesToSplitACore) {
    Topology t = load("ryzen-2ccd");
    auto plan = plan_pinning(t, {.vcpus = 7});
    ASSERT_FALSE(plan);
    EXPECT_NE(plan.error().message.find("multiple of 2"), std::string::npos);
}

TEST(PinPlan, TooManyVcpusSaysTheMaximum) {
    Topology t = load("ryzen-2ccd");
    auto plan = plan_pinning(t, {.vcpus = 24});
    ASSERT_FALSE(plan);
    EXPECT_NE(plan.error().message.find("at most 22"), std::string::npos);
}

TEST(PinPlan, XmlHasTopologyAndTopoextOnlyOnAmd) {
    auto amd = plan_pinning(load("ryzen-2ccd"), {.vcpus = 4});
    auto intel = plan_pinning(load("numa-server"), {.vcpus = 4});
    ASSERT_TRUE(amd && intel);
    std::string a = pin_plan_xml(*amd), i = pin_plan_xml(*intel);
    EXPECT_NE(a.find("<topology sockets='1' dies='1' cores='2' threads='2'/>"), std::string::npos);
    EXPECT_NE(a.find("name='topoext'"), std::string::npos);
    EXPECT_EQ(i.find("topoext"), std::string::npos);
    // Emulator and iothreads run where the guest does not: every CPU outside the plan.
    const std::string host = format_cpu_list(amd->host_cpus);
    EXPECT_NE(a.find("<emulatorpin cpuset='" + host + "'/>"), std::string::npos);
    EXPECT_NE(a.find("<iothreadpin iothread='1' cpuset='" + host + "'/>"), std::string::npos);
    EXPECT_EQ(amd->host_cpus.size() + amd->guest_cpus.size(), 24u);
}

TEST(Topology, AnAbsurdNodeNumberIsSkippedNotFatal) {
    testing::FakeMachine m("numa-server");
    m.copy.write("sys/devices/system/node/node99999999999/cpulist", "0-3\n");
    m.copy.write("sys/devices/system/node/node4294967296/cpulist", "0-3\n");
    auto t = read_topology(m.sys);
    ASSERT_TRUE(t) << t.error().message;
    EXPECT_EQ(t->nodes, 2);
}

TEST(Topology, AnOnlineListOfAbsurdCpuIdsIsAnErrorNotAHang) {
    testing::FakeMachine m("numa-server");
    m.copy.write("sys/devices/system/cpu/online", "2147483640-2147483647\n");
    auto t = read_topology(m.sys);
    ASSERT_FALSE(t);
    EXPECT_NE(t.error().message.find("no online CPUs"), std::string::npos);
}

TEST(PinPlan, IothreadsAndVcpusAreBounded) {
    Topology t = load("ryzen-2ccd");
    EXPECT_FALSE(plan_pinning(t, {.vcpus = 4, .iothreads = 1000000000}));
    EXPECT_FALSE(plan_pinning(t, {.vcpus = 4, .iothreads = -1}));
    EXPECT_FALSE(plan_pinning(t, {.vcpus = 2147483647}));
}

}  // namespace
}  // namespace porthole::vfio
