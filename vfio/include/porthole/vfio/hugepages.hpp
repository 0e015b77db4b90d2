#pragma once
// Reserving and releasing 2 MiB / 1 GiB huge pages, globally or on one NUMA node:
// drop caches and compact first, retry, verify the count, roll back on shortfall.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "porthole/vfio/system.hpp"

namespace porthole::vfio {

// "16G", "512M", "2048k", "1073741824" to bytes; an Error when it does not fit 64 bits.
[[nodiscard]] Result<uint64_t> parse_size(std::string_view text);
// "2M" / "1G" to the page size in KiB.
[[nodiscard]] Result<uint64_t> parse_page_size(std::string_view text);
// 2048 -> "2M", 1048576 -> "1G": the form the kernel, the hooks and libvirt take.
[[nodiscard]] std::string page_size_text(uint64_t page_kib);

// The one page size guest RAM uses unless the user names one: 1 GiB when the host
// has that pool (the CPU has pdpe1gb), else 2 MiB. reserve, the hooks, the
// <memoryBacking> snippet, persist and doctor all take it from here.
[[nodiscard]] uint64_t default_page_kib(const System& sys);
// `text` parsed when given, else default_page_kib().
[[nodiscard]] Result<uint64_t> choose_page_kib(const System& sys, std::string_view text);

struct HugepagePool {
    uint64_t page_kib = 0;
    std::optional<int> node;  // nullopt: the whole system
    uint64_t total = 0;
    uint64_t free = 0;
};
// Every pool under /sys/kernel/mm/hugepages and each NUMA node's, sorted by page size.
[[nodiscard]] std::vector<HugepagePool> read_hugepage_pools(const System& sys);

struct HugepageRequest {
    uint64_t bytes = 0;
    uint64_t page_kib = 2048;
    std::optional<int> node = std::nullopt;
    int attempts = 3;
};

struct HugepageResult {
    uint64_t pages_before = 0;
    uint64_t pages_after = 0;
    uint64_t pages_wanted = 0;  // the pool's target size
    int attempts_used = 0;
};

// The sysfs file holding the pool size for a page size and optional node.
[[nodiscard]] std::string nr_hugepages_path(uint64_t page_kib, std::optional<int> node);

// Grows the pool by request.bytes (refused when that is more than the host's memory).
// On shortfall the pool is put back and the Error
// says how many pages were missing and what to do.
[[nodiscard]] Result<HugepageResult> reserve_hugepages(System& sys, const HugepageRequest& request);
// Shrinks the pool by request.bytes (never below zero).
[[nodiscard]] Result<HugepageResult> release_hugepages(System& sys, const HugepageRequest& request);

}  // namespace porthole::vfio
