#pragma once
// An in-memory region laid out by the agent's own session code, sized for one
// desktop: what the capture benchmarks publish into.
#include <fmt/format.h>

#include <cstdint>
#include <optional>
#include <utility>

#include "porthole/protocol/layout.hpp"
#include "porthole/protocol/session.hpp"
#include "support/aligned_region.hpp"

namespace porthole::bench {

struct AgentRegion {
    testing::AlignedRegion memory;
    std::optional<protocol::AgentSession> session;

    static std::optional<AgentRegion> make(std::uint32_t w, std::uint32_t h) {
        const auto size = protocol::required_region_size(w, h, protocol::PixelFormat::bgra8);
        AgentRegion r{testing::AlignedRegion(static_cast<std::size_t>(size)), std::nullopt};
        auto s =
            protocol::AgentSession::create(r.memory.bytes(), {}, protocol::cap::frames, "bench", 1);
        if (!s) {
            fmt::print(stderr, "cannot lay out a region: {}\n", s.error().message);
            return std::nullopt;
        }
        r.session.emplace(std::move(*s));
        return r;
    }
};

}  // namespace porthole::bench
