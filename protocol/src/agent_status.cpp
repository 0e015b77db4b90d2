#include "porthole/protocol/agent_status.hpp"

#include <algorithm>
#include <cstring>

#include "porthole/protocol/shared_memory.hpp"

namespace porthole::protocol {

void write_agent_status(std::span<std::byte> region, AgentStatusCode code, std::string_view text) {
    if (region.size() < kAgentStatusOffset + sizeof(AgentStatus)) return;
    auto& shared = *reinterpret_cast<AgentStatus*>(region.data() + kAgentStatusOffset);
    seqlock_begin_write(shared.seq);
    AgentStatus s{};
    s.seq = load_relaxed(shared.seq);
    s.code = static_cast<std::uint32_t>(code);
    s.length = static_cast<std::uint32_t>(std::min(text.size(), kAgentStatusTextSize));
    std::copy_n(text.data(), s.length, s.text);  // memcpy's source may not be null, even for 0
    copy_in(shared, s);
    seqlock_end_write(shared.seq);
}

std::optional<AgentStatusView> read_agent_status(std::span<const std::byte> region) {
    if (region.size() < kAgentStatusOffset + sizeof(AgentStatus)) return std::nullopt;
    const auto& shared = *reinterpret_cast<const AgentStatus*>(region.data() + kAgentStatusOffset);
    const std::uint64_t begin = seqlock_read_begin(shared.seq);
    if ((begin & 1U) != 0) return std::nullopt;
    const AgentStatus s = copy_out(shared);
    if (!seqlock_read_valid(shared.seq, begin)) return std::nullopt;
    if (s.code > kMaxAgentStatusCode || s.length > kAgentStatusTextSize) return std::nullopt;
    AgentStatusView v;
    v.code = static_cast<AgentStatusCode>(s.code);
    v.text.reserve(s.length);
    for (std::uint32_t i = 0; i < s.length; ++i) {
        const auto c = static_cast<unsigned char>(s.text[i]);
        v.text.push_back(c >= 0x20 && c < 0x7F ? static_cast<char>(c) : '?');
    }
    return v;
}

}  // namespace porthole::protocol
