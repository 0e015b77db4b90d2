// libFuzzer target over everything the host reads from the shared region.
//
// Input layout: byte 0 selects the mode.
//   even: structured. The region starts as a valid session written by the real
//         agent code (frames with partial damage, a cursor, audio, clipboard,
//         a gamepad's rumble records;
//         with bit 1 set, also a complete progressive frame and one still
//         being written, so the host follows a row count the script can raise,
//         lower or freeze);
//         the rest of the input is a script of operations that overwrite chosen
//         fields (header, peer block, channel headers, slot headers, damage
//         records, rings) and run the host's readers in between, so the fuzzer
//         gets past validation and reaches every reader's deep paths.
//   odd:  raw. The input bytes are the first bytes of an otherwise zeroed region.
// The host must never crash, read out of bounds or hang, whatever it finds.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "porthole/protocol/session.hpp"
#include "porthole/protocol/test_pattern.hpp"
#include "support/aligned_region.hpp"

namespace {

using namespace porthole::protocol;
using porthole::testing::AlignedRegion;

constexpr std::uint32_t kWidth = 160;
constexpr std::uint32_t kHeight = 64;
constexpr std::size_t kRawRegionBytes = 256 * 1024;
constexpr std::uint64_t kStepNs = 1'000'000;
constexpr std::uint64_t kFixedSessionId = 0x5EED5EED5EED5EEDULL;

LayoutParams small_params() {
    LayoutParams p;
    p.frame_slots = kMinFrameSlots;
    p.input_capacity = 64;
    p.audio_bytes = 16 * 1024;
    p.clipboard_bytes = 4 * 1024;
    return p;
}

struct Target {
    std::size_t offset;
    std::size_t size;
};

// A valid region as the agent leaves it, plus the byte ranges worth mutating.
struct Template {
    AlignedRegion memory;
    std::vector<Target> targets;
};

Template make_template(bool progressive) {
    const LayoutParams params = small_params();
    const std::uint64_t size =
        required_region_size(kWidth, kHeight, PixelFormat::bgra8, params.frame_slots, params);
    Template t{AlignedRegion(static_cast<std::size_t>((size + kPageSize - 1) & ~(kPageSize - 1))),
               {}};
    auto session =
        AgentSession::create(t.memory.bytes(), params, ~std::uint64_t{0}, "fuzz-agent", 1);
    if (!session) std::abort();
    AgentChannels& ch = session->channels();

    // Several frames with partial damage so the damage history is populated.
    std::vector<std::byte> image(std::size_t{kWidth} * kHeight * 4);
    for (std::uint64_t n = 0; n < 5; ++n) {
        const DamageList d = pattern::damage(n, kWidth, kHeight);
        pattern::render(n, kWidth, kHeight, PixelFormat::bgra8, image, kWidth * 4, d.rects());
        const FrameSource src{kWidth, kHeight, kWidth * 4, PixelFormat::bgra8, image.data()};
        if (!ch.frames.publish(src, d, n)) std::abort();
    }
    if (progressive) {
        // A whole frame published progressively, a damage-only one after it,
        // then one left half written: the host finds it in progress.
        std::uint64_t n = 5;
        pattern::render_full(n, kWidth, kHeight, PixelFormat::bgra8, image, kWidth * 4);
        const FrameSource src{kWidth, kHeight, kWidth * 4, PixelFormat::bgra8, image.data()};
        if (!ch.frames.publish_progressive(src, n, 4 * 1024)) std::abort();
        ++n;
        const DamageList d = pattern::damage(n, kWidth, kHeight);
        pattern::render(n, kWidth, kHeight, PixelFormat::bgra8, image, kWidth * 4, d.rects());
        if (!ch.frames.publish(src, d, n)) std::abort();
        ++n;
        pattern::render_full(n, kWidth, kHeight, PixelFormat::bgra8, image, kWidth * 4);
        if (!ch.frames.begin_frame(src, n) || !ch.frames.write_rows(kHeight / 2)) std::abort();
    }
    std::vector<std::byte> shape(8 * 8 * 4, std::byte{0x7F});
    if (!ch.cursor.set_shape(CursorType::color, 8, 8, 32, 1, 1, shape)) std::abort();
    ch.cursor.set_position(10, 20, true);
    if (!ch.audio.set_format(AudioFormat{48000, 2, SampleFormat::s16})) std::abort();
    std::vector<std::byte> pcm(4 * 1000, std::byte{0x11});
    if (!ch.audio.write(pcm, 2)) std::abort();
    {
        ClipboardEndpoint clip(ch.clipboard_out, ch.clipboard_in);
        std::vector<ClipboardEndpoint::Format> f;
        f.push_back({ClipboardMime::text_utf8, 0, std::string("fuzz clipboard")});
        if (!clip.offer(std::move(f))) std::abort();
    }
    {  // A game's rumble on pad 1: the host's feedback reader has records to check.
        PadFeedbackRecord r{};
        r.device = 1;
        r.op = static_cast<std::uint8_t>(PadFeedbackOp::gain);
        r.value = 0x8000;
        ch.pad_feedback.push(r);
        r = PadFeedbackRecord{};
        r.device = 1;
        r.op = static_cast<std::uint8_t>(PadFeedbackOp::upload);
        r.effect = 3;
        r.strong = 0x4000;
        r.weak = 0x2000;
        r.length_ms = 250;
        ch.pad_feedback.push(r);
        r.op = static_cast<std::uint8_t>(PadFeedbackOp::play);
        r.value = 2;
        ch.pad_feedback.push(r);
    }
    // A fixed session id keeps runs reproducible (the real one is random).
    auto* agent = reinterpret_cast<std::uint64_t*>(t.memory.data() + kAgentBlockOffset);
    *agent = kFixedSessionId;

    const RegionLayout& l = session->layout();
    const auto frames = static_cast<std::size_t>(l.frames.offset);
    const auto* fh = reinterpret_cast<const FrameChannelHeader*>(t.memory.data() + frames);
    t.targets.push_back({0, sizeof(RegionHeader)});
    t.targets.push_back({kAgentBlockOffset, sizeof(PeerBlock)});
    t.targets.push_back({frames, sizeof(FrameChannelHeader)});
    t.targets.push_back({frames + static_cast<std::size_t>(fh->damage_history_offset),
                         kDamageHistory * sizeof(DamageRecord)});
    for (std::uint32_t i = 0; i < fh->slot_count; ++i) {
        t.targets.push_back(
            {frames + static_cast<std::size_t>(fh->slots_offset + i * fh->slot_size),
             sizeof(FrameSlotHeader)});
    }
    t.targets.push_back({static_cast<std::size_t>(l.cursor.offset), kCursorDataOffset});
    t.targets.push_back({static_cast<std::size_t>(l.input.offset), kPageSize});
    t.targets.push_back({static_cast<std::size_t>(l.audio_out.offset), sizeof(AudioRingHeader)});
    t.targets.push_back(
        {static_cast<std::size_t>(l.clipboard_to_host.offset), sizeof(ClipboardHeader)});
    t.targets.push_back(
        {static_cast<std::size_t>(l.clipboard_to_guest.offset), sizeof(ClipboardHeader)});
    t.targets.push_back({0, t.memory.size()});  // anywhere
    // Each slot's row count on its own (after the others, whose indices the
    // seed corpus uses), so nudges up, down and past the height hit it often.
    for (std::uint32_t i = 0; i < fh->slot_count; ++i) {
        t.targets.push_back({frames +
                                 static_cast<std::size_t>(fh->slots_offset + i * fh->slot_size) +
                                 offsetof(FrameSlotHeader, rows_written),
                             sizeof(std::uint64_t)});
    }
    return t;
}

// Reads the script bytes; past the end every read yields zeros.
class Script {
  public:
    explicit Script(std::span<const std::uint8_t> data) : data_(data) {}
    [[nodiscard]] bool done() const { return at_ >= data_.size(); }
    std::uint8_t byte() { return at_ < data_.size() ? data_[at_++] : 0; }
    std::uint64_t word(std::size_t n) {
        std::uint64_t v = 0;
        for (std::size_t i = 0; i < n; ++i)
            v |= std::uint64_t{byte()} << (8 * i);
        return v;
    }
    std::span<const std::uint8_t> take(std::size_t n) {
        n = std::min(n, data_.size() - std::min(at_, data_.size()));
        auto s = data_.subspan(at_, n);
        at_ += n;
        return s;
    }

  private:
    std::span<const std::uint8_t> data_;
    std::size_t at_ = 0;
};

// Everything the host does with a region: link, attach, and every reader.
class Host {
  public:
    explicit Host(std::span<std::byte> region) : session_(region, ~std::uint64_t{0}, "fuzz-host") {}

    void step() {
        now_ += kStepNs;
        const HostPoll p = session_.poll(now_);
        if (p.new_session) {
            clip_.reset();
            channels_.reset();
            in_flight_.reset();
            if (auto c = session_.attach_channels()) {
                channels_.emplace(std::move(*c));
                if (channels_->clipboard_in && channels_->clipboard_out)
                    clip_.emplace(*channels_->clipboard_out, *channels_->clipboard_in);
                // Short enough that a frozen row count times out within a script.
                channels_->frames.set_progress_timeout(3 * kStepNs);
            }
        }
        if (p.state != LinkState::connected || !channels_) return;
        if (auto st = session_.agent_status()) (void)st->text.size();
        read_frames();
        read_cursor();
        read_audio();
        if (clip_) {
            // As the client does: whatever is offered is asked for, up to a limit.
            auto ev = clip_->step();
            if (ev.offer && !ev.offer->formats.empty())
                (void)clip_->request(ev.offer->serial, ev.offer->formats[0].mime, 64 * 1024);
            if (ev.received && ev.received->bytes.size() > 64 * 1024) std::abort();
        }
        if (channels_->pad_feedback) {
            // The reader hands the device only records that pass validation.
            PadFeedbackRecord recs[16];
            const std::size_t n = channels_->pad_feedback->pop(recs);
            if (n > std::size(recs)) std::abort();
            for (std::size_t i = 0; i < n; ++i) {
                if (!is_valid_pad_feedback(recs[i])) std::abort();
            }
        }
        if (channels_->input) {
            const InputEvent batch[2] = {{now_, ev::rel, 0, 5, 0}, {now_, ev::syn, 0, 0, 0}};
            (void)channels_->input->push(batch);
            (void)channels_->input->free_space();
        }
    }

  private:
    void read_frames() {
        FrameReader& r = channels_->frames;
        // Progressive: one frame followed across steps, so the script's
        // writes land between two copies of the same frame.
        if (!in_flight_) {
            if (auto v = r.poll_progressive(now_); v && *v) in_flight_ = **v;
        }
        if (in_flight_) {
            const std::uint32_t stride =
                in_flight_->meta.width * bytes_per_pixel(in_flight_->format);
            copy_.resize(std::size_t{stride} * in_flight_->meta.height);
            auto p = r.copy_available(*in_flight_, copy_, stride, now_);
            if (!p || p->state != FrameCopyState::in_progress) in_flight_.reset();
        }
        for (int i = 0; i < 2; ++i) {
            auto v = r.poll();
            if (!v || !*v) return;
            const FrameView& view = **v;
            const std::uint32_t stride = view.meta.width * bytes_per_pixel(view.format);
            copy_.resize(std::size_t{stride} * view.meta.height);
            copy_frame_rects(view, copy_, stride);
            (void)r.finish(view);
        }
        (void)r.slot_pixels_offset(r.slot_count() - 1);
    }
    void read_cursor() {
        if (!channels_->cursor) return;
        (void)channels_->cursor->poll_position();
        (void)channels_->cursor->poll_shape();
    }
    void read_audio() {
        if (!channels_->audio) return;
        AudioReader& a = *channels_->audio;
        (void)a.format();
        (void)a.available();
        (void)a.volume();
        (void)a.muted();
        std::byte out[4096];
        (void)a.read(out);
        a.skip_to_latest(16);
        (void)a.read(std::span<std::byte>(out, 100));
    }

    HostSession session_;
    std::optional<HostChannels> channels_;
    std::optional<ClipboardEndpoint> clip_;  // the client's side of the clipboard
    std::optional<FrameView> in_flight_;
    std::uint64_t now_ = 1'000'000'000;
    std::vector<std::byte> copy_;
};

void run_structured(Script& s, bool progressive) {
    static const Template plain = make_template(false);
    static const Template with_progressive = make_template(true);
    const Template& tpl = progressive ? with_progressive : plain;
    static AlignedRegion region(std::max(plain.memory.size(), with_progressive.memory.size()));
    std::memcpy(region.data(), tpl.memory.data(), tpl.memory.size());
    Host host(region.bytes().first(tpl.memory.size()));
    host.step();
    int steps = 0;
    while (!s.done() && steps < 64) {
        const std::uint8_t op = s.byte();
        const Target& t = tpl.targets[s.byte() % tpl.targets.size()];
        switch (op % 4) {
            case 0: {  // overwrite a run of bytes
                const std::size_t off = s.word(2) % t.size;
                const auto bytes = s.take(std::min<std::size_t>(s.byte() % 32 + 1, t.size - off));
                std::memcpy(region.data() + t.offset + off, bytes.data(), bytes.size());
                break;
            }
            case 1: {  // set one aligned 64-bit field (serials, offsets, positions)
                const std::size_t off = (s.word(2) % std::max<std::size_t>(t.size / 8, 1)) * 8;
                const std::uint64_t v = s.word(8);
                std::memcpy(region.data() + t.offset + off, &v,
                            std::min<std::size_t>(8, t.size - off));
                break;
            }
            case 2: {  // nudge a 32-bit field up or down (counts, sizes, serial steps)
                const std::size_t off = (s.word(2) % std::max<std::size_t>(t.size / 4, 1)) * 4;
                if (t.size - off < 4) break;
                std::uint32_t v = 0;
                std::memcpy(&v, region.data() + t.offset + off, 4);
                v += static_cast<std::uint32_t>(static_cast<std::int8_t>(s.byte()));
                std::memcpy(region.data() + t.offset + off, &v, 4);
                break;
            }
            default:
                host.step();
                ++steps;
                break;
        }
    }
    host.step();
}

void run_raw(std::span<const std::uint8_t> data) {
    static AlignedRegion region(kRawRegionBytes);
    std::memset(region.data(), 0, region.size());
    std::memcpy(region.data(), data.data(), std::min(data.size(), region.size()));
    Host host(region.bytes());
    for (int i = 0; i < 3; ++i)
        host.step();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::span<const std::uint8_t> input(data, size);
    if ((input[0] & 1U) != 0) {
        run_raw(input.subspan(1));
    } else {
        Script s(input.subspan(1));
        run_structured(s, (input[0] & 2U) != 0);
    }
    return 0;
}
