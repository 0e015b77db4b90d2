#pragma once
// Reserving and releasing 2 MiB / 1 GiB huge pages, globally or on one NUMA node:
// drop caches and compact first, retry, verify the count, roll back on shortfall.

#include <cstdint>
#include <optional>
#include <string>

#include "porthole/vfio/system.hpp"

namespace porthole::vfio {

// "16G", "512M", "2048k", "1073741824" to bytes.
[[nodiscard]] Result<uint64_t> parse_size(std::string_view text);
// "2M" / "1G" to the page size in KiB.
[[nodiscard]] Result<uint64_t> parse_page_size(std::string_view text);

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

// Grows the pool by request.bytes. On shortfall the pool is put back and the Error
// says how many pages were missing and what to do.
[[nodiscard]] Result<HugepageResult> reserve_hugepages(System& sys, const HugepageRequest& request);
// Shrinks the pool by request.bytes (never below zero).
[[nodiscard]] Result<HugepageResult> release_hugepages(System& sys, const HugepageRequest& request);

}  // namespace porthole::vfio
