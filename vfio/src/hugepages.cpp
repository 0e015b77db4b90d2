#include "porthole/vfio/hugepages.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>

#include <fmt/format.h>

namespace porthole::vfio {

namespace {

std::string page_label(uint64_t page_kib) {
    return page_kib >= 1024 * 1024 ? fmt::format("{} GiB", page_kib / (1024 * 1024))
                                   : fmt::format("{} MiB", page_kib / 1024);
}

Result<uint64_t> read_count(const System& sys, const std::string& path) {
    auto text = sys.read_trimmed(path);
    if (!text) {
        return Error::make(
            fmt::format("cannot read {}: this kernel or node has no pool of that "
                        "page size (1 GiB pages need the pdpe1gb CPU flag)",
                        path));
    }
    auto value = parse_decimal(*text, UINT64_MAX);
    if (!value) return Error::make(fmt::format("{} holds '{}', not a number", path, *text));
    return *value;
}

// "hugepages-1048576kB" -> 1048576.
std::optional<uint64_t> pool_page_kib(std::string_view dir) {
    if (!dir.starts_with("hugepages-") || !dir.ends_with("kB")) return std::nullopt;
    return parse_decimal(dir.substr(10, dir.size() - 12), uint64_t{1} << 40);
}

}  // namespace

Result<uint64_t> parse_size(std::string_view text) {
    std::string t = trim(text);
    if (t.empty()) return Error::make("empty size: use e.g. 16G or 8192M");
    size_t digits = 0;
    while (digits < t.size() && std::isdigit(static_cast<unsigned char>(t[digits])))
        ++digits;
    if (digits == 0) return Error::make(fmt::format("'{}' is not a size: use e.g. 16G", text));
    auto value = parse_decimal(std::string_view(t).substr(0, digits), UINT64_MAX);
    std::string unit = t.substr(digits);
    if (!unit.empty() && (unit.back() == 'B' || unit.back() == 'b')) unit.pop_back();
    if (!unit.empty() && (unit.back() == 'i')) unit.pop_back();
    uint64_t mult = 1;
    if (unit == "k" || unit == "K")
        mult = 1024;
    else if (unit == "m" || unit == "M")
        mult = 1024ull * 1024;
    else if (unit == "g" || unit == "G")
        mult = 1024ull * 1024 * 1024;
    else if (!unit.empty())
        return Error::make(fmt::format("unknown size unit in '{}': use K, M or G", text));
    uint64_t bytes = 0;
    if (!value || __builtin_mul_overflow(*value, mult, &bytes)) {
        return Error::make(fmt::format("size '{}' is too large (more than 16 EiB)", text));
    }
    return bytes;
}

Result<uint64_t> parse_page_size(std::string_view text) {
    auto bytes = parse_size(text);
    if (!bytes) return bytes.error();
    uint64_t kib = *bytes / 1024;
    if (kib != 2048 && kib != 1024 * 1024) {
        return Error::make(fmt::format("page size '{}' is not 2M or 1G", text));
    }
    return kib;
}

std::string page_size_text(uint64_t page_kib) {
    return page_kib >= 1024 * 1024 && page_kib % (1024 * 1024) == 0
               ? fmt::format("{}G", page_kib / (1024 * 1024))
               : fmt::format("{}M", page_kib / 1024);
}

uint64_t default_page_kib(const System& sys) {
    return sys.exists("/sys/kernel/mm/hugepages/hugepages-1048576kB") ? 1024 * 1024 : 2048;
}

Result<uint64_t> choose_page_kib(const System& sys, std::string_view text) {
    if (trim(text).empty()) return default_page_kib(sys);
    return parse_page_size(text);
}

std::vector<HugepagePool> read_hugepage_pools(const System& sys) {
    std::vector<HugepagePool> pools;
    auto read_dir = [&](const std::string& base, std::optional<int> node) {
        for (const auto& name : sys.list(base)) {
            auto kib = pool_page_kib(name);
            if (!kib) continue;
            HugepagePool p;
            p.page_kib = *kib;
            p.node = node;
            auto total = read_count(sys, base + "/" + name + "/nr_hugepages");
            auto free = read_count(sys, base + "/" + name + "/free_hugepages");
            p.total = total ? *total : 0;
            p.free = free ? *free : 0;
            pools.push_back(p);
        }
    };
    read_dir("/sys/kernel/mm/hugepages", std::nullopt);
    for (const auto& n : sys.list("/sys/devices/system/node")) {
        if (!n.starts_with("node")) continue;
        auto number = parse_decimal(std::string_view(n).substr(4), 4095);
        if (!number) continue;
        read_dir("/sys/devices/system/node/" + n + "/hugepages", static_cast<int>(*number));
    }
    std::stable_sort(pools.begin(), pools.end(), [](const HugepagePool& a, const HugepagePool& b) {
        return a.page_kib < b.page_kib;
    });
    return pools;
}

std::string nr_hugepages_path(uint64_t page_kib, std::optional<int> node) {
    if (node) {
        return fmt::format("/sys/devices/system/node/node{}/hugepages/hugepages-{}kB/nr_hugepages",
                           *node, page_kib);
    }
    return fmt::format("/sys/kernel/mm/hugepages/hugepages-{}kB/nr_hugepages", page_kib);
}

Result<HugepageResult> reserve_hugepages(System& sys, const HugepageRequest& req) {
    const uint64_t page_bytes = req.page_kib * 1024;
    if (req.bytes == 0 || req.bytes % page_bytes != 0) {
        return Error::make(fmt::format("size must be a non-zero multiple of the {} page size",
                                       page_label(req.page_kib)));
    }
    // More than the machine has can only end in the OOM killer or a long, failed compaction.
    if (auto meminfo = sys.read("/proc/meminfo")) {
        for (const auto& line : split(*meminfo, "\n")) {
            if (!line.starts_with("MemTotal:")) continue;
            auto f = split(line.substr(9));
            auto kib = f.empty() ? std::nullopt : parse_decimal(f[0], UINT64_MAX / 1024);
            if (kib && req.bytes / 1024 > *kib) {
                return Error::make(fmt::format(
                    "{} MiB of huge pages is more than this host's memory ({} MiB): ask for less",
                    req.bytes >> 20, *kib / 1024));
            }
        }
    }
    const std::string path = nr_hugepages_path(req.page_kib, req.node);
    auto before = read_count(sys, path);
    if (!before) return before.error();
    HugepageResult r;
    r.pages_before = *before;
    if (__builtin_add_overflow(*before, req.bytes / page_bytes, &r.pages_wanted)) {
        return Error::make(fmt::format("{} holds {} pages: cannot add more", path, *before));
    }
    for (int attempt = 1; attempt <= req.attempts; ++attempt) {
        r.attempts_used = attempt;
        // Free page cache, then defragment, so the kernel finds contiguous ranges.
        if (auto s = sys.write_attribute("/proc/sys/vm/drop_caches", "3"); !s) return s.error();
        if (auto s = sys.write_attribute("/proc/sys/vm/compact_memory", "1"); !s) return s.error();
        if (auto s = sys.write_attribute(path, std::to_string(r.pages_wanted)); !s)
            return s.error();
        if (sys.dry_run()) {
            r.pages_after = r.pages_wanted;
            return r;
        }
        auto now = read_count(sys, path);
        if (!now) return now.error();
        r.pages_after = *now;
        if (*now >= r.pages_wanted) return r;
    }
    uint64_t got = r.pages_after > r.pages_before ? r.pages_after - r.pages_before : 0;
    uint64_t missing = r.pages_wanted - r.pages_after;
    std::string where = req.node ? fmt::format(" on NUMA node {}", *req.node) : "";
    std::string msg = fmt::format(
        "only {} of {} {} pages could be reserved{} after {} attempts ({} short, memory too "
        "fragmented or in use); the pool was put back to {} pages. Reserve them at boot instead: "
        "add `hugepagesz={} hugepages={}` to the kernel command line",
        got, r.pages_wanted - r.pages_before, page_label(req.page_kib), where, r.attempts_used,
        fmt::format("{} MiB", missing * req.page_kib / 1024), r.pages_before,
        req.page_kib >= 1024 * 1024 ? "1G" : "2M", r.pages_wanted);
    if (auto s = sys.write_attribute(path, std::to_string(r.pages_before)); !s) {
        msg += "; putting the pool back failed too: " + s.error().message;
    }
    return Error::make(msg);
}

Result<HugepageResult> release_hugepages(System& sys, const HugepageRequest& req) {
    const uint64_t page_bytes = req.page_kib * 1024;
    const std::string path = nr_hugepages_path(req.page_kib, req.node);
    auto before = read_count(sys, path);
    if (!before) return before.error();
    HugepageResult r;
    r.pages_before = *before;
    uint64_t drop = req.bytes == 0 ? *before : req.bytes / page_bytes;  // 0: release all
    r.pages_wanted = drop >= *before ? 0 : *before - drop;
    r.attempts_used = 1;
    if (auto s = sys.write_attribute(path, std::to_string(r.pages_wanted)); !s) return s.error();
    if (sys.dry_run()) {
        r.pages_after = r.pages_wanted;
        return r;
    }
    auto now = read_count(sys, path);
    if (!now) return now.error();
    r.pages_after = *now;
    if (*now > r.pages_wanted) {
        return Error::make(fmt::format(
            "{} {} pages are still in use (pool {} instead of {}): stop the VM that holds them",
            *now - r.pages_wanted, page_label(req.page_kib), *now, r.pages_wanted));
    }
    return r;
}

}  // namespace porthole::vfio
