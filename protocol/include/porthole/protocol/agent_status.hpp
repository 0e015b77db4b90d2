#pragma once
// The agent's status line in the region (AgentStatus at kAgentStatusOffset):
// the agent says what keeps it from sending frames (no display on the
// passed-through GPU, a region too small), the host shows it in its window.

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "porthole/protocol/region.hpp"

namespace porthole::protocol {

struct AgentStatusView {
    AgentStatusCode code = AgentStatusCode::ok;
    std::string text;  // printable ASCII only (anything else became '?')
    friend bool operator==(const AgentStatusView&, const AgentStatusView&) = default;
};

// Agent: writes code and text (cut to kAgentStatusTextSize bytes) under the
// status seqlock. `region` is the whole region (at least its header page).
void write_agent_status(std::span<std::byte> region, AgentStatusCode code, std::string_view text);

// Host: a consistent copy of the status, validated; nullopt while the agent
// writes it or if it is malformed (unknown code, length out of range).
std::optional<AgentStatusView> read_agent_status(std::span<const std::byte> region);

}  // namespace porthole::protocol
