// The guest is untrusted: a thread plays a hostile guest that keeps rewriting
// random words of a valid region (header, peer block, channel headers, slot
// headers, damage records, rings) while the host links, attaches and reads
// every channel in a loop. The host must never crash, never read out of
// bounds (run under ASan too) and every call must return promptly.

#include <gtest/gtest.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <thread>
#include <vector>

#include "porthole/protocol/session.hpp"
#include "porthole/protocol/shared_memory.hpp"
#include "porthole/protocol/test_pattern.hpp"
#include "porthole/util/adaptive_wait.hpp"
#include "support/aligned_region.hpp"
#include "support/interesting_values.hpp"

namespace {

using namespace porthole::protocol;
using porthole::monotonic_ns;
using porthole::testing::AlignedRegion;

constexpr std::uint32_t kWidth = 256;
constexpr std::uint32_t kHeight = 128;
// At least kRunFor, then until every counter the test checks has moved; at most kRunAtMost
// (a loaded machine or a sanitizer build may need longer to get there).
constexpr auto kRunFor = std::chrono::seconds(3);
constexpr auto kRunAtMost = std::chrono::seconds(30);
// CPU time of one host round: far above any honest round (a few frame
// copies), far below a hang. CPU time, so that a loaded machine preempting
// the test does not count.
constexpr std::uint64_t kMaxRoundCpuNs = 250'000'000;
// Longer than HostSession's flapping window (kSessionStableNs with no back-off yet).
constexpr std::uint64_t kRestartEveryNs = 1'500'000'000;

std::uint64_t thread_cpu_ns() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<std::uint64_t>(t.tv_sec) * 1'000'000'000U +
           static_cast<std::uint64_t>(t.tv_nsec);
}

struct Range {
    std::size_t offset;  // bytes, 8-aligned
    std::size_t size;    // bytes, multiple of 8
};

// A region as the agent leaves it after a few frames, cursor, audio and
// clipboard updates, and the structures a hostile guest would aim at.
struct ValidRegion {
    AlignedRegion memory;
    std::vector<Range> targets;
};

ValidRegion make_valid_region() {
    LayoutParams params;
    params.input_capacity = 256;
    params.audio_bytes = 64 * 1024;
    params.clipboard_bytes = 16 * 1024;
    const std::uint64_t size =
        required_region_size(kWidth, kHeight, PixelFormat::bgra8, params.frame_slots, params);
    ValidRegion v{AlignedRegion(static_cast<std::size_t>(size)), {}};
    auto session = AgentSession::create(v.memory.bytes(), params, ~std::uint64_t{0}, "hostile", 1);
    if (!session) {
        ADD_FAILURE() << session.error().message;
        return v;
    }
    AgentChannels& ch = session->channels();
    std::vector<std::byte> image(std::size_t{kWidth} * kHeight * 4);
    for (std::uint64_t n = 0; n < 6; ++n) {
        const DamageList d = pattern::damage(n, kWidth, kHeight);
        pattern::render(n, kWidth, kHeight, PixelFormat::bgra8, image, kWidth * 4, d.rects());
        EXPECT_TRUE(ch.frames.publish(
            {kWidth, kHeight, kWidth * 4, PixelFormat::bgra8, image.data()}, d, n));
    }
    std::vector<std::byte> shape(32 * 32 * 4, std::byte{0x80});
    EXPECT_TRUE(ch.cursor.set_shape(CursorType::color, 32, 32, 128, 3, 3, shape));
    ch.cursor.set_position(100, 50, true);
    EXPECT_TRUE(ch.audio.set_format(AudioFormat{48000, 2, SampleFormat::f32}));
    std::vector<std::byte> pcm(8 * 2000, std::byte{0x3F});
    EXPECT_TRUE(ch.audio.write(pcm, 2));
    {
        ClipboardEndpoint clip(ch.clipboard_out, ch.clipboard_in);
        std::vector<ClipboardEndpoint::Format> f;
        f.push_back({ClipboardMime::text_utf8, 0, std::string("clipboard text from the guest")});
        EXPECT_TRUE(clip.offer(std::move(f)));
    }

    const RegionLayout& l = session->layout();
    const auto frames = static_cast<std::size_t>(l.frames.offset);
    const auto* fh = reinterpret_cast<const FrameChannelHeader*>(v.memory.data() + frames);
    v.targets.push_back({0, kPageSize});  // region header and both peer blocks
    v.targets.push_back({frames, sizeof(FrameChannelHeader)});
    v.targets.push_back({frames + static_cast<std::size_t>(fh->damage_history_offset),
                         kDamageHistory * sizeof(DamageRecord)});
    for (std::uint32_t i = 0; i < fh->slot_count; ++i) {
        // Slot header page plus the first pixel rows.
        v.targets.push_back(
            {frames + static_cast<std::size_t>(fh->slots_offset + i * fh->slot_size),
             2 * kPageSize});
    }
    v.targets.push_back({static_cast<std::size_t>(l.cursor.offset), kCursorDataOffset + 256});
    v.targets.push_back({static_cast<std::size_t>(l.input.offset), 2 * kPageSize});
    v.targets.push_back({static_cast<std::size_t>(l.audio_out.offset), 2 * kPageSize});
    v.targets.push_back({static_cast<std::size_t>(l.clipboard_to_host.offset), kPageSize});
    v.targets.push_back({static_cast<std::size_t>(l.clipboard_to_guest.offset), kPageSize});
    return v;
}

// The hostile guest: relaxed 64-bit stores, as another machine's writes look.
class HostileGuest {
  public:
    HostileGuest(const ValidRegion& valid, std::span<std::byte> region)
        : valid_(valid), region_(reinterpret_cast<std::uint64_t*>(region.data())) {}

    void run(const std::atomic<bool>& stop) {
        std::mt19937_64 rng(0xBADC0FFEE);
        std::uint64_t heartbeat = 1000;
        std::uint64_t last_restart = monotonic_ns();
        const std::size_t heartbeat_word =
            (kAgentBlockOffset + offsetof(PeerBlock, heartbeat_counter)) / 8;
        const std::size_t session_word = (kAgentBlockOffset + offsetof(PeerBlock, session_id)) / 8;
        while (!stop.load(std::memory_order_relaxed)) {
            const Range& t = valid_.targets[rng() % valid_.targets.size()];
            const std::size_t word = (t.offset + (rng() % (t.size / 8)) * 8) / 8;
            const unsigned action = static_cast<unsigned>(rng() % 100);
            if (action < 60) {
                store(word, porthole::test::interesting_value(rng, load(word)));
            } else if (action < 75) {  // a run of random words
                const std::size_t n = rng() % 16 + 1;
                for (std::size_t i = 0; i < n && word + i < (t.offset + t.size) / 8; ++i) {
                    store(word + i, rng());
                }
            } else if (action < 97) {  // restore a structure so the host gets deep again
                for (std::size_t i = t.offset / 8; i < (t.offset + t.size) / 8; ++i) {
                    store(i, reinterpret_cast<const std::uint64_t*>(valid_.memory.data())[i]);
                }
            } else if (monotonic_ns() - last_restart >= kRestartEveryNs) {
                // A "restarted" agent: the host re-validates and re-attaches. Not
                // oftener: a flapping session is followed with a back-off (its own
                // test), which would keep the host from the channels here.
                last_restart = monotonic_ns();
                store(session_word, rng() | 1U);
            }
            // Keep the heartbeat alive so the host stays connected and reads channels.
            store(heartbeat_word, ++heartbeat);
            writes_.store(writes_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        }
    }
    // Any thread, while run() goes on.
    [[nodiscard]] std::uint64_t writes() const { return writes_.load(std::memory_order_relaxed); }

  private:
    [[nodiscard]] std::uint64_t load(std::size_t word) const { return load_relaxed(region_[word]); }
    void store(std::size_t word, std::uint64_t v) { store_relaxed(region_[word], v); }

    const ValidRegion& valid_;
    std::uint64_t* region_;
    std::atomic<std::uint64_t> writes_{0};
};

struct HostCounters {
    std::uint64_t iterations = 0;
    std::uint64_t connected = 0;
    std::uint64_t rejected = 0;  // invalid / incompatible / disconnected polls
    std::uint64_t attaches = 0;
    std::uint64_t attach_errors = 0;
    std::uint64_t frames_accepted = 0;
    std::uint64_t frame_errors = 0;
    std::uint64_t cursor_shapes = 0;
    std::uint64_t audio_frames = 0;
    std::uint64_t clipboard_texts = 0;
    std::uint64_t max_round_cpu_ns = 0;
};

// One round of everything the host does with the region.
void host_round(HostSession& host, std::optional<HostChannels>& channels,
                std::optional<ClipboardEndpoint>& clip, std::vector<std::byte>& copy,
                HostCounters& c) {
    const HostPoll p = host.poll(monotonic_ns());
    if (p.new_session) {
        channels.reset();
        clip.reset();
        c.attaches++;
        if (auto ch = host.attach_channels()) {
            channels.emplace(std::move(*ch));
            if (channels->clipboard_in && channels->clipboard_out)
                clip.emplace(*channels->clipboard_out, *channels->clipboard_in);
        } else {
            c.attach_errors++;
        }
    }
    if (p.state != LinkState::connected) {
        c.rejected++;
        return;
    }
    c.connected++;
    if (!channels) return;
    for (int i = 0; i < 2; ++i) {
        auto v = channels->frames.poll();
        if (!v) {
            c.frame_errors++;
            break;
        }
        if (!*v) break;
        const FrameView& view = **v;
        const std::uint32_t stride = view.meta.width * bytes_per_pixel(view.format);
        copy.resize(std::size_t{stride} * view.meta.height);
        copy_frame_rects(view, copy, stride);
        if (channels->frames.finish(view)) c.frames_accepted++;
    }
    if (channels->cursor) {
        (void)channels->cursor->poll_position();
        if (auto s = channels->cursor->poll_shape(); s && *s) c.cursor_shapes++;
    }
    if (channels->audio) {
        AudioReader& a = *channels->audio;
        (void)a.format();
        (void)a.available();
        (void)a.volume();
        std::array<std::byte, 8192> out{};
        if (auto r = a.read(out)) c.audio_frames += r->frames;
    }
    if (clip) {
        // As the client does: every text offered is asked for, up to a limit.
        auto ev = clip->step();
        if (ev.offer && ev.offer->find(ClipboardMime::text_utf8) != nullptr)
            (void)clip->request(ev.offer->serial, ClipboardMime::text_utf8, 64 * 1024);
        if (ev.received) {
            EXPECT_LE(ev.received->bytes.size(), 64U * 1024);
            c.clipboard_texts++;
        }
    }
    if (channels->input) {
        const std::array<InputEvent, 3> batch{
            {{0, ev::rel, 0, 3, 0}, {0, ev::rel, 1, -2, 0}, {0, ev::syn, ev::syn_report, 0, 0}}};
        (void)channels->input->push(batch);
    }
}

TEST(HostileWriter, HostSurvivesAGuestRewritingEveryStructureWhileItReads) {
    const ValidRegion valid = make_valid_region();
    ASSERT_FALSE(valid.targets.empty());
    AlignedRegion region(valid.memory.size());
    std::memcpy(region.data(), valid.memory.data(), region.size());

    HostSession host(region.bytes(), ~std::uint64_t{0}, "host-under-attack");
    std::optional<HostChannels> channels;
    std::optional<ClipboardEndpoint> clip;
    std::vector<std::byte> copy;
    HostCounters c;

    HostileGuest guest(valid, region.bytes());
    std::atomic<bool> stop{false};
    std::thread attacker([&] { guest.run(stop); });

    // What the assertions below need to have happened.
    const auto covered = [&] {
        return guest.writes() > 1'000U && c.iterations > 1'000U && c.connected > 0 &&
               c.rejected > 0 && c.attaches > 1 && c.frames_accepted > 0 && c.frame_errors > 0;
    };
    const auto start = std::chrono::steady_clock::now();
    for (;;) {
        const auto now = std::chrono::steady_clock::now();
        if (now >= start + kRunAtMost || (now >= start + kRunFor && covered())) break;
        const std::uint64_t t0 = thread_cpu_ns();
        host_round(host, channels, clip, copy, c);
        c.max_round_cpu_ns = std::max(c.max_round_cpu_ns, thread_cpu_ns() - t0);
        c.iterations++;
    }
    stop = true;
    attacker.join();

    RecordProperty("host_iterations", std::to_string(c.iterations));
    std::cout << "host rounds " << c.iterations << ", guest writes " << guest.writes()
              << ", connected " << c.connected << ", rejected " << c.rejected << ", attaches "
              << c.attaches << " (" << c.attach_errors << " failed), frames accepted "
              << c.frames_accepted << ", frame errors " << c.frame_errors << ", cursor shapes "
              << c.cursor_shapes << ", audio frames " << c.audio_frames << ", clipboard texts "
              << c.clipboard_texts << ", slowest round " << c.max_round_cpu_ns / 1000
              << " us of CPU\n";

    // No hang: every round returned promptly (a real hang also trips the ctest TIMEOUT).
    EXPECT_LT(c.max_round_cpu_ns, kMaxRoundCpuNs);
    // The attack really happened and the host really went deep and got caught out.
    EXPECT_GT(guest.writes(), 1'000U);
    EXPECT_GT(c.iterations, 1'000U);
    EXPECT_GT(c.connected, 0U);
    EXPECT_GT(c.rejected, 0U);
    EXPECT_GT(c.attaches, 1U);
    EXPECT_GT(c.frames_accepted, 0U);
    EXPECT_GT(c.frame_errors, 0U);
}

}  // namespace
