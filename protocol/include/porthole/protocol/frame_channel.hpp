#pragma once
// The frames channel: the guest publishes into N slots and never waits; the
// host takes the newest frame and accepts it only if the slot's seqlock was
// unchanged across its copy. Damage is tracked per frame so that both the
// guest (filling a slot last written N frames ago) and the host (updating a
// persistent copy that may be several frames old) copy only what changed.
//
// Whole frames can also be published progressively (issue 21): the frame is
// announced before its pixels are written and a published row count tells
// the host how far it may copy, so the host's copy ends one chunk after the
// guest's instead of one whole copy later. Damage-only frames keep the
// publish path: they are small and a second copy of them costs little.

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "porthole/protocol/format.hpp"
#include "porthole/protocol/region.hpp"
#include "porthole/util/frame_cadence.hpp"
#include "porthole/util/result.hpp"

namespace porthole::protocol {

// A complete current image that the writer copies damaged rectangles from.
struct FrameSource {
    std::uint32_t width = 0;
    std::uint32_t height = 0;
    std::uint32_t stride = 0;  // bytes per row of `pixels`
    PixelFormat format = PixelFormat::bgra8;
    const std::byte* pixels = nullptr;
};

// Rows per progressive chunk are chosen so a chunk holds about this many
// bytes. bench/transport's sweep at 60 Hz, the host waiting with wake_hint,
// rows streamed (non-temporal stores) on both sides, copy-done median as a
// ratio to one memcpy of the frame in the same run (load average 2-3; the
// guest's pacing p90 67 us at 4K, 1.9-5.3 ms at 1080p): 4K 0.94x (32 KiB),
// 0.96x (64), 0.95x (128), 1.03x (1 MiB), today's publish 2.13-2.19x; 1080p
// 1.02x (128), 1.01x (256), 1.11x (64), 1.16x (1 MiB), today's 2.2-2.3x. Runs
// where the guest's own pacing wandered by milliseconds (256 KiB at 4K:
// 1.65x beside today's 2.12x) say more about the load than the size.
// 128 KiB: within the noise of the best at both sizes. Earlier sweep, at
// load average 4-5 with plain stores: no size ahead of the noise.
inline constexpr std::size_t kProgressiveChunkBytes = 128 * 1024;
// A progressive frame whose rows stop advancing for this long is dropped.
inline constexpr std::uint64_t kProgressiveTimeoutNs = 100'000'000;

struct FrameWriterStats {
    std::uint64_t published = 0;
    std::uint64_t bytes_copied = 0;       // total pixel bytes copied into slots
    std::uint64_t last_bytes_copied = 0;  // by the last publish
};

class FrameWriter {
  public:
    // Lays out the channel (agent, at session start) and clears every slot.
    static Result<FrameWriter> create(std::span<std::byte> channel, std::uint32_t slot_count);

    // Publishes src as the next frame; `damage` is what changed since the
    // previous publish (ignored when the size or format changed). Never blocks.
    // Returns the frame's serial.
    Result<std::uint64_t> publish(const FrameSource& src, const DamageList& damage,
                                  std::uint64_t capture_time_ns);

    // Progressive publish of a whole frame: begin_frame announces it (no row
    // written yet), write_rows copies the next rows of `src` and publishes the
    // new position, end_frame writes what remains and completes the frame.
    // `src` must stay valid until end_frame. A publish or begin_frame while a
    // frame is open abandons it (the host never shows it). Returns the serial.
    Result<std::uint64_t> begin_frame(const FrameSource& src, std::uint64_t capture_time_ns);
    Status write_rows(std::uint32_t rows);
    Result<std::uint64_t> end_frame();
    // begin_frame, write_rows in chunks of about chunk_bytes, end_frame.
    Result<std::uint64_t> publish_progressive(const FrameSource& src, std::uint64_t capture_time_ns,
                                              std::size_t chunk_bytes = kProgressiveChunkBytes);
    // The agent's choice per update: the whole frame progressively when most
    // of it changed (damage over half its area, a new size, the first frame),
    // where the host gains a whole copy's time; publish for smaller damage.
    Result<std::uint64_t> publish_update(const FrameSource& src, const DamageList& damage,
                                         std::uint64_t capture_time_ns);
    [[nodiscard]] bool frame_open() const { return open_.active; }
    // Rows per chunk of about chunk_bytes for a frame of this source (at least one).
    static std::uint32_t chunk_rows(const FrameSource& src, std::size_t chunk_bytes);

    [[nodiscard]] std::uint64_t max_frame_bytes() const { return slot_size_ - kPageSize; }
    [[nodiscard]] std::uint32_t slot_count() const { return slot_count_; }
    [[nodiscard]] const FrameWriterStats& stats() const { return stats_; }
    // Called once a frame is announced (a progressive one before its rows):
    // the agent rings the host's doorbell here, so the host wakes in time to
    // follow the rows. Runs on the publishing thread; must not block.
    void set_on_announce(std::function<void()> f) { on_announce_ = std::move(f); }

  private:
    struct Geometry {
        std::uint32_t width = 0, height = 0, format = 0;
        friend bool operator==(const Geometry&, const Geometry&) = default;
    };
    struct History {
        std::uint64_t serial = 0;
        Geometry geometry;
        bool full = true;
        DamageList damage;
    };
    struct Slot {
        std::uint64_t serial = 0;  // frame held by the slot; 0 = nothing valid
        Geometry geometry;
    };
    struct OpenFrame {  // the progressive frame being written
        bool active = false;
        std::uint64_t serial = 0;
        std::uint32_t slot = 0;
        std::uint32_t rows = 0;  // rows written so far
        std::uint32_t stride = 0;
        std::uint32_t bpp = 0;
        FrameSource src;
    };

    FrameWriter(std::span<std::byte> channel, std::uint32_t slot_count, std::uint64_t slot_size);
    FrameSlotHeader& slot_header(std::uint32_t i);
    std::byte* slot_pixels(std::uint32_t i);
    DamageRecord& record(std::uint64_t serial);
    // Damage since `since` up to the current frame, or nullopt when unknown.
    std::optional<DamageList> damage_since(std::uint64_t since, const Geometry& g) const;
    Status check_source(const FrameSource& src) const;
    // Takes the next serial and records its damage (history and shared record).
    Result<std::uint64_t> record_frame(const Geometry& g, bool full, const DamageList& damage);
    void abandon_open_frame();
    std::uint32_t claim_slot();  // the next slot in turn
    // Writes `out` (seq taken from the slot) as the slot's header, ends the
    // seqlock write begun by the caller and names the frame in `latest`.
    void announce(std::uint32_t slot, FrameSlotHeader& out);
    void count_published(std::uint64_t bytes_copied);

    std::span<std::byte> channel_;
    std::uint32_t slot_count_ = 0;
    std::uint64_t slot_size_ = 0;
    std::uint64_t serial_ = 0;
    std::uint32_t next_slot_ = 0;
    Geometry last_;
    std::vector<Slot> slots_;
    std::vector<History> history_;  // kDamageHistory entries, by serial % kDamageHistory
    OpenFrame open_;
    FrameWriterStats stats_;
    std::function<void()> on_announce_;
};

// A frame the host may copy from: pixel bytes inside the region (bounds
// checked) and the rectangles its persistent copy needs.
struct FrameView {
    FrameMeta meta{};
    PixelFormat format = PixelFormat::bgra8;
    std::span<const std::byte> pixels;  // stride * height bytes in the slot
    DamageList copy_rects;              // rectangles to copy (the whole frame when `full`)
    bool full = false;
    std::uint32_t slot = 0;
    std::uint64_t seq = 0;
    // A progressive frame still being written (from poll_progressive): copy it
    // with FrameReader::copy_available, which tracks the fields below.
    bool in_progress = false;
    bool done = false;              // copy_available reached an end state
    std::uint32_t rows_copied = 0;  // rows [0, rows_copied) are in the host's copy
    std::uint64_t progress_ns = 0;  // host clock when rows last advanced
};

enum class FrameCopyState {
    in_progress,  // some rows copied, more to come
    complete,     // the whole frame is copied and exact: accepted
    torn,         // the guest reused the slot during the copy: discarded
    dropped,      // the frame stopped advancing (timeout) or was abandoned
};
struct FrameCopyProgress {
    FrameCopyState state = FrameCopyState::in_progress;
    std::uint32_t rows = 0;  // rows of the frame in the host's copy so far
};

struct FrameReaderStats {
    std::uint64_t accepted = 0;
    std::uint64_t torn = 0;     // copies discarded because the guest overwrote the slot
    std::uint64_t skipped = 0;  // frames published but never seen (host slower than guest)
    std::uint64_t invalid = 0;  // frames rejected by validation
    std::uint64_t dropped = 0;  // progressive frames that stopped advancing or were abandoned
};

class FrameReader {
  public:
    // Validates the channel header the agent wrote and keeps a copy of it.
    static Result<FrameReader> attach(std::span<const std::byte> channel);

    // The newest frame not yet accepted, if any. An error means the guest
    // wrote something invalid; the reader stays usable.
    Result<std::optional<FrameView>> poll();

    // Like poll, but also offers a progressive frame the guest is still
    // writing (view.in_progress), to be copied with copy_available.
    Result<std::optional<FrameView>> poll_progressive(std::uint64_t now_ns);

    // Copies what is valid of the view into dst (same format, dst_stride bytes
    // per row) and says how far it got. A view that is not in progress is
    // copied and finished at once. Every value the guest wrote is checked: a
    // row count above the height or going backwards is an error (the view is
    // ended, the next frame comes whole); rows that stop advancing for the
    // timeout drop the frame.
    Result<FrameCopyProgress> copy_available(FrameView& view, std::span<std::byte> dst,
                                             std::uint32_t dst_stride, std::uint64_t now_ns);
    void set_progress_timeout(std::uint64_t ns) { progress_timeout_ns_ = ns; }
    // For a copy the caller makes itself (a GPU reading the slot in place):
    // checks the view like copy_available and advances view.rows_copied to the
    // rows written so far, without copying. `complete` means every row is
    // written and the slot still holds the frame; the caller then copies what
    // remains and calls finish once its copy is done, which accepts the frame.
    Result<FrameCopyProgress> rows_ready(FrameView& view, std::uint64_t now_ns);

    // After copying view.copy_rects out of view.pixels: true if the slot held
    // still (the copy is exact and now current); false if it was torn, in which
    // case the next frame is delivered whole.
    bool finish(const FrameView& view);

    // When the host's waiting thread should poll again (for AdaptiveWait::idle):
    // spin while a progressive frame's rows are landing (the copy then ends
    // about one chunk behind the writer), and around the moment the next
    // frame is due when frames come at a steady rate (learned from the times
    // poll_progressive first saw each); otherwise no hint.
    [[nodiscard]] WakeHint wake_hint(std::uint64_t now_ns) const;
    [[nodiscard]] const FrameCadence& cadence() const { return cadence_; }
    void set_cadence(FrameCadence::Config c) { cadence_ = FrameCadence(c); }
    // Rows that stop landing for this long end the spin (a writer descheduled mid-frame).
    static constexpr std::uint64_t kFollowSpinNs = 1'000'000;
    // A guest that trickles rows, or starts frame after frame, would keep the
    // host spinning: following takes at most half of each 100 ms (a 4K frame
    // written at memcpy speed takes about a third of a 60 Hz period).
    static constexpr std::uint64_t kFollowWindowNs = 100'000'000;
    static constexpr std::uint64_t kFollowBudgetNs = 50'000'000;

    // The host lost its persistent copy (new texture, device reset): next frame whole.
    void invalidate() { have_ = 0; }

    [[nodiscard]] std::uint32_t slot_count() const { return hdr_.slot_count; }
    [[nodiscard]] std::uint64_t max_frame_bytes() const { return hdr_.slot_size - kPageSize; }
    [[nodiscard]] std::uint64_t last_serial() const { return have_; }
    [[nodiscard]] const FrameReaderStats& stats() const { return stats_; }
    // Start of slot i's pixel area (page-aligned), for importing the region into a GPU.
    [[nodiscard]] std::uint64_t slot_pixels_offset(std::uint32_t i) const;

  private:
    FrameReader(std::span<const std::byte> channel, const FrameChannelHeader& hdr)
        : channel_(channel), hdr_(hdr) {}
    Result<DamageList> accumulate(const FrameMeta& meta, const DamageList& own) const;
    Result<std::optional<FrameView>> poll_frame(bool progressive, std::uint64_t now_ns);
    // The progressive part of copy_available and rows_ready: `copy` gets each
    // new row range before the seqlock is checked; `accept` takes a complete frame.
    Result<FrameCopyProgress> advance(
        FrameView& view, std::uint64_t now_ns, bool accept,
        const std::function<void(std::uint32_t, std::uint32_t)>& copy);
    const FrameSlotHeader& shared_slot(std::uint32_t slot) const;

    std::span<const std::byte> channel_;
    FrameChannelHeader hdr_;
    std::uint64_t have_ = 0;  // serial of the host's persistent copy; 0 = none
    FrameMeta have_meta_{};
    std::uint64_t seen_ = 0;  // newest serial seen (accepted or not)
    FrameReaderStats stats_;
    std::uint64_t progress_timeout_ns_ = kProgressiveTimeoutNs;
    FrameCadence cadence_;
    bool streaming_ = false;          // a progressive frame offered and not ended
    std::uint64_t streaming_ns_ = 0;  // when its rows last advanced (or it was offered)
    // wake_hint's spin budget: the window's start, the spin spent in it, the last spin hint.
    mutable std::uint64_t follow_window_ns_ = 0, follow_spent_ns_ = 0, follow_last_ns_ = 0;
};

// Copies the view's rects from its pixels into dst (same format, dst_stride
// bytes per row). The caller then calls FrameReader::finish.
void copy_frame_rects(const FrameView& view, std::span<std::byte> dst, std::uint32_t dst_stride);

// Validates one frame's metadata against the channel's limits.
Status validate_frame_meta(const FrameMeta& meta, std::span<const Rect> damage,
                           std::uint64_t max_frame_bytes);

}  // namespace porthole::protocol
