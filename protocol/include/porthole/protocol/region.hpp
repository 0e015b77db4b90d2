#pragma once
// The shared region's wire format: every struct that lives in the region, with
// fixed-width fields and static_asserts on sizes and offsets. Bump kVersion on
// any change here.
//
// Region map (all offsets page-aligned):
//   0x0000  RegionHeader   written by the agent once per session
//   0x0400  PeerBlock      agent's block (only the agent writes it)
//   0x0480  AgentStatus    what the agent wants the host's user to know (agent-written)
//   0x0800  PeerBlock      client's block (only the client writes it)
//   0x0880  GuestResRequest the guest display size the client asks for (client-written)
//   0x1000  channels, as listed in RegionHeader::channels

#include <cstddef>
#include <cstdint>

#include "porthole/protocol/format.hpp"

namespace porthole::protocol {

inline constexpr std::uint64_t kMagic = 0x454C4F4854524F50ULL;  // "PORTHOLE"
// 2: AgentStatus at 0x480; 3: AudioRingHeader::channel_mask;
// 4: progressive frames (FrameSlotHeader::rows_written, frame_flag::progressive)
// 5: GuestResRequest at 0x880, cap::guest_res (the guest's resolution follows the window);
//    clipboard offers (formats, PNG) answered on request in chunks (ClipboardHeader)
// 6: InputEvent::device (0 keyboard and pointer, 1..kMaxGamepads a gamepad) in
//    half of the former reserved word
// 7: PadFeedbackHeader and records at kPadFeedbackOffset in the input channel's
//    header page (guest -> host rumble: upload, play, stop, erase, gain)
// 8: PeerBlock::doorbell (the client's ivshmem-doorbell peer ID + 1: the agent
//    rings it after publishing), formerly PeerBlock::reserved0
inline constexpr std::uint32_t kVersion = 8;
inline constexpr std::size_t kPageSize = 4096;
inline constexpr std::size_t kAgentBlockOffset = 0x400;
inline constexpr std::size_t kClientBlockOffset = 0x800;
inline constexpr std::size_t kChannelsOffset = kPageSize;
inline constexpr std::uint32_t kMaxChannels = 16;

enum class ChannelKind : std::uint32_t {
    frames = 1,              // guest -> host
    cursor = 2,              // guest -> host
    input = 3,               // host -> guest
    audio_out = 4,           // guest -> host (playback)
    clipboard_to_host = 5,   // guest -> host
    clipboard_to_guest = 6,  // host -> guest
    audio_in = 7,            // host -> guest (microphone; reserved, same format as audio_out)
};
inline constexpr std::uint32_t kMaxChannelKind = 7;

// Capability bits announced in a PeerBlock.
namespace cap {
inline constexpr std::uint64_t frames = 1U << 0;
inline constexpr std::uint64_t cursor = 1U << 1;
inline constexpr std::uint64_t input_inject = 1U << 2;
inline constexpr std::uint64_t audio_out = 1U << 3;
inline constexpr std::uint64_t clipboard = 1U << 4;
inline constexpr std::uint64_t audio_in = 1U << 5;
// The agent sets the guest's display mode a GuestResRequest asks for.
inline constexpr std::uint64_t guest_res = 1U << 6;
}  // namespace cap

struct ChannelDesc {
    std::uint32_t kind;  // ChannelKind
    std::uint32_t reserved;
    std::uint64_t offset;  // from the region's start, page-aligned
    std::uint64_t size;    // bytes
};
static_assert(sizeof(ChannelDesc) == 24);

struct alignas(8) RegionHeader {
    std::uint64_t magic;
    std::uint32_t version;
    std::uint32_t header_size;  // sizeof(RegionHeader)
    std::uint64_t region_size;  // bytes the agent laid out; <= the mapped size
    std::uint64_t features;     // reserved for optional protocol features
    std::uint32_t channel_count;
    std::uint32_t reserved;
    ChannelDesc channels[kMaxChannels];
};
static_assert(sizeof(RegionHeader) == 40 + 24 * kMaxChannels);
static_assert(sizeof(RegionHeader) <= kAgentBlockOffset);

// One per side. session_id 0 means "not ready"; a new non-zero id means the
// side restarted and every channel starts over.
struct alignas(64) PeerBlock {
    std::uint64_t session_id;
    std::uint32_t protocol_version;
    // Client's block: its ivshmem-doorbell peer ID + 1, 0 for none (the agent
    // rings that peer after it publishes). Agent's block: 0. Shares its
    // 64-bit word with protocol_version (see peer_doorbell).
    std::uint32_t doorbell;
    std::uint64_t capabilities;  // cap:: bits
    std::uint64_t heartbeat_counter;
    std::uint64_t heartbeat_time_ns;  // writer's own monotonic clock
    // NTP-style clock exchange: a side pings with its time, the other side
    // echoes the ping with its receive and send times (pong). Clocks of the
    // two machines are related through this, never assumed equal.
    std::uint64_t ping_seq;
    std::uint64_t ping_time_ns;
    std::uint64_t pong_seq;  // == the peer's ping_seq being answered; written last
    std::uint64_t pong_ping_time_ns;
    std::uint64_t pong_recv_time_ns;
    std::uint64_t pong_send_time_ns;
    char name[32];  // program and version, NUL-terminated (informational)
};
static_assert(sizeof(PeerBlock) == 128);
static_assert(kAgentBlockOffset + sizeof(PeerBlock) <= kClientBlockOffset);
static_assert(kClientBlockOffset + sizeof(PeerBlock) <= kPageSize);

// A condition the agent cannot fix itself and the user must hear about on
// the host's screen (the guest's own screen may be the one not captured).
enum class AgentStatusCode : std::uint32_t {
    ok = 0,
    no_output = 1,        // the GPU has no display attached: nothing to capture
    frame_too_large = 2,  // the desktop does not fit the region's frame slots
    capture_failed = 3,   // capture keeps failing; the text says why
};
inline constexpr std::uint32_t kMaxAgentStatusCode = 3;
inline constexpr std::size_t kAgentStatusOffset = 0x480;
inline constexpr std::size_t kAgentStatusTextSize = 240;

struct alignas(64) AgentStatus {
    std::uint64_t seq;     // seqlock
    std::uint32_t code;    // AgentStatusCode
    std::uint32_t length;  // bytes of text (ASCII, no NUL needed)
    char text[kAgentStatusTextSize];
};
static_assert(sizeof(AgentStatus) == 256);
static_assert(kAgentBlockOffset + sizeof(PeerBlock) <= kAgentStatusOffset);
static_assert(kAgentStatusOffset + sizeof(AgentStatus) <= kClientBlockOffset);

// The size the host's window could show at 1:1 (Looking Glass's
// win:setGuestRes). Only the client writes it; it is not cleared by a new
// agent session, so a restarted agent finds the last request. The agent picks
// among the modes its display offers, never trusting the size as such.
inline constexpr std::size_t kGuestResRequestOffset = 0x880;
inline constexpr std::uint32_t kMaxGuestResDimension = 16384;

struct alignas(64) GuestResRequest {
    std::uint64_t seq;     // seqlock
    std::uint64_t serial;  // a new request: a new value (0: none)
    std::uint32_t width;   // pixels, 1..kMaxGuestResDimension
    std::uint32_t height;
    std::uint64_t reserved[5];
};
static_assert(sizeof(GuestResRequest) == 64);
static_assert(kClientBlockOffset + sizeof(PeerBlock) <= kGuestResRequestOffset);
static_assert(kGuestResRequestOffset + sizeof(GuestResRequest) <= kPageSize);

// ---- frames channel (guest -> host) ----
// [FrameChannelHeader page][DamageRecord x kDamageHistory][slot 0]...[slot N-1]
// Each slot: [FrameSlotHeader page][pixels, page-aligned].
// Three slots (one being written, the newest complete one, one the host may
// still be copying) are the fewest the seqlock scheme works with, and the
// agent's default. More gained nothing: porthole-bench-transport --stream
// --res 4K --slots N, progressive with the wake hint, copy-done median as a
// ratio to memcpy in the same run, 3 runs each at load 0.3-1.1: 3 slots
// 0.86-0.92x at 60 Hz and 0.96-0.97x at 144 Hz; 4 slots 0.86-1.05x and
// 0.97-0.99x; 6 slots 0.88-0.99x and 0.96-1.13x; 0 missed in all 9 runs, 0
// torn in the 3 that listed it. A fourth 4K slot would double the region
// (128 to 256 MiB).
inline constexpr std::uint32_t kMinFrameSlots = 3;
inline constexpr std::uint32_t kMaxFrameSlots = 16;
inline constexpr std::uint32_t kDamageHistory =
    32;  // frames of damage kept for a host that skipped

struct alignas(64) FrameChannelHeader {
    std::uint32_t slot_count;
    std::uint32_t reserved;
    std::uint64_t slot_size;              // bytes per slot, page multiple, header page included
    std::uint64_t slots_offset;           // from the channel start
    std::uint64_t damage_history_offset;  // from the channel start
    std::uint64_t reserved1[4];
    // (serial << 8) | slot of the newest published frame; 0 = none yet.
    alignas(64) std::uint64_t latest;
};

struct FrameMeta {
    std::uint64_t serial;  // 1, 2, 3... within a session
    std::uint32_t width;
    std::uint32_t height;
    std::uint32_t stride;           // bytes per row of the slot's pixels
    std::uint32_t format;           // PixelFormat
    std::uint64_t capture_time_ns;  // agent's clock
    std::uint32_t damage_count;     // rects changed since frame serial-1; 0 with full_damage
    std::uint32_t flags;            // FrameFlags
};
static_assert(sizeof(FrameMeta) == 40);

namespace frame_flag {
// Whole frame changed (new size, first frame).
inline constexpr std::uint32_t full_damage = 1U << 0;
// Announced before its pixels are written (always with full_damage).
inline constexpr std::uint32_t progressive = 1U << 1;
inline constexpr std::uint32_t known = full_damage | progressive;
}  // namespace frame_flag

// A progressive frame's slot: the header is written under the seqlock (seq odd
// then even, rows_written = 0), then `latest` names the frame; the rows are
// written in chunks, each followed by a release store of rows_written, up to
// height. seq does not change while the rows land: the host may copy rows
// [0, rows_written) as long as seq still holds the even value it read with
// the header; a guest reusing the slot makes seq odd first, so such a copy is
// detected as torn. A frame whose rows_written never reaches height is
// never shown.
struct alignas(64) FrameSlotHeader {
    std::uint64_t seq;           // seqlock over everything in the slot, pixels included
    std::uint64_t rows_written;  // progressive frames: rows valid so far (monotonic, release)
    FrameMeta meta;
    Rect damage[kMaxDamageRects];
};
static_assert(sizeof(FrameSlotHeader) <= kPageSize);

// Damage of one frame, kept in a ring indexed by serial % kDamageHistory.
struct alignas(64) DamageRecord {
    std::uint64_t seq;  // seqlock
    std::uint64_t serial;
    std::uint32_t width;
    std::uint32_t height;
    std::uint32_t format;
    std::uint32_t damage_count;
    std::uint32_t flags;
    std::uint32_t reserved;
    Rect damage[kMaxDamageRects];
};
static_assert(sizeof(DamageRecord) % 64 == 0);

// ---- cursor channel (guest -> host) ----
// [CursorPosition][CursorShapeHeader] in the first page, shape bytes from page 1.
inline constexpr std::uint32_t kMaxCursorSize = 256;
inline constexpr std::uint32_t kMaxCursorBytes = kMaxCursorSize * kMaxCursorSize * 4;

enum class CursorType : std::uint32_t {
    color = 1,       // ARGB8 (B,G,R,A bytes), alpha-blended
    masked = 2,      // ARGB8; alpha 0x00: replace with RGB, 0xFF: XOR screen with RGB
    monochrome = 3,  // 1 bpp AND mask rows then XOR mask rows, each `height` rows
};

struct alignas(64) CursorPosition {
    std::uint64_t seq;
    std::int32_t x;  // hotspot position in frame pixels
    std::int32_t y;
    std::uint32_t visible;
    std::uint32_t reserved;
    std::uint64_t shape_serial;  // the shape that goes with this position
};

struct alignas(64) CursorShapeHeader {
    std::uint64_t seq;
    std::uint64_t serial;
    std::uint32_t type;  // CursorType
    std::uint32_t width;
    std::uint32_t height;
    std::uint32_t pitch;  // bytes per row
    std::int32_t hotspot_x;
    std::int32_t hotspot_y;
    std::uint32_t data_size;
    std::uint32_t reserved;
};
inline constexpr std::size_t kCursorShapeHeaderOffset = 64;
inline constexpr std::size_t kCursorDataOffset = kPageSize;

// ---- input channel (host -> guest) ----
// Fixed-size events, a single-producer single-consumer ring.
struct InputEvent {
    std::uint64_t time_ns;  // host clock, informational
    std::uint16_t type;     // evdev type: EV_SYN, EV_KEY, EV_REL, EV_ABS
    std::uint16_t code;     // evdev code (KEY_*, BTN_*, REL_*, ABS_*)
    std::int32_t value;     // ABS_X/ABS_Y normalised to 0..32767
    // 0: the keyboard and pointer; 1..kMaxGamepads: a gamepad slot, whose axes
    // come in the fixed ranges of input_ring.hpp's namespace pad.
    std::uint32_t device = 0;
    std::uint32_t reserved = 0;
};
static_assert(sizeof(InputEvent) == 24);

struct alignas(64) InputRingHeader {
    std::uint32_t capacity;          // events, a power of two (agent-written at layout)
    std::uint32_t event_size;        // sizeof(InputEvent)
    std::uint64_t events_offset;     // from the channel start
    alignas(64) std::uint64_t head;  // host: events written (monotonic)
    std::uint64_t host_overflow;     // host: events not written because the ring was full
    alignas(64) std::uint64_t tail;  // guest: events consumed (monotonic)
    std::uint64_t guest_rejected;    // guest: events that failed validation
};

// Force feedback of the guest's pads back to the host's (guest -> host), in
// the input channel's header page: the agent writes records of what games do
// with its uinput pads' effects, the host replays them on the real pad. The
// agent never waits for the host: a ring the host fell behind on is
// overwritten and the host counts what it lost. Every field is checked by
// the host (is_valid_pad_feedback) before it touches a device.
enum class PadFeedbackOp : std::uint8_t {
    upload = 1,  // effect `effect` is (now) a rumble of strong/weak, length_ms, delay_ms
    play = 2,    // play `effect` value times (value >= 1)
    stop = 3,    // stop `effect`
    erase = 4,   // `effect` is gone
    gain = 5,    // the pad's gain: value 0..0xffff
};
inline constexpr std::uint8_t kMaxPadFeedbackOp = 5;
inline constexpr std::uint32_t kPadEffectsMax = 16;        // the agent's ff_effects_max per pad
inline constexpr std::uint32_t kMaxPadPlayCount = 0xffff;  // EV_FF repeat counts beyond are refused
inline constexpr std::size_t kPadFeedbackOffset = 0x400;   // from the input channel's start
inline constexpr std::uint32_t kPadFeedbackCapacity = 128;  // records

struct alignas(8) PadFeedbackRecord {
    std::uint8_t op;          // PadFeedbackOp
    std::uint8_t device;      // pad slot, 1..pad::kMaxGamepads (as InputEvent::device)
    std::uint16_t effect;     // the guest's effect id, 0..kPadEffectsMax-1 (not for gain)
    std::uint16_t strong;     // upload: strong (low-frequency) motor magnitude
    std::uint16_t weak;       // upload: weak (high-frequency) motor magnitude
    std::uint16_t length_ms;  // upload: 0 plays until stopped
    std::uint16_t delay_ms;   // upload
    std::uint32_t value;      // play: repeat count; gain: the gain
};
static_assert(sizeof(PadFeedbackRecord) == 16);

struct alignas(64) PadFeedbackHeader {
    std::uint32_t capacity;     // kPadFeedbackCapacity (agent-written at layout)
    std::uint32_t record_size;  // sizeof(PadFeedbackRecord)
    std::uint64_t head;         // agent: records written (monotonic); the record is written first
    std::uint64_t reserved[6];
};
static_assert(sizeof(PadFeedbackHeader) == 64);
inline constexpr std::size_t kPadFeedbackRecordsOffset =
    kPadFeedbackOffset + sizeof(PadFeedbackHeader);
inline constexpr std::size_t kPadFeedbackEnd =
    kPadFeedbackRecordsOffset + kPadFeedbackCapacity * sizeof(PadFeedbackRecord);
static_assert(sizeof(InputRingHeader) <= kPadFeedbackOffset);
static_assert(kPadFeedbackEnd <= kPageSize);  // inside the header page, before the events

// ---- audio channels (audio_out guest -> host; audio_in reserved for the mic) ----
enum class SampleFormat : std::uint16_t { s16 = 1, s32 = 2, f32 = 3 };
constexpr std::uint32_t bytes_per_sample(SampleFormat f) {
    switch (f) {
        case SampleFormat::s16:
            return 2;
        case SampleFormat::s32:
        case SampleFormat::f32:
            return 4;
    }
    return 0;
}
inline constexpr std::uint32_t kMaxAudioChannels = 8;

struct alignas(64) AudioRingHeader {
    std::uint64_t format_seq;  // seqlock over the format fields; a change restarts the stream
    std::uint32_t rate;        // Hz
    std::uint16_t channels;
    std::uint16_t sample_format;  // SampleFormat
    std::uint64_t data_offset;    // from the channel start
    std::uint64_t data_size;      // bytes of the PCM ring
    std::uint32_t
        channel_mask;  // speaker of each channel: dwChannelMask bits (speaker::), 0 = default
    alignas(64) std::uint64_t write_pos;  // frames written since the format was set (monotonic)
    std::uint64_t write_time_ns;          // agent clock at write_pos
    std::uint32_t volume;                 // 0..65536 (unity), the guest's master volume
    std::uint32_t muted;
};

// ---- clipboard channels (one per direction, each written by one side) ----
// Each side writes only its own channel's header: its offer (the formats it
// holds, no data), its request for one format of the peer's offer with how
// many bytes of the answer it has taken (the ack), and its answer to the
// peer's request, one chunk at a time in the data area. The next chunk is
// written only after the peer acked the last one.
enum class ClipboardMime : std::uint32_t { none = 0, text_utf8 = 1, image_png = 2 };
inline constexpr std::uint32_t kClipboardMaxFormats = 4;

struct ClipboardFormat {
    std::uint32_t mime;  // ClipboardMime
    std::uint32_t reserved;
    std::uint64_t size;  // bytes, 0 when unknown until fetched
};

enum class ClipboardAnswerState : std::uint32_t { none = 0, sending = 1, refused = 2 };

struct alignas(64) ClipboardHeader {
    std::uint64_t seq;
    std::uint64_t serial;  // this side's offer, bumped on every new one (0: none yet)
    std::uint32_t format_count;
    std::uint32_t reserved0;
    std::uint64_t capacity;     // bytes available for data (set at layout)
    std::uint64_t data_offset;  // from the channel start
    ClipboardFormat formats[kClipboardMaxFormats];
    // As requester, about the peer's offer:
    std::uint64_t request_serial;  // the peer's offer asked for
    std::uint32_t request_id;      // bumped on every request (0: none); mime none cancels
    std::uint32_t request_mime;
    std::uint64_t request_acked;  // bytes of the answer taken so far
    // As owner, answering the peer's request:
    std::uint64_t answer_serial;
    std::uint32_t answer_id;  // the peer's request_id answered
    std::uint32_t answer_mime;
    std::uint64_t answer_total;  // bytes of the whole data
    std::uint64_t chunk_offset;  // where the data area's chunk belongs in the whole
    std::uint32_t chunk_length;
    std::uint32_t answer_state;  // ClipboardAnswerState
};

}  // namespace porthole::protocol

namespace porthole::protocol {
static_assert(offsetof(AudioRingHeader, volume) % 8 == 0, "volume+muted are stored as one word");
}  // namespace porthole::protocol

// Every wire struct's size and each field's offset, as both sides (the Linux
// client, the Windows and Linux agents, GCC, MinGW and clang) must lay them
// out. A change that moves one is a protocol change: bump kVersion.
namespace porthole::protocol {
static_assert(offsetof(ChannelDesc, kind) == 0);
static_assert(offsetof(ChannelDesc, reserved) == 4);
static_assert(offsetof(ChannelDesc, offset) == 8);
static_assert(offsetof(ChannelDesc, size) == 16);

static_assert(sizeof(RegionHeader) == 424);
static_assert(offsetof(RegionHeader, magic) == 0);
static_assert(offsetof(RegionHeader, version) == 8);
static_assert(offsetof(RegionHeader, header_size) == 12);
static_assert(offsetof(RegionHeader, region_size) == 16);
static_assert(offsetof(RegionHeader, features) == 24);
static_assert(offsetof(RegionHeader, channel_count) == 32);
static_assert(offsetof(RegionHeader, reserved) == 36);
static_assert(offsetof(RegionHeader, channels) == 40);

static_assert(offsetof(PeerBlock, session_id) == 0);
static_assert(offsetof(PeerBlock, protocol_version) == 8);
static_assert(offsetof(PeerBlock, doorbell) == 12);
static_assert(offsetof(PeerBlock, capabilities) == 16);
static_assert(offsetof(PeerBlock, heartbeat_counter) == 24);
static_assert(offsetof(PeerBlock, heartbeat_time_ns) == 32);
static_assert(offsetof(PeerBlock, ping_seq) == 40);
static_assert(offsetof(PeerBlock, ping_time_ns) == 48);
static_assert(offsetof(PeerBlock, pong_seq) == 56);
static_assert(offsetof(PeerBlock, pong_ping_time_ns) == 64);
static_assert(offsetof(PeerBlock, pong_recv_time_ns) == 72);
static_assert(offsetof(PeerBlock, pong_send_time_ns) == 80);
static_assert(offsetof(PeerBlock, name) == 88);

static_assert(offsetof(GuestResRequest, seq) == 0);
static_assert(offsetof(GuestResRequest, serial) == 8);
static_assert(offsetof(GuestResRequest, width) == 16);
static_assert(offsetof(GuestResRequest, height) == 20);
static_assert(offsetof(GuestResRequest, reserved) == 24);

static_assert(sizeof(FrameChannelHeader) == 128);
static_assert(offsetof(FrameChannelHeader, slot_count) == 0);
static_assert(offsetof(FrameChannelHeader, reserved) == 4);
static_assert(offsetof(FrameChannelHeader, slot_size) == 8);
static_assert(offsetof(FrameChannelHeader, slots_offset) == 16);
static_assert(offsetof(FrameChannelHeader, damage_history_offset) == 24);
static_assert(offsetof(FrameChannelHeader, reserved1) == 32);
static_assert(offsetof(FrameChannelHeader, latest) == 64);

static_assert(offsetof(FrameMeta, serial) == 0);
static_assert(offsetof(FrameMeta, width) == 8);
static_assert(offsetof(FrameMeta, height) == 12);
static_assert(offsetof(FrameMeta, stride) == 16);
static_assert(offsetof(FrameMeta, format) == 20);
static_assert(offsetof(FrameMeta, capture_time_ns) == 24);
static_assert(offsetof(FrameMeta, damage_count) == 32);
static_assert(offsetof(FrameMeta, flags) == 36);

static_assert(sizeof(FrameSlotHeader) == 1088);
static_assert(offsetof(FrameSlotHeader, seq) == 0);
static_assert(offsetof(FrameSlotHeader, rows_written) == 8);
static_assert(offsetof(FrameSlotHeader, meta) == 16);
static_assert(offsetof(FrameSlotHeader, damage) == 56);

static_assert(sizeof(DamageRecord) == 1088);
static_assert(offsetof(DamageRecord, seq) == 0);
static_assert(offsetof(DamageRecord, serial) == 8);
static_assert(offsetof(DamageRecord, width) == 16);
static_assert(offsetof(DamageRecord, height) == 20);
static_assert(offsetof(DamageRecord, format) == 24);
static_assert(offsetof(DamageRecord, damage_count) == 28);
static_assert(offsetof(DamageRecord, flags) == 32);
static_assert(offsetof(DamageRecord, reserved) == 36);
static_assert(offsetof(DamageRecord, damage) == 40);

static_assert(sizeof(CursorPosition) == 64);
static_assert(offsetof(CursorPosition, seq) == 0);
static_assert(offsetof(CursorPosition, x) == 8);
static_assert(offsetof(CursorPosition, y) == 12);
static_assert(offsetof(CursorPosition, visible) == 16);
static_assert(offsetof(CursorPosition, reserved) == 20);
static_assert(offsetof(CursorPosition, shape_serial) == 24);

static_assert(sizeof(CursorShapeHeader) == 64);
static_assert(offsetof(CursorShapeHeader, seq) == 0);
static_assert(offsetof(CursorShapeHeader, serial) == 8);
static_assert(offsetof(CursorShapeHeader, type) == 16);
static_assert(offsetof(CursorShapeHeader, width) == 20);
static_assert(offsetof(CursorShapeHeader, height) == 24);
static_assert(offsetof(CursorShapeHeader, pitch) == 28);
static_assert(offsetof(CursorShapeHeader, hotspot_x) == 32);
static_assert(offsetof(CursorShapeHeader, hotspot_y) == 36);
static_assert(offsetof(CursorShapeHeader, data_size) == 40);
static_assert(offsetof(CursorShapeHeader, reserved) == 44);

static_assert(offsetof(InputEvent, time_ns) == 0);
static_assert(offsetof(InputEvent, type) == 8);
static_assert(offsetof(InputEvent, code) == 10);
static_assert(offsetof(InputEvent, value) == 12);
static_assert(offsetof(InputEvent, device) == 16);
static_assert(offsetof(InputEvent, reserved) == 20);

static_assert(sizeof(InputRingHeader) == 192);
static_assert(offsetof(InputRingHeader, capacity) == 0);
static_assert(offsetof(InputRingHeader, event_size) == 4);
static_assert(offsetof(InputRingHeader, events_offset) == 8);
static_assert(offsetof(InputRingHeader, head) == 64);
static_assert(offsetof(InputRingHeader, host_overflow) == 72);
static_assert(offsetof(InputRingHeader, tail) == 128);
static_assert(offsetof(InputRingHeader, guest_rejected) == 136);

static_assert(sizeof(AudioRingHeader) == 128);
static_assert(offsetof(AudioRingHeader, format_seq) == 0);
static_assert(offsetof(AudioRingHeader, rate) == 8);
static_assert(offsetof(AudioRingHeader, channels) == 12);
static_assert(offsetof(AudioRingHeader, sample_format) == 14);
static_assert(offsetof(AudioRingHeader, data_offset) == 16);
static_assert(offsetof(AudioRingHeader, data_size) == 24);
static_assert(offsetof(AudioRingHeader, channel_mask) == 32);
static_assert(offsetof(AudioRingHeader, write_pos) == 64);
static_assert(offsetof(AudioRingHeader, write_time_ns) == 72);
static_assert(offsetof(AudioRingHeader, volume) == 80);
static_assert(offsetof(AudioRingHeader, muted) == 84);

static_assert(sizeof(ClipboardFormat) == 16);
static_assert(offsetof(ClipboardFormat, mime) == 0);
static_assert(offsetof(ClipboardFormat, size) == 8);
static_assert(sizeof(ClipboardHeader) == 192);
static_assert(offsetof(ClipboardHeader, seq) == 0);
static_assert(offsetof(ClipboardHeader, serial) == 8);
static_assert(offsetof(ClipboardHeader, format_count) == 16);
static_assert(offsetof(ClipboardHeader, capacity) == 24);
static_assert(offsetof(ClipboardHeader, data_offset) == 32);
static_assert(offsetof(ClipboardHeader, formats) == 40);
static_assert(offsetof(ClipboardHeader, request_serial) == 104);
static_assert(offsetof(ClipboardHeader, request_id) == 112);
static_assert(offsetof(ClipboardHeader, request_mime) == 116);
static_assert(offsetof(ClipboardHeader, request_acked) == 120);
static_assert(offsetof(ClipboardHeader, answer_serial) == 128);
static_assert(offsetof(ClipboardHeader, answer_id) == 136);
static_assert(offsetof(ClipboardHeader, answer_mime) == 140);
static_assert(offsetof(ClipboardHeader, answer_total) == 144);
static_assert(offsetof(ClipboardHeader, chunk_offset) == 152);
static_assert(offsetof(ClipboardHeader, chunk_length) == 160);
static_assert(offsetof(ClipboardHeader, answer_state) == 164);

static_assert(sizeof(Rect) == 16);
static_assert(offsetof(Rect, x) == 0);
static_assert(offsetof(Rect, y) == 4);
static_assert(offsetof(Rect, w) == 8);
static_assert(offsetof(Rect, h) == 12);
}  // namespace porthole::protocol
