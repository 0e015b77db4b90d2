#pragma once
// Sessions and liveness. The agent lays out the region and announces a
// random session id; the host attaches by validating a copy of the header
// and follows the agent's heartbeat. A new id means the peer restarted and
// every channel starts over. Clock offsets between the two machines come
// from an NTP-style ping/pong carried in the peer blocks.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "porthole/protocol/agent_status.hpp"
#include "porthole/protocol/audio_ring.hpp"
#include "porthole/protocol/clipboard_channel.hpp"
#include "porthole/protocol/cursor_channel.hpp"
#include "porthole/protocol/frame_channel.hpp"
#include "porthole/protocol/input_ring.hpp"
#include "porthole/protocol/layout.hpp"
#include "porthole/protocol/pad_feedback.hpp"
#include "porthole/protocol/region.hpp"
#include "porthole/util/result.hpp"

namespace porthole::protocol {

std::uint64_t random_session_id();  // non-zero

// Offset between a peer's clock and ours from (t1 sent, t2 peer received,
// t3 peer sent, t4 received) samples; the lowest-delay recent sample wins.
class ClockSync {
  public:
    void add_sample(std::uint64_t t1, std::uint64_t t2, std::uint64_t t3, std::uint64_t t4);
    // peer_clock - local_clock, once a sample exists.
    [[nodiscard]] std::optional<std::int64_t> offset_ns() const;
    // Round-trip delay of the chosen sample.
    [[nodiscard]] std::optional<std::int64_t> delay_ns() const;
    // A peer timestamp on the local clock.
    [[nodiscard]] std::optional<std::uint64_t> to_local(std::uint64_t peer_ns) const;
    // How long ago (local_now) a peer timestamp was, never negative: the
    // offset's error (up to half the round trip) can exceed a short latency.
    [[nodiscard]] std::optional<std::uint64_t> age_ns(std::uint64_t peer_ns,
                                                      std::uint64_t local_now) const;

  private:
    struct Sample {
        std::int64_t offset;
        std::int64_t delay;
    };
    std::array<Sample, 8> samples_{};
    std::size_t count_ = 0;
    std::size_t next_ = 0;
};

// Answers the peer's pings and sends our own through a pair of PeerBlocks.
class PeerLink {
  public:
    PeerLink(PeerBlock& own, const PeerBlock& peer) : own_(&own), peer_(&peer) {}
    void announce(std::uint64_t session_id, std::uint64_t capabilities, std::string_view name);
    void withdraw();  // session id 0: "not ready"
    // PeerBlock::doorbell (kept across announces): the client's doorbell peer ID + 1.
    void set_doorbell(std::uint32_t value);
    // Heartbeat, pong for a new ping, ping every ping_interval, pong intake.
    void tick(std::uint64_t now_ns, std::uint64_t ping_interval_ns = 200'000'000);
    [[nodiscard]] const ClockSync& clock() const { return clock_; }
    void reset_clock() { clock_ = ClockSync{}; }

  private:
    PeerBlock* own_;
    const PeerBlock* peer_;
    std::uint64_t heartbeat_ = 0;
    std::uint64_t ping_seq_ = 0;
    std::uint64_t ping_time_ = 0;
    std::uint64_t answered_ = 0;
    std::uint32_t doorbell_ = 0;
    ClockSync clock_;
};

// The client's doorbell peer ID from its block (validated: the agent trusts no
// value out of range), nullopt when it has none.
std::optional<std::uint16_t> peer_doorbell(const PeerBlock& client);

// The agent's ends of every channel, created with the session.
struct AgentChannels {
    FrameWriter frames;
    CursorWriter cursor;
    InputRingReader input;
    AudioWriter audio;
    ClipboardWriter clipboard_out;   // guest -> host
    ClipboardReader clipboard_in;    // host -> guest
    PadFeedbackWriter pad_feedback;  // guest -> host, in the input channel
};

// The host's ends, attached to a validated session.
struct HostChannels {
    FrameReader frames;
    std::optional<CursorReader> cursor;
    std::optional<InputRingWriter> input;
    std::optional<AudioReader> audio;
    std::optional<ClipboardReader> clipboard_in;    // guest -> host
    std::optional<ClipboardWriter> clipboard_out;   // host -> guest
    std::optional<PadFeedbackReader> pad_feedback;  // guest -> host, in the input channel
};

class AgentSession {
  public:
    // Lays out the whole region for a new session, creates every channel and
    // announces the session.
    static Result<AgentSession> create(std::span<std::byte> region, const LayoutParams& params,
                                       std::uint64_t capabilities, std::string_view name,
                                       std::uint64_t now_ns);
    [[nodiscard]] const RegionLayout& layout() const { return layout_; }
    [[nodiscard]] std::span<std::byte> channel(const ChannelSpan& c) const {
        return region_.subspan(c.offset, c.size);
    }
    [[nodiscard]] std::uint64_t session_id() const { return session_id_; }
    [[nodiscard]] AgentChannels& channels() { return *channels_; }
    void tick(std::uint64_t now_ns) { link_.tick(now_ns); }
    // The host client's session id (0: none attached).
    [[nodiscard]] std::uint64_t client_session() const;
    // The host client's doorbell peer (read afresh: a restarted client has a new one).
    [[nodiscard]] std::optional<std::uint16_t> client_doorbell() const;
    [[nodiscard]] const ClockSync& clock() const { return link_.clock(); }
    // Marks the session over (agent exiting cleanly).
    void close() { link_.withdraw(); }
    // What the host's user should know (AgentStatusCode::ok and "" clears it).
    void set_status(AgentStatusCode code, std::string_view text) {
        write_agent_status(region_, code, text);
    }

  private:
    AgentSession(std::span<std::byte> region, RegionLayout layout, std::uint64_t id);
    std::span<std::byte> region_;
    RegionLayout layout_;
    std::uint64_t session_id_;
    PeerLink link_;
    std::optional<AgentChannels> channels_;
};

// A software-emulated VM on a loaded host can stall for well over a second;
// a heartbeat older than this means the agent is gone or the guest paused.
inline constexpr std::uint64_t kDefaultHeartbeatTimeoutNs = 3'000'000'000;

// A session id that keeps changing (a crash-looping or hostile agent) is
// followed with an exponential back-off instead of on every poll: a new
// session within kSessionStableNs (plus twice the current hold) of the last
// one doubles the hold, from kSessionBackoffMinNs up to kSessionBackoffMaxNs.
inline constexpr std::uint64_t kSessionStableNs = 1'000'000'000;
inline constexpr std::uint64_t kSessionBackoffMinNs = 100'000'000;
inline constexpr std::uint64_t kSessionBackoffMaxNs = 10'000'000'000;

enum class LinkState {
    waiting,       // no agent has announced a session yet
    connected,     // a valid session with a live heartbeat
    disconnected,  // the agent's heartbeat stopped
    incompatible,  // the agent speaks another protocol version
    invalid,       // the region holds something that failed validation
};
std::string_view to_string(LinkState s);

struct HostPoll {
    LinkState state = LinkState::waiting;
    bool new_session = false;  // channels must be re-attached
    std::string message;       // why, for the states other than connected
};

class HostSession {
  public:
    // `region` must hold at least the header page (std::invalid_argument otherwise).
    HostSession(std::span<std::byte> region, std::uint64_t capabilities, std::string_view name,
                std::uint64_t heartbeat_timeout_ns = kDefaultHeartbeatTimeoutNs);
    HostSession(const HostSession&) = delete;
    HostSession& operator=(const HostSession&) = delete;
    ~HostSession();

    // Announces this client's doorbell peer (nullopt: none) to the agent.
    void set_doorbell(std::optional<std::uint16_t> peer) {
        link_.set_doorbell(peer ? std::uint32_t{*peer} + 1 : 0);
    }
    HostPoll poll(std::uint64_t now_ns);
    [[nodiscard]] LinkState state() const { return state_; }
    // Sessions validated so far (accepted or rejected) and the current back-off.
    [[nodiscard]] std::uint64_t sessions_seen() const { return sessions_seen_; }
    [[nodiscard]] std::uint64_t backoff_ns() const { return hold_ns_; }
    // The validated layout of the current session (meaningful once connected).
    [[nodiscard]] const RegionLayout& layout() const { return layout_; }
    [[nodiscard]] std::span<std::byte> channel(const ChannelSpan& c) const {
        return region_.subspan(c.offset, c.size);
    }
    [[nodiscard]] std::uint64_t agent_session() const { return agent_session_; }
    [[nodiscard]] std::uint64_t agent_capabilities() const { return agent_caps_; }
    [[nodiscard]] const std::string& agent_name() const { return agent_name_; }
    [[nodiscard]] const ClockSync& clock() const { return link_.clock(); }
    // The agent's status line (validated copy), nullopt while it is being written.
    [[nodiscard]] std::optional<AgentStatusView> agent_status() const {
        return read_agent_status(region_);
    }
    // Attaches every channel of the current session (after new_session).
    // Frames are required; a malformed optional channel is an error too.
    Result<HostChannels> attach_channels() const;

  private:
    void note_new_session(std::uint64_t now_ns);  // the back-off's bookkeeping
    std::span<std::byte> region_;
    PeerLink link_;
    std::uint64_t timeout_ns_;
    LinkState state_ = LinkState::waiting;
    std::uint64_t agent_session_ = 0;
    std::uint64_t rejected_session_ = 0;
    std::uint64_t agent_caps_ = 0;
    std::string agent_name_;
    std::uint64_t last_heartbeat_ = 0;
    std::uint64_t last_heartbeat_change_ns_ = 0;
    RegionLayout layout_;
    std::string reject_message_;
    LinkState reject_state_ = LinkState::invalid;
    std::uint64_t sessions_seen_ = 0;
    std::uint64_t last_new_session_ns_ = 0;
    std::uint64_t hold_ns_ = 0;  // 0: no back-off
    std::uint64_t hold_until_ns_ = 0;
};

}  // namespace porthole::protocol
