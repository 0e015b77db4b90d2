#include "porthole/vfio/hugepages.hpp"

#include <cctype>

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
    try {
        return static_cast<uint64_t>(std::stoull(*text));
    } catch (const std::exception&) {
        return Error::make(fmt::format("{} holds '{}', not a number", path, *text));
    }
}

}  // namespace

Result<uint64_t> parse_size(std::string_view text) {
    std::string t = trim(text);
    if (t.empty()) return Error::make("empty size: use e.g. 16G or 8192M");
    size_t digits = 0;
    while (digits < t.size() && std::isdigit(static_cast<unsigned char>(t[digits])))
        ++digits;
    if (digits == 0) return Error::make(fmt::format("'{}' is not a size: use e.g. 16G", text));
    if (digits > 15) return Error::make(fmt::format("size '{}' is too large", text));
    uint64_t value = std::stoull(t.substr(0, digits));
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
    return value * mult;
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
    const std::string path = nr_hugepages_path(req.page_kib, req.node);
    auto before = read_count(sys, path);
    if (!before) return before.error();
    HugepageResult r;
    r.pages_before = *before;
    r.pages_wanted = *before + req.bytes / page_bytes;
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
