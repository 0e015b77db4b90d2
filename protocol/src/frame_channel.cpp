#include "porthole/protocol/frame_channel.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "porthole/protocol/layout.hpp"
#include "porthole/protocol/shared_memory.hpp"

namespace porthole::protocol {
namespace {

constexpr std::uint64_t kHistoryBytes = std::uint64_t{kDamageHistory} * sizeof(DamageRecord);
// Where the writer places the slots: after the header page and the history.
constexpr std::uint64_t kWriterSlotsOffset =
    kPageSize + ((kHistoryBytes + kPageSize - 1) & ~(kPageSize - 1));

// Whether a progressive frame's rows go out with non-temporal stores, the
// guest's into the slot and the host's into its copy (stream_bytes).
constexpr bool kStreamRows = true;

Error channel_error(std::string msg) {
    return Error::make(std::move(msg), static_cast<int>(RegionError::bad_channel_header));
}

// glibc's memcpy moves blocks of about 4 KiB to 1 MiB with `rep movsb`,
// which on AMD Zen runs 3-10x slower when source and destination differ in
// alignment mod 64. Those go in fixed 64-byte pieces (plain vector moves);
// smaller and larger blocks go to memcpy (vector moves, non-temporal stores).
void copy_bytes(std::byte* dst, const std::byte* src, std::size_t n) {
    if (n < 4096 || n >= (std::size_t{1} << 20)) {
        copy_racy(dst, src, n);
        return;
    }
    std::size_t i = 0;
    for (; i + 64 <= n; i += 64)
        copy_racy(dst + i, src + i, 64);
    copy_racy(dst + i, src + i, n - i);
}

// Non-temporal stores (SSE2) for blocks the copier will not read back: the
// stores skip reading each destination line first and leave the caches to the
// other side, which copies out the chunk before. For a progressive frame's
// rows (the guest's WC-mapped BAR stores so anyway).
void stream_bytes(std::byte* dst, const std::byte* src, std::size_t n) {
#if defined(__SSE2__) && !defined(PORTHOLE_TSAN)
    std::size_t i = 0;
    const std::size_t mis = reinterpret_cast<std::uintptr_t>(dst) & 15U;
    if (mis != 0) {
        i = std::min(n, 16 - mis);
        copy_racy(dst, src, i);
    }
    for (; i + 64 <= n; i += 64) {
        const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
        const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i + 16));
        const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i + 32));
        const __m128i d = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i + 48));
        _mm_stream_si128(reinterpret_cast<__m128i*>(dst + i), a);
        _mm_stream_si128(reinterpret_cast<__m128i*>(dst + i + 16), b);
        _mm_stream_si128(reinterpret_cast<__m128i*>(dst + i + 32), c);
        _mm_stream_si128(reinterpret_cast<__m128i*>(dst + i + 48), d);
    }
    copy_racy(dst + i, src + i, n - i);
#else
    copy_bytes(dst, src, n);
#endif
}

void copy_rect(std::byte* dst, std::uint32_t dst_stride, const std::byte* src,
               std::uint32_t src_stride, const Rect& r, std::uint32_t bpp, bool stream = false) {
    const std::size_t row = std::size_t{r.w} * bpp;
    const std::size_t x = std::size_t{r.x} * bpp;
    if (row == dst_stride && row == src_stride) {  // whole rows on both sides: one block
        (stream ? stream_bytes : copy_bytes)(dst + std::size_t{r.y} * dst_stride,
                                             src + std::size_t{r.y} * src_stride, row * r.h);
        return;
    }
    for (std::uint32_t y = r.y; y < r.y + r.h; ++y) {
        copy_bytes(dst + std::size_t{y} * dst_stride + x, src + std::size_t{y} * src_stride + x,
                   row);
    }
}

}  // namespace

// ---------------------------------------------------------------- writer

FrameWriter::FrameWriter(std::span<std::byte> channel, std::uint32_t slot_count,
                         std::uint64_t slot_size)
    : channel_(channel),
      slot_count_(slot_count),
      slot_size_(slot_size),
      slots_(slot_count),
      history_(kDamageHistory) {}

Result<FrameWriter> FrameWriter::create(std::span<std::byte> channel, std::uint32_t slot_count) {
    if (slot_count < kMinFrameSlots || slot_count > kMaxFrameSlots) {
        return Error::make("frame slot count must be " + std::to_string(kMinFrameSlots) + ".." +
                           std::to_string(kMaxFrameSlots));
    }
    const std::uint64_t slots_offset = kWriterSlotsOffset;
    if (channel.size() < slots_offset + std::uint64_t{slot_count} * 2 * kPageSize) {
        return Error::make("frames channel too small for " + std::to_string(slot_count) + " slots");
    }
    const std::uint64_t slot_size =
        ((channel.size() - slots_offset) / slot_count) & ~(kPageSize - 1);
    FrameWriter w(channel, slot_count, slot_size);

    auto* hdr = reinterpret_cast<FrameChannelHeader*>(channel.data());
    FrameChannelHeader h{};
    h.slot_count = slot_count;
    h.slot_size = slot_size;
    h.slots_offset = slots_offset;
    h.damage_history_offset = kPageSize;
    h.latest = 0;
    copy_in(*hdr, h);
    for (std::uint64_t s = 0; s < kDamageHistory; ++s)
        copy_in(w.record(s), DamageRecord{});
    for (std::uint32_t i = 0; i < slot_count; ++i)
        copy_in(w.slot_header(i), FrameSlotHeader{});
    return w;
}

FrameSlotHeader& FrameWriter::slot_header(std::uint32_t i) {
    // The writer's own constant, never the shared header (the host may not write
    // it, but nothing in shared memory is read back as trusted).
    return *reinterpret_cast<FrameSlotHeader*>(channel_.data() + kWriterSlotsOffset +
                                               i * slot_size_);
}

std::byte* FrameWriter::slot_pixels(std::uint32_t i) {
    return reinterpret_cast<std::byte*>(&slot_header(i)) + kPageSize;
}

DamageRecord& FrameWriter::record(std::uint64_t serial) {
    return reinterpret_cast<DamageRecord*>(channel_.data() + kPageSize)[serial % kDamageHistory];
}

std::optional<DamageList> FrameWriter::damage_since(std::uint64_t since, const Geometry& g) const {
    if (since == 0 || since >= serial_ || serial_ - since >= kDamageHistory) return std::nullopt;
    DamageList out;
    for (std::uint64_t s = since + 1; s <= serial_; ++s) {
        const History& h = history_[s % kDamageHistory];
        if (h.serial != s || h.full || !(h.geometry == g)) return std::nullopt;
        out.add(h.damage.rects());
    }
    return out;
}

Status FrameWriter::check_source(const FrameSource& src) const {
    const std::uint32_t bpp = bytes_per_pixel(src.format);
    if (bpp == 0 || src.width == 0 || src.height == 0 || src.pixels == nullptr ||
        src.stride < src.width * bpp) {
        return Error::make("invalid frame source");
    }
    const std::uint64_t bytes = std::uint64_t{src.width} * bpp * src.height;  // tight rows
    if (bytes > max_frame_bytes()) {
        return Error::make(
            "a " + std::to_string(src.width) + "x" + std::to_string(src.height) + " " +
            std::string(to_string(src.format)) + " frame needs " + std::to_string(bytes) +
            " bytes per slot but the region's slots hold " + std::to_string(max_frame_bytes()) +
            "; enlarge the IVSHMEM region to at least " +
            std::to_string(recommended_region_size(src.width, src.height, src.format, slot_count_) /
                           (std::uint64_t{1024} * 1024)) +
            " MiB");
    }
    return {};
}

Result<std::uint64_t> FrameWriter::record_frame(const Geometry& g, bool full,
                                                const DamageList& damage) {
    if (!full) {
        for (const Rect& r : damage.rects()) {
            if (!r.inside(g.width, g.height)) return Error::make("damage outside the frame");
        }
    }
    const std::uint64_t serial = ++serial_;
    last_ = g;

    History& h = history_[serial % kDamageHistory];
    h.serial = serial;
    h.geometry = g;
    h.full = full;
    h.damage.clear();
    if (full) {
        h.damage.set_full(g.width, g.height);
    } else {
        h.damage = damage;
    }

    // The damage record lets a host that skipped frames catch up exactly.
    DamageRecord rec{};
    rec.serial = serial;
    rec.width = g.width;
    rec.height = g.height;
    rec.format = g.format;
    rec.flags = full ? frame_flag::full_damage : 0;
    rec.damage_count = full ? 0 : h.damage.size();
    std::memcpy(rec.damage, h.damage.rects().data(), h.damage.size() * sizeof(Rect));
    DamageRecord& shared_rec = record(serial);
    seqlock_begin_write(shared_rec.seq);
    rec.seq = load_relaxed(shared_rec.seq);
    copy_in(shared_rec, rec);
    seqlock_end_write(shared_rec.seq);
    return serial;
}

void FrameWriter::abandon_open_frame() {
    // Its rows never reach the height, so no host shows it; the slot holds
    // nothing a later frame can build on.
    if (!open_.active) return;
    slots_[open_.slot].serial = 0;
    open_.active = false;
}

Result<std::uint64_t> FrameWriter::publish(const FrameSource& src, const DamageList& damage,
                                           std::uint64_t capture_time_ns) {
    abandon_open_frame();
    if (auto ok = check_source(src); !ok) return ok.error();
    const std::uint32_t bpp = bytes_per_pixel(src.format);
    const std::uint32_t stride = src.width * bpp;  // slots hold tight rows
    const Geometry g{src.width, src.height, static_cast<std::uint32_t>(src.format)};
    const bool full = serial_ == 0 || !(g == last_);
    auto recorded = record_frame(g, full, damage);
    if (!recorded) return recorded.error();
    const std::uint64_t serial = *recorded;
    const History& h = history_[serial % kDamageHistory];

    // Bring the slot from the frame it last held to this one.
    const std::uint32_t slot = claim_slot();
    Slot& st = slots_[slot];
    DamageList copy;
    if (auto d = st.geometry == g ? damage_since(st.serial, g) : std::nullopt) {
        copy = *d;
    } else {
        copy.set_full(src.width, src.height);
    }

    FrameSlotHeader& sh = slot_header(slot);
    seqlock_begin_write(sh.seq);
    std::uint64_t copied = 0;
    for (const Rect& r : copy.rects()) {
        copy_rect(slot_pixels(slot), stride, src.pixels, src.stride, r, bpp);
        copied += r.area() * bpp;
    }
    FrameSlotHeader out{};
    out.meta = FrameMeta{serial,
                         src.width,
                         src.height,
                         stride,
                         static_cast<std::uint32_t>(src.format),
                         capture_time_ns,
                         full ? 0 : h.damage.size(),
                         full ? frame_flag::full_damage : 0};
    std::memcpy(out.damage, h.damage.rects().data(), h.damage.size() * sizeof(Rect));
    announce(slot, out);
    st.serial = serial;
    st.geometry = g;
    count_published(copied);
    return serial;
}

std::uint32_t FrameWriter::claim_slot() {
    const std::uint32_t slot = next_slot_;
    next_slot_ = (next_slot_ + 1) % slot_count_;
    return slot;
}

void FrameWriter::announce(std::uint32_t slot, FrameSlotHeader& out) {
    FrameSlotHeader& sh = slot_header(slot);
    out.seq = load_relaxed(sh.seq);
    copy_in(sh, out);
    wc_store_fence();  // pixels and header out of the WC buffers before the seqlock and `latest`
    seqlock_end_write(sh.seq);
    auto* hdr = reinterpret_cast<FrameChannelHeader*>(channel_.data());
    store_release(hdr->latest, (out.meta.serial << 8) | slot);
    if (on_announce_) on_announce_();
}

void FrameWriter::count_published(std::uint64_t bytes_copied) {
    stats_.published++;
    stats_.bytes_copied += bytes_copied;
    stats_.last_bytes_copied = bytes_copied;
}

std::uint32_t FrameWriter::chunk_rows(const FrameSource& src, std::size_t chunk_bytes) {
    const std::size_t row = std::size_t{src.width} * bytes_per_pixel(src.format);
    if (row == 0) return 1;
    return static_cast<std::uint32_t>(std::max<std::size_t>(1, chunk_bytes / row));
}

Result<std::uint64_t> FrameWriter::begin_frame(const FrameSource& src,
                                               std::uint64_t capture_time_ns) {
    abandon_open_frame();
    if (auto ok = check_source(src); !ok) return ok.error();
    const std::uint32_t bpp = bytes_per_pixel(src.format);
    const Geometry g{src.width, src.height, static_cast<std::uint32_t>(src.format)};
    auto recorded = record_frame(g, true, DamageList{});
    if (!recorded) return recorded.error();
    const std::uint64_t serial = *recorded;

    const std::uint32_t slot = claim_slot();
    // The slot's old pixels are about to go: until the frame completes it holds nothing valid.
    slots_[slot].serial = 0;

    // The header under the seqlock; the odd seq also tells a host still
    // copying this slot's previous frame that it is being reused.
    FrameSlotHeader& sh = slot_header(slot);
    seqlock_begin_write(sh.seq);
    FrameSlotHeader out{};
    out.rows_written = 0;
    out.meta = FrameMeta{serial,
                         src.width,
                         src.height,
                         src.width * bpp,
                         static_cast<std::uint32_t>(src.format),
                         capture_time_ns,
                         0,
                         frame_flag::full_damage | frame_flag::progressive};
    announce(slot, out);
    open_ = OpenFrame{true, serial, slot, 0, src.width * bpp, bpp, src};
    return serial;
}

Status FrameWriter::write_rows(std::uint32_t rows) {
    if (!open_.active) return Error::make("no progressive frame is open");
    rows = std::min(rows, open_.src.height - open_.rows);
    if (rows == 0) return {};
    copy_rect(slot_pixels(open_.slot), open_.stride, open_.src.pixels, open_.src.stride,
              Rect{0, open_.rows, open_.src.width, rows}, open_.bpp, kStreamRows);
    open_.rows += rows;
    wc_store_fence();  // the rows out of the WC buffers before the position that covers them
    store_release(slot_header(open_.slot).rows_written, open_.rows);
    return {};
}

Result<std::uint64_t> FrameWriter::end_frame() {
    if (!open_.active) return Error::make("no progressive frame is open");
    if (auto ok = write_rows(open_.src.height - open_.rows); !ok) return ok.error();
    Slot& st = slots_[open_.slot];
    st.serial = open_.serial;
    st.geometry =
        Geometry{open_.src.width, open_.src.height, static_cast<std::uint32_t>(open_.src.format)};
    open_.active = false;
    count_published(std::uint64_t{open_.stride} * open_.src.height);
    return open_.serial;
}

Result<std::uint64_t> FrameWriter::publish_progressive(const FrameSource& src,
                                                       std::uint64_t capture_time_ns,
                                                       std::size_t chunk_bytes) {
    auto serial = begin_frame(src, capture_time_ns);
    if (!serial) return serial;
    const std::uint32_t rows = chunk_rows(src, chunk_bytes);
    while (open_.rows < src.height) {
        if (auto ok = write_rows(rows); !ok) return ok.error();
    }
    return end_frame();
}

Result<std::uint64_t> FrameWriter::publish_update(const FrameSource& src, const DamageList& damage,
                                                  std::uint64_t capture_time_ns) {
    const Geometry g{src.width, src.height, static_cast<std::uint32_t>(src.format)};
    const bool whole =
        serial_ == 0 || !(g == last_) || damage.area() * 2 >= std::uint64_t{src.width} * src.height;
    if (whole) return publish_progressive(src, capture_time_ns);
    return publish(src, damage, capture_time_ns);
}

// ---------------------------------------------------------------- reader

Status validate_frame_meta(const FrameMeta& m, std::span<const Rect> damage,
                           std::uint64_t max_frame_bytes) {
    if (!is_known_format(m.format))
        return channel_error("unknown pixel format " + std::to_string(m.format));
    const std::uint32_t bpp = bytes_per_pixel(static_cast<PixelFormat>(m.format));
    if (m.width == 0 || m.height == 0 || m.width > 16384 || m.height > 16384) {
        return channel_error("frame size " + std::to_string(m.width) + "x" +
                             std::to_string(m.height) + " out of range");
    }
    if (m.stride < m.width * bpp || std::uint64_t{m.stride} * m.height > max_frame_bytes) {
        return channel_error("frame stride " + std::to_string(m.stride) + " does not fit the slot");
    }
    if (m.damage_count > kMaxDamageRects) return channel_error("too many damage rectangles");
    if ((m.flags & ~frame_flag::known) != 0) return channel_error("unknown frame flags");
    if ((m.flags & frame_flag::progressive) != 0 &&
        ((m.flags & frame_flag::full_damage) == 0 || m.damage_count != 0)) {
        return channel_error("a progressive frame must be a whole frame");
    }
    for (std::uint32_t i = 0; i < m.damage_count; ++i) {
        if (!damage[i].inside(m.width, m.height)) return channel_error("damage outside the frame");
    }
    return {};
}

Result<FrameReader> FrameReader::attach(std::span<const std::byte> channel) {
    if (channel.size() < kPageSize) return channel_error("frames channel smaller than a page");
    const auto h = copy_out(*reinterpret_cast<const FrameChannelHeader*>(channel.data()));
    if (h.slot_count < kMinFrameSlots || h.slot_count > kMaxFrameSlots) {
        return channel_error("frame slot count " + std::to_string(h.slot_count) + " out of range");
    }
    if (h.slot_size % kPageSize != 0 || h.slot_size < 2 * kPageSize ||
        h.damage_history_offset % 64 != 0 || h.damage_history_offset < kPageSize ||
        h.damage_history_offset > channel.size() ||
        channel.size() - h.damage_history_offset < kHistoryBytes ||
        h.slots_offset % kPageSize != 0 ||
        h.slots_offset < h.damage_history_offset + kHistoryBytes ||
        h.slots_offset > channel.size() ||
        (channel.size() - h.slots_offset) / h.slot_size < h.slot_count) {
        return channel_error("frames channel header does not fit its channel");
    }
    return FrameReader(channel, h);
}

std::uint64_t FrameReader::slot_pixels_offset(std::uint32_t i) const {
    return hdr_.slots_offset + i * hdr_.slot_size + kPageSize;
}

Result<DamageList> FrameReader::accumulate(const FrameMeta& meta, const DamageList& own) const {
    DamageList out;
    // Damage of frames the host never saw, from the history ring.
    const auto* records =
        reinterpret_cast<const DamageRecord*>(channel_.data() + hdr_.damage_history_offset);
    for (std::uint64_t s = have_ + 1; s < meta.serial; ++s) {
        const DamageRecord& shared = records[s % kDamageHistory];
        const std::uint64_t begin = seqlock_read_begin(shared.seq);
        const DamageRecord r = copy_out(shared);
        if (!seqlock_read_valid(shared.seq, begin) || r.serial != s ||
            (r.flags & frame_flag::full_damage) != 0 || r.width != meta.width ||
            r.height != meta.height || r.format != meta.format ||
            r.damage_count > kMaxDamageRects) {
            return Error::make("damage history unavailable");
        }
        for (std::uint32_t i = 0; i < r.damage_count; ++i) {
            if (!r.damage[i].inside(meta.width, meta.height)) {
                return Error::make("damage history out of bounds");
            }
            out.add(r.damage[i]);
        }
    }
    out.add(own.rects());
    return out;
}

const FrameSlotHeader& FrameReader::shared_slot(std::uint32_t slot) const {
    return *reinterpret_cast<const FrameSlotHeader*>(channel_.data() + hdr_.slots_offset +
                                                     slot * hdr_.slot_size);
}

Result<std::optional<FrameView>> FrameReader::poll() {
    return poll_frame(false, 0);
}

Result<std::optional<FrameView>> FrameReader::poll_progressive(std::uint64_t now_ns) {
    return poll_frame(true, now_ns);
}

Result<std::optional<FrameView>> FrameReader::poll_frame(bool progressive, std::uint64_t now_ns) {
    const auto* hdr = reinterpret_cast<const FrameChannelHeader*>(channel_.data());
    const std::uint64_t latest = load_acquire(hdr->latest);
    if (latest == 0) return std::optional<FrameView>{};
    const std::uint64_t serial = latest >> 8;
    const auto slot = static_cast<std::uint32_t>(latest & 0xFF);
    if (slot >= hdr_.slot_count) {
        stats_.invalid++;
        return channel_error("latest frame names slot " + std::to_string(slot) + " of " +
                             std::to_string(hdr_.slot_count));
    }
    if (serial == have_) return std::optional<FrameView>{};
    if (serial < seen_) {
        stats_.invalid++;
        return channel_error("frame serial went backwards");
    }
    if (serial > seen_ + 1 && seen_ != 0) stats_.skipped += serial - seen_ - 1;
    const bool first_sight = serial > seen_;
    seen_ = serial;

    const FrameSlotHeader& shared = shared_slot(slot);
    FrameView v;
    v.slot = slot;
    v.seq = seqlock_read_begin(shared.seq);
    if ((v.seq & 1U) != 0) return std::optional<FrameView>{};  // being rewritten: newer coming
    const FrameSlotHeader sh = copy_out(shared);
    if (sh.meta.serial != serial) return std::optional<FrameView>{};  // already overwritten
    if (auto ok = validate_frame_meta(sh.meta, sh.damage, max_frame_bytes()); !ok) {
        stats_.invalid++;
        return ok.error();
    }
    if ((sh.meta.flags & frame_flag::progressive) != 0) {
        // The header must be whole before its rows count means anything.
        if (!seqlock_read_valid(shared.seq, v.seq)) return std::optional<FrameView>{};
        const std::uint64_t rows = load_acquire(shared.rows_written);
        if (rows > sh.meta.height) {
            if (!seqlock_read_valid(shared.seq, v.seq)) return std::optional<FrameView>{};
            stats_.invalid++;
            return channel_error("frame rows written " + std::to_string(rows) + " above height " +
                                 std::to_string(sh.meta.height));
        }
        if (rows < sh.meta.height) {
            if (!progressive) return std::optional<FrameView>{};  // offered once complete
            v.in_progress = true;
            v.progress_ns = now_ns;
            streaming_ = true;
            streaming_ns_ = now_ns;
        }
    }
    // The frame's times teach the cadence (wake_hint): when the host first
    // saw it, and the guest's capture stamp. A guest's made-up stamps can
    // only move the bounded spin around (FrameCadence's period range).
    if (first_sight && progressive && now_ns != 0) {
        cadence_.announced(FrameCadence::Clock::time_point(std::chrono::nanoseconds(now_ns)),
                           std::chrono::nanoseconds(sh.meta.capture_time_ns));
    }
    v.meta = sh.meta;
    v.format = static_cast<PixelFormat>(sh.meta.format);
    v.pixels = std::span<const std::byte>(reinterpret_cast<const std::byte*>(&shared) + kPageSize,
                                          std::size_t{sh.meta.stride} * sh.meta.height);
    DamageList own;
    own.add(std::span<const Rect>(sh.damage, sh.meta.damage_count));

    const bool same_geometry =
        have_ != 0 && have_meta_.width == sh.meta.width && have_meta_.height == sh.meta.height &&
        have_meta_.format == sh.meta.format && have_ < serial && serial - have_ < kDamageHistory;
    v.full = (sh.meta.flags & frame_flag::full_damage) != 0 || !same_geometry;
    if (!v.full) {
        if (auto acc = accumulate(sh.meta, own)) {
            v.copy_rects = *acc;
        } else {
            v.full = true;
        }
    }
    if (v.full) v.copy_rects.set_full(sh.meta.width, sh.meta.height);
    return std::optional<FrameView>{v};
}

Result<FrameCopyProgress> FrameReader::copy_available(FrameView& view, std::span<std::byte> dst,
                                                      std::uint32_t dst_stride,
                                                      std::uint64_t now_ns) {
    const std::uint32_t bpp = bytes_per_pixel(view.format);
    if (view.done) return Error::make("frame copy already ended");
    if (dst.size() < std::size_t{dst_stride} * view.meta.height ||
        dst_stride < view.meta.width * bpp) {
        return Error::make("destination too small for the frame");
    }
    if (!view.in_progress) {
        copy_frame_rects(view, dst, dst_stride);
        const bool ok = finish(view);
        view.done = true;
        if (ok) view.rows_copied = view.meta.height;
        return FrameCopyProgress{ok ? FrameCopyState::complete : FrameCopyState::torn,
                                 view.rows_copied};
    }
    return advance(view, now_ns, true, [&](std::uint32_t from, std::uint32_t to) {
        // Streamed: the host's copy (a staging buffer) is read by the GPU
        // later, not by this thread; the fence orders the stores before what
        // the caller does next.
        copy_rect(dst.data(), dst_stride, view.pixels.data(), view.meta.stride,
                  Rect{0, from, view.meta.width, to - from}, bpp, kStreamRows);
        if (kStreamRows) wc_store_fence();
    });
}

Result<FrameCopyProgress> FrameReader::rows_ready(FrameView& view, std::uint64_t now_ns) {
    if (view.done) return Error::make("frame copy already ended");
    if (!view.in_progress) {
        view.rows_copied = view.meta.height;
        view.done = true;
        return FrameCopyProgress{FrameCopyState::complete, view.rows_copied};
    }
    return advance(view, now_ns, false, [](std::uint32_t, std::uint32_t) {});
}

Result<FrameCopyProgress> FrameReader::advance(
    FrameView& view, std::uint64_t now_ns, bool accept,
    const std::function<void(std::uint32_t, std::uint32_t)>& copy) {
    auto end = [&](FrameCopyState state) {
        view.done = true;
        streaming_ = false;
        if (state != FrameCopyState::complete) have_ = 0;  // the host's copy holds a mix
        return FrameCopyProgress{state, view.rows_copied};
    };
    const FrameSlotHeader& shared = shared_slot(view.slot);
    const std::uint64_t rows = load_acquire(shared.rows_written);
    if (rows > view.meta.height || rows < view.rows_copied) {
        if (!seqlock_read_valid(shared.seq, view.seq)) {  // the slot moved on: not the guest's lie
            stats_.torn++;
            return end(FrameCopyState::torn);
        }
        stats_.invalid++;
        (void)end(FrameCopyState::dropped);
        return channel_error("frame rows written went from " + std::to_string(view.rows_copied) +
                             " to " + std::to_string(rows) + " of " +
                             std::to_string(view.meta.height));
    }
    const auto upto = static_cast<std::uint32_t>(rows);
    if (upto > view.rows_copied) copy(view.rows_copied, upto);
    // After the copy: a guest that reused the slot changed seq before its first byte.
    if (!seqlock_read_valid(shared.seq, view.seq)) {
        stats_.torn++;
        return end(FrameCopyState::torn);
    }
    if (upto > view.rows_copied) {
        view.rows_copied = upto;
        view.progress_ns = now_ns;
        streaming_ns_ = now_ns;
    }
    if (view.rows_copied == view.meta.height) {
        view.done = true;
        streaming_ = false;
        if (accept) {
            have_ = view.meta.serial;
            have_meta_ = view.meta;
            stats_.accepted++;
        }
        return FrameCopyProgress{FrameCopyState::complete, view.rows_copied};
    }
    // One writer writes frames in order, so a newer frame announced while this
    // one's rows still stop short means the guest abandoned it.
    const auto* hdr = reinterpret_cast<const FrameChannelHeader*>(channel_.data());
    const bool abandoned = (load_acquire(hdr->latest) >> 8) > view.meta.serial &&
                           load_acquire(shared.rows_written) == rows;
    const bool stuck =
        now_ns > view.progress_ns && now_ns - view.progress_ns > progress_timeout_ns_;
    if (abandoned || stuck) {
        stats_.dropped++;
        return end(FrameCopyState::dropped);
    }
    return FrameCopyProgress{FrameCopyState::in_progress, view.rows_copied};
}

WakeHint FrameReader::wake_hint(std::uint64_t now_ns) const {
    if (now_ns - follow_window_ns_ >= kFollowWindowNs) {
        follow_window_ns_ = now_ns;
        follow_spent_ns_ = 0;
    }
    if (streaming_ && now_ns - streaming_ns_ < kFollowSpinNs &&
        follow_spent_ns_ < kFollowBudgetNs) {
        // The time since the last spinning hint was spent spinning (or copying).
        if (follow_last_ns_ != 0 && now_ns > follow_last_ns_)
            follow_spent_ns_ += std::min(now_ns - follow_last_ns_, kFollowSpinNs);
        follow_last_ns_ = now_ns;
        return WakeHint{true, std::nullopt};
    }
    follow_last_ns_ = 0;
    return cadence_.hint(FrameCadence::Clock::time_point(std::chrono::nanoseconds(now_ns)));
}

bool FrameReader::finish(const FrameView& view) {
    const auto& shared = *reinterpret_cast<const FrameSlotHeader*>(
        channel_.data() + hdr_.slots_offset + view.slot * hdr_.slot_size);
    if (!seqlock_read_valid(shared.seq, view.seq)) {
        stats_.torn++;
        have_ = 0;  // the persistent copy holds a mix: rebuild it whole
        return false;
    }
    have_ = view.meta.serial;
    have_meta_ = view.meta;
    stats_.accepted++;
    return true;
}

void copy_frame_rects(const FrameView& view, std::span<std::byte> dst, std::uint32_t dst_stride) {
    const std::uint32_t bpp = bytes_per_pixel(view.format);
    if (dst.size() < std::size_t{dst_stride} * view.meta.height ||
        dst_stride < view.meta.width * bpp) {
        return;
    }
    for (const Rect& r : view.copy_rects.rects()) {
        copy_rect(dst.data(), dst_stride, view.pixels.data(), view.meta.stride, r, bpp);
    }
}

}  // namespace porthole::protocol
