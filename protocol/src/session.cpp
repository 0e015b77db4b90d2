#include "porthole/protocol/session.hpp"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <random>
#include <stdexcept>

#include "porthole/protocol/audio_ring.hpp"
#include "porthole/protocol/clipboard_channel.hpp"
#include "porthole/protocol/cursor_channel.hpp"
#include "porthole/protocol/frame_channel.hpp"
#include "porthole/protocol/input_ring.hpp"
#include "porthole/protocol/shared_memory.hpp"

namespace porthole::protocol {

std::uint64_t random_session_id() {
    std::random_device rd;
    std::uint64_t id = 0;
    while (id == 0)
        id = (std::uint64_t{rd()} << 32) ^ rd();
    return id;
}

std::string_view to_string(LinkState s) {
    switch (s) {
        case LinkState::waiting:
            return "waiting for the guest agent";
        case LinkState::connected:
            return "connected";
        case LinkState::disconnected:
            return "agent disconnected";
        case LinkState::incompatible:
            return "agent protocol version unsupported";
        case LinkState::invalid:
            return "invalid region";
    }
    return "?";
}

// ---------------------------------------------------------------- clock

void ClockSync::add_sample(std::uint64_t t1, std::uint64_t t2, std::uint64_t t3, std::uint64_t t4) {
    if (t4 < t1 || t3 < t2) return;  // nonsense from a peer: ignore
    const auto d1 = static_cast<std::int64_t>(t2 - t1);
    const auto d2 = static_cast<std::int64_t>(t3 - t4);
    const auto delay = static_cast<std::int64_t>((t4 - t1) - (t3 - t2));
    samples_[next_] = Sample{d1 / 2 + d2 / 2, std::max<std::int64_t>(delay, 0)};
    next_ = (next_ + 1) % samples_.size();
    count_ = std::min(count_ + 1, samples_.size());
}

std::optional<std::int64_t> ClockSync::offset_ns() const {
    if (count_ == 0) return std::nullopt;
    const auto best =
        std::min_element(samples_.begin(), samples_.begin() + static_cast<std::ptrdiff_t>(count_),
                         [](const Sample& a, const Sample& b) { return a.delay < b.delay; });
    return best->offset;
}

std::optional<std::int64_t> ClockSync::delay_ns() const {
    if (count_ == 0) return std::nullopt;
    std::int64_t d = samples_[0].delay;
    for (std::size_t i = 1; i < count_; ++i)
        d = std::min(d, samples_[i].delay);
    return d;
}

std::optional<std::uint64_t> ClockSync::to_local(std::uint64_t peer_ns) const {
    const auto off = offset_ns();
    if (!off) return std::nullopt;
    // Modular: the peer's clock and its offset are the peer's to choose.
    return peer_ns - static_cast<std::uint64_t>(*off);
}

namespace {
// |v| without overflow, also for INT64_MIN.
std::uint64_t magnitude(std::int64_t v) {
    return v >= 0 ? static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(-(v + 1)) + 1;
}
}  // namespace

std::optional<std::uint64_t> ClockSync::age_ns(std::uint64_t peer_ns,
                                               std::uint64_t local_now) const {
    const auto off = offset_ns();
    if (!off) return std::nullopt;
    // (local_now - peer_ns) + offset in exact arithmetic, clamped to [0, UINT64_MAX]:
    // the peer chooses its timestamps and ping/pong times, so any of them may be extreme.
    const std::uint64_t m = magnitude(*off);
    if (local_now >= peer_ns) {
        const std::uint64_t d = local_now - peer_ns;
        if (*off >= 0) return d > UINT64_MAX - m ? UINT64_MAX : d + m;
        return d > m ? d - m : 0;
    }
    const std::uint64_t d = peer_ns - local_now;  // a timestamp ahead of us
    if (*off <= 0) return 0;
    return m > d ? m - d : 0;
}

// ---------------------------------------------------------------- link

void PeerLink::announce(std::uint64_t session_id, std::uint64_t capabilities,
                        std::string_view name) {
    PeerBlock b{};
    b.protocol_version = kVersion;
    b.doorbell = doorbell_;
    b.capabilities = capabilities;
    std::memcpy(b.name, name.data(), std::min(name.size(), sizeof(b.name) - 1));
    copy_in(*own_, b);  // session id still 0
    store_release(own_->session_id, session_id);
}

void PeerLink::withdraw() {
    store_release(own_->session_id, 0);
}

namespace {
// protocol_version and doorbell share the block's second 64-bit word; the
// region is accessed a word at a time (shared_memory.hpp).
std::uint64_t& version_word(PeerBlock& b) {
    return reinterpret_cast<std::uint64_t*>(&b)[offsetof(PeerBlock, protocol_version) / 8];
}
static_assert(offsetof(PeerBlock, protocol_version) % 8 == 0 &&
              offsetof(PeerBlock, doorbell) == offsetof(PeerBlock, protocol_version) + 4);
}  // namespace

void PeerLink::set_doorbell(std::uint32_t value) {
    doorbell_ = value;
    store_release(version_word(*own_), (std::uint64_t{value} << 32) | kVersion);
}

std::optional<std::uint16_t> peer_doorbell(const PeerBlock& client) {
    const std::uint64_t word =
        load_acquire(version_word(const_cast<PeerBlock&>(client)));  // NOLINT
    const auto value = static_cast<std::uint32_t>(word >> 32);
    if (value == 0 || value > 65536) return std::nullopt;  // none, or not a peer ID
    return static_cast<std::uint16_t>(value - 1);
}

void PeerLink::tick(std::uint64_t now_ns, std::uint64_t ping_interval_ns) {
    store_relaxed(own_->heartbeat_time_ns, now_ns);
    store_release(own_->heartbeat_counter, ++heartbeat_);

    // Answer a new ping from the peer.
    const std::uint64_t their_ping = load_acquire(peer_->ping_seq);
    if (their_ping != 0 && their_ping != answered_) {
        const std::uint64_t their_time = load_relaxed(peer_->ping_time_ns);
        if (load_acquire(peer_->ping_seq) == their_ping) {
            store_relaxed(own_->pong_ping_time_ns, their_time);
            store_relaxed(own_->pong_recv_time_ns, now_ns);
            store_relaxed(own_->pong_send_time_ns, now_ns);
            store_release(own_->pong_seq, their_ping);
            answered_ = their_ping;
        }
    }
    // Take the peer's answer to our ping.
    if (ping_seq_ != 0 && load_acquire(peer_->pong_seq) == ping_seq_) {
        const std::uint64_t t1 = load_relaxed(peer_->pong_ping_time_ns);
        const std::uint64_t t2 = load_relaxed(peer_->pong_recv_time_ns);
        const std::uint64_t t3 = load_relaxed(peer_->pong_send_time_ns);
        if (load_acquire(peer_->pong_seq) == ping_seq_ && t1 == ping_time_) {
            clock_.add_sample(t1, t2, t3, now_ns);
            ping_time_ = 0;  // answered
        }
    }
    if (now_ns - ping_time_ >= ping_interval_ns || ping_seq_ == 0) {
        ping_time_ = now_ns;
        store_relaxed(own_->ping_time_ns, now_ns);
        store_release(own_->ping_seq, ++ping_seq_);
    }
}

// ---------------------------------------------------------------- agent

AgentSession::AgentSession(std::span<std::byte> region, RegionLayout layout, std::uint64_t id)
    : region_(region),
      layout_(layout),
      session_id_(id),
      link_(*reinterpret_cast<PeerBlock*>(region.data() + kAgentBlockOffset),
            *reinterpret_cast<const PeerBlock*>(region.data() + kClientBlockOffset)) {}

Result<AgentSession> AgentSession::create(std::span<std::byte> region, const LayoutParams& params,
                                          std::uint64_t capabilities, std::string_view name,
                                          std::uint64_t now_ns) {
    auto layout = plan_layout(region.size(), params);
    if (!layout) return layout.error();
    AgentSession s(region, *layout, random_session_id());
    s.link_.withdraw();  // the host stops trusting the old layout first
    copy_in(*reinterpret_cast<RegionHeader*>(region.data()), make_header(*layout));
    write_agent_status(region, AgentStatusCode::ok, {});  // the last session's status is over
    auto frames = FrameWriter::create(s.channel(layout->frames), params.frame_slots);
    if (!frames) return frames.error();
    auto cursor = CursorWriter::create(s.channel(layout->cursor));
    if (!cursor) return cursor.error();
    if (auto ok = init_input_ring(s.channel(layout->input), params.input_capacity); !ok)
        return ok.error();
    auto input = InputRingReader::attach(s.channel(layout->input));
    if (!input) return input.error();
    if (auto ok = init_pad_feedback(s.channel(layout->input)); !ok) return ok.error();
    auto pad_feedback = PadFeedbackWriter::attach(s.channel(layout->input));
    if (!pad_feedback) return pad_feedback.error();
    auto audio = AudioWriter::create(s.channel(layout->audio_out));
    if (!audio) return audio.error();
    if (auto ok = init_clipboard_channel(s.channel(layout->clipboard_to_host)); !ok)
        return ok.error();
    if (auto ok = init_clipboard_channel(s.channel(layout->clipboard_to_guest)); !ok)
        return ok.error();
    auto clip_out = ClipboardWriter::attach(s.channel(layout->clipboard_to_host));
    if (!clip_out) return clip_out.error();
    auto clip_in = ClipboardReader::attach(s.channel(layout->clipboard_to_guest));
    if (!clip_in) return clip_in.error();
    s.channels_.emplace(
        AgentChannels{*frames, *cursor, *input, *audio, *clip_out, *clip_in, *pad_feedback});
    s.link_.announce(s.session_id_, capabilities, name);
    s.link_.tick(now_ns);
    return s;
}

std::optional<std::uint16_t> AgentSession::client_doorbell() const {
    return peer_doorbell(*reinterpret_cast<const PeerBlock*>(region_.data() + kClientBlockOffset));
}

std::uint64_t AgentSession::client_session() const {
    return load_acquire(
        reinterpret_cast<const PeerBlock*>(region_.data() + kClientBlockOffset)->session_id);
}

// ---------------------------------------------------------------- host

namespace {
// A region smaller than its header page is a caller's bug (ivshmem's openers
// refuse such regions with a message), not something the guest can cause.
std::span<std::byte> checked_region(std::span<std::byte> region) {
    if (region.size() < kPageSize)
        throw std::invalid_argument("region smaller than its header page");
    return region;
}
}  // namespace

HostSession::HostSession(std::span<std::byte> region, std::uint64_t capabilities,
                         std::string_view name, std::uint64_t heartbeat_timeout_ns)
    : region_(checked_region(region)),
      link_(*reinterpret_cast<PeerBlock*>(region.data() + kClientBlockOffset),
            *reinterpret_cast<const PeerBlock*>(region.data() + kAgentBlockOffset)),
      timeout_ns_(heartbeat_timeout_ns) {
    link_.announce(random_session_id(), capabilities, name);
}

HostSession::~HostSession() {
    link_.withdraw();
}

Result<HostChannels> HostSession::attach_channels() const {
    auto frames = FrameReader::attach(channel(layout_.frames));
    if (!frames) return frames.error();
    HostChannels c{*frames, {}, {}, {}, {}, {}, {}};
    if (layout_.cursor.size != 0) {
        auto r = CursorReader::attach(channel(layout_.cursor));
        if (!r) return r.error();
        c.cursor.emplace(*r);
    }
    if (layout_.input.size != 0) {
        auto r = InputRingWriter::attach(channel(layout_.input));
        if (!r) return r.error();
        c.input.emplace(*r);
        // Only an agent of this protocol gets here; a bad ring just means no rumble.
        if (auto f = PadFeedbackReader::attach(channel(layout_.input))) c.pad_feedback.emplace(*f);
    }
    if (layout_.audio_out.size != 0) {
        auto r = AudioReader::attach(channel(layout_.audio_out));
        if (!r) return r.error();
        c.audio.emplace(*r);
    }
    if (layout_.clipboard_to_host.size != 0) {
        auto r = ClipboardReader::attach(channel(layout_.clipboard_to_host));
        if (!r) return r.error();
        c.clipboard_in.emplace(*r);
    }
    if (layout_.clipboard_to_guest.size != 0) {
        auto r = ClipboardWriter::attach(channel(layout_.clipboard_to_guest));
        if (!r) return r.error();
        c.clipboard_out.emplace(*r);
    }
    return c;
}

void HostSession::note_new_session(std::uint64_t now_ns) {
    const bool flapping =
        sessions_seen_ != 0 && now_ns - last_new_session_ns_ < kSessionStableNs + 2 * hold_ns_;
    sessions_seen_++;
    last_new_session_ns_ = now_ns;
    if (!flapping) {
        hold_ns_ = 0;
        return;
    }
    hold_ns_ = hold_ns_ == 0 ? kSessionBackoffMinNs : std::min(2 * hold_ns_, kSessionBackoffMaxNs);
    hold_until_ns_ = now_ns + hold_ns_;
}

HostPoll HostSession::poll(std::uint64_t now_ns) {
    link_.tick(now_ns);
    HostPoll out;
    const auto& agent = *reinterpret_cast<const PeerBlock*>(region_.data() + kAgentBlockOffset);
    const std::uint64_t id = load_acquire(agent.session_id);
    // Backing off a flapping session: one stable state and message throughout,
    // whatever the guest writes meanwhile (each change would be logged and drawn).
    const bool holding = hold_ns_ != 0 && now_ns < hold_until_ns_;
    if (holding && (id == 0 || id != agent_session_)) {
        agent_session_ = 0;
        out.state = state_ = LinkState::waiting;
        out.message = "the agent's session changes too often: following it after a pause";
        return out;
    }
    if (id == 0) {
        if (agent_session_ != 0) out.message = "agent restarting";
        agent_session_ = 0;
        state_ = LinkState::waiting;
        out.state = state_;
        return out;
    }
    if (id == rejected_session_) {  // same bad session: do not re-validate every poll
        out.state = state_ = reject_state_;
        out.message = reject_message_;
        return out;
    }
    if (id != agent_session_) {
        const RegionHeader header =
            copy_out(*reinterpret_cast<const RegionHeader*>(region_.data()));
        const PeerBlock block = copy_out(agent);
        if (load_acquire(agent.session_id) != id) {  // rewritten while we copied: retry later
            out.state = state_ = LinkState::waiting;
            return out;
        }
        note_new_session(now_ns);
        auto layout = validate_region(header, region_.size());
        if (!layout) {
            rejected_session_ = id;
            reject_state_ =
                layout.error().code == static_cast<int>(RegionError::unsupported_version)
                    ? LinkState::incompatible
                    : LinkState::invalid;
            reject_message_ = layout.error().message;
            out.state = state_ = reject_state_;
            out.message = reject_message_;
            return out;
        }
        layout_ = *layout;
        agent_session_ = id;
        agent_caps_ = block.capabilities;
        agent_name_.assign(block.name, strnlen(block.name, sizeof(block.name)));
        last_heartbeat_ = block.heartbeat_counter;
        last_heartbeat_change_ns_ = now_ns;
        link_.reset_clock();
        out.new_session = true;
    }
    const std::uint64_t hb = load_acquire(agent.heartbeat_counter);
    if (hb != last_heartbeat_) {
        last_heartbeat_ = hb;
        last_heartbeat_change_ns_ = now_ns;
    }
    if (now_ns - last_heartbeat_change_ns_ > timeout_ns_) {
        out.state = state_ = LinkState::disconnected;
        // A stable message (no running count): callers log it once per change.
        out.message = "no heartbeat from the agent for over " +
                      std::to_string(timeout_ns_ / 1'000'000) +
                      " ms (guest paused, agent stopped?)";
        return out;
    }
    out.state = state_ = LinkState::connected;
    return out;
}

}  // namespace porthole::protocol
