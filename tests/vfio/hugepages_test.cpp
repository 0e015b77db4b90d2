#include <gtest/gtest.h>

#include <algorithm>

#include "porthole/vfio/hugepages.hpp"
#include "test_support.hpp"

namespace porthole::vfio {
namespace {

constexpr uint64_t kGiB = 1024ull * 1024 * 1024;

TEST(HugepageSizes, ParsesUnits) {
    EXPECT_EQ(*parse_size("16G"), 16 * kGiB);
    EXPECT_EQ(*parse_size("512M"), 512ull * 1024 * 1024);
    EXPECT_EQ(*parse_size("2GiB"), 2 * kGiB);
    EXPECT_FALSE(parse_size("lots"));
    EXPECT_FALSE(parse_size("3T"));
    EXPECT_EQ(*parse_page_size("1G"), 1048576u);
    EXPECT_FALSE(parse_page_size("4M"));
}

TEST(Hugepages, ReservesAfterDroppingCachesAndCompacting) {
    testing::FakeMachine m("intel-desktop");
    auto r = reserve_hugepages(m.sys, {.bytes = 2 * kGiB, .page_kib = 2048});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->pages_after, 1024u);
    EXPECT_EQ(m.sys.read_trimmed(nr_hugepages_path(2048, std::nullopt)), "1024");
    ASSERT_EQ(m.sys.journal().size(), 3u);
    EXPECT_EQ(m.sys.journal()[0].path, "/proc/sys/vm/drop_caches");
    EXPECT_EQ(m.sys.journal()[1].path, "/proc/sys/vm/compact_memory");
    EXPECT_EQ(m.sys.journal()[2].value, "1024");
}

TEST(Hugepages, AddsToThePoolAlreadyThere) {
    testing::FakeMachine m("numa-server");  // 1024 pages of 2 MiB reserved at boot
    auto r = reserve_hugepages(m.sys, {.bytes = kGiB, .page_kib = 2048});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->pages_before, 1024u);
    EXPECT_EQ(r->pages_after, 1536u);
}

TEST(Hugepages, RetriesThenRollsBackAndReportsTheShortfall) {
    testing::FakeMachine m("intel-desktop");
    const std::string path = nr_hugepages_path(1048576, std::nullopt);
    m.state->hugepage_capacity[path] = 3;  // memory too fragmented for more
    auto r = reserve_hugepages(m.sys, {.bytes = 8 * kGiB, .page_kib = 1048576});
    ASSERT_FALSE(r);
    EXPECT_EQ(m.state->compactions, 3);
    EXPECT_NE(r.error().message.find("only 3 of 8 1 GiB pages"), std::string::npos);
    EXPECT_NE(r.error().message.find("5120 MiB short"), std::string::npos);
    EXPECT_NE(r.error().message.find("hugepagesz=1G hugepages=8"), std::string::npos);
    EXPECT_EQ(m.sys.read_trimmed(path), "0");
}

TEST(Hugepages, ReservesOnOneNumaNode) {
    testing::FakeMachine m("numa-server");
    auto r = reserve_hugepages(m.sys, {.bytes = 4 * kGiB, .page_kib = 1048576, .node = 1});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(m.sys.read_trimmed(nr_hugepages_path(1048576, 1)), "4");
    EXPECT_EQ(m.sys.read_trimmed(nr_hugepages_path(1048576, 0)), "0");
}

TEST(Hugepages, MissingPageSizeSaysWhy) {
    testing::FakeMachine m("iommu-off");  // no 1 GiB pool on this CPU
    auto r = reserve_hugepages(m.sys, {.bytes = kGiB, .page_kib = 1048576});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("pdpe1gb"), std::string::npos);
    EXPECT_TRUE(m.sys.journal().empty());
}

TEST(Hugepages, ReleaseShrinksThePoolButNeverBelowZero) {
    testing::FakeMachine m("numa-server");
    auto r = release_hugepages(m.sys, {.bytes = kGiB, .page_kib = 2048});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->pages_after, 512u);
    auto all = release_hugepages(m.sys, {.bytes = 64 * kGiB, .page_kib = 2048});
    ASSERT_TRUE(all);
    EXPECT_EQ(all->pages_after, 0u);
}

TEST(Hugepages, ReleaseReportsPagesStillInUse) {
    testing::FakeMachine m("numa-server");
    const std::string path = nr_hugepages_path(2048, std::nullopt);
    m.state->hugepages_in_use[path] = 1000;                             // a running VM holds them
    auto r = release_hugepages(m.sys, {.bytes = 0, .page_kib = 2048});  // 0: all
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("1000 2 MiB pages are still in use"), std::string::npos);
}

TEST(HugepageSizes, SizesThatDoNotFitSixtyFourBitsAreRefused) {
    auto r = parse_size("999999999999999G");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("too large"), std::string::npos);
    EXPECT_TRUE(parse_size("18446744073709551615"));
    EXPECT_FALSE(parse_size("18446744073709551616"));
    EXPECT_FALSE(parse_size("17179869184G"));  // 2^34 GiB = 2^64 bytes
    EXPECT_TRUE(parse_size("17179869183G"));
    EXPECT_FALSE(parse_size("99999999999999999999999999999M"));
}

TEST(Hugepages, MoreThanTheHostsMemoryIsRefusedBeforeAnyWrite) {
    testing::FakeMachine m("intel-desktop");  // 31 GiB of RAM
    auto r = reserve_hugepages(m.sys, {.bytes = 64 * kGiB, .page_kib = 1048576});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("more than this host's memory"), std::string::npos);
    EXPECT_TRUE(m.sys.journal().empty());
}

TEST(HugepagePools, EveryPoolAndEveryNodeIsRead) {
    testing::FakeMachine m("usb-keyboard-group");  // 8 x 1 GiB at boot; meminfo counts 2 MiB
    auto pools = read_hugepage_pools(m.sys);
    auto find = [&](uint64_t kib, std::optional<int> node) {
        auto it = std::find_if(pools.begin(), pools.end(), [&](const HugepagePool& p) {
            return p.page_kib == kib && p.node == node;
        });
        return it == pools.end() ? HugepagePool{} : *it;
    };
    EXPECT_EQ(find(1048576, std::nullopt).total, 8u);
    EXPECT_EQ(find(1048576, std::nullopt).free, 8u);
    EXPECT_EQ(find(1048576, 0).total, 8u);
    EXPECT_EQ(find(2048, std::nullopt).page_kib, 2048u);
    EXPECT_EQ(find(2048, std::nullopt).total, 0u);
}

TEST(HugepageSize, OneGigabyteByDefaultOnlyWhereTheCpuHasIt) {
    testing::FakeMachine big("intel-desktop");
    EXPECT_EQ(default_page_kib(big.sys), 1048576u);
    EXPECT_EQ(page_size_text(default_page_kib(big.sys)), "1G");
    testing::FakeMachine small("iommu-off");
    EXPECT_EQ(default_page_kib(small.sys), 2048u);
    EXPECT_EQ(*choose_page_kib(small.sys, ""), 2048u);
    EXPECT_EQ(*choose_page_kib(small.sys, "1G"), 1048576u);  // asked: taken as asked
}

}  // namespace
}  // namespace porthole::vfio
