#include "display/modes.hpp"

#include <algorithm>

namespace porthole::agent::display {

std::optional<Mode> choose_mode(std::span<const Mode> offered, std::uint32_t width,
                                std::uint32_t height, const std::optional<Mode>& current) {
    std::optional<Mode> size;  // the size to set (refresh chosen below)
    for (const auto& m : offered) {
        if (m.width == 0 || m.height == 0 || m.width > width || m.height > height) continue;
        const auto area = std::uint64_t{m.width} * m.height;
        const auto best = size ? std::uint64_t{size->width} * size->height : 0;
        if (!size || area > best || (area == best && m.width > size->width)) size = m;
    }
    if (!size) return std::nullopt;
    std::optional<Mode> pick;
    for (const auto& m : offered) {
        if (m.width != size->width || m.height != size->height) continue;
        if (current && m.refresh_mhz == current->refresh_mhz) return m;
        if (!pick || m.refresh_mhz > pick->refresh_mhz) pick = m;
    }
    return pick;
}

Result<ApplyOutcome> apply_request(DisplayModes& display, std::uint32_t width,
                                   std::uint32_t height) {
    auto offered = display.modes();
    if (!offered) return offered.error();
    auto current = display.current();
    if (!current) return current.error();
    ApplyOutcome out;
    out.chosen = choose_mode(*offered, width, height, *current);
    if (!out.chosen) return out;
    if (out.chosen->width == current->width && out.chosen->height == current->height) return out;
    if (auto ok = display.set(*out.chosen); !ok) return ok.error();
    out.changed = true;
    return out;
}

}  // namespace porthole::agent::display
