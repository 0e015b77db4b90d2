// A hostile guest against the real porthole binary, one attack mode at a
// time: an agent thread keeps a valid session going (heartbeat, frames at
// 30 fps, cursor) while an attacker thread corrupts one part of the region
// (region header, channel headers, frame metadata and `latest`, damage
// history, cursor shapes and positions, audio ring, clipboard, a flapping
// session id, an agent name with control characters). For each mode the
// client must keep running, stay bounded in memory, CPU and log lines a
// second, print nothing the guest wrote raw, show frames again once a fresh
// session follows, and exit cleanly on SIGTERM.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <span>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "pipewire_daemon.hpp"
#include "porthole/ivshmem/mapping.hpp"
#include "porthole/protocol/session.hpp"
#include "porthole/protocol/shared_memory.hpp"
#include "porthole/protocol/test_pattern.hpp"
#include "porthole/util/adaptive_wait.hpp"
#include "render/process.hpp"
#include "support/interesting_values.hpp"

#ifndef PORTHOLE_CLIENT
#error "PORTHOLE_CLIENT must name the program"
#endif

namespace {

using namespace porthole::protocol;
using namespace std::chrono_literals;
using porthole::monotonic_ns;
using porthole::test::Process;
using porthole::test::read_text;
using porthole::test::TempDir;

constexpr std::uint32_t kWidth = 256;
constexpr std::uint32_t kHeight = 128;
constexpr auto kAttackFor = 2500ms;
// Bounds far from an honest client (about 0.1 core, a few lines in all) and
// far below what the attack run found (a full core, 3,300 lines a second).
// Lines: each of the five guest-caused call sites may log a burst of 10 a
// minute, all of which can fall into one short attack.
constexpr double kMaxCores = 0.6;
constexpr double kMaxLogLinesPerSecond = 50.0 / 2.5;
constexpr long kMaxRssGrowthKib = 64 * 1024;

// Where a mode aims: byte ranges of the region (8-aligned, multiples of 8).
struct Range {
    std::size_t offset;
    std::size_t size;
};

enum class Mode {
    region_header,
    channel_headers,
    frame_metadata,
    damage_history,
    cursor,
    audio_ring,
    clipboard,
    flapping_session,
    agent_name,
};

const char* name_of(Mode m) {
    switch (m) {
        case Mode::region_header:
            return "RegionHeader";
        case Mode::channel_headers:
            return "ChannelHeaders";
        case Mode::frame_metadata:
            return "FrameMetadataAndLatest";
        case Mode::damage_history:
            return "DamageHistory";
        case Mode::cursor:
            return "CursorShapesAndPositions";
        case Mode::audio_ring:
            return "AudioRing";
        case Mode::clipboard:
            return "Clipboard";
        case Mode::flapping_session:
            return "FlappingSessionId";
        case Mode::agent_name:
            return "AgentNameWithControlCharacters";
    }
    return "?";
}

// The part of /proc/PID that the checks read.
struct ProcSample {
    long rss_kib = 0;
    double cpu_s = 0;
};

ProcSample sample(pid_t pid) {
    ProcSample s;
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("VmRSS:", 0) == 0) s.rss_kib = std::stol(line.substr(6));
    }
    const std::string all = read_text("/proc/" + std::to_string(pid) + "/stat");
    const auto close = all.rfind(')');
    if (close == std::string::npos) return s;
    std::istringstream rest(all.substr(close + 2));
    std::vector<std::string> f;
    for (std::string w; rest >> w;)
        f.push_back(w);
    // After the name: state is field 3; utime and stime are fields 14 and 15.
    if (f.size() > 12) {
        const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
        s.cpu_s = (std::stod(f[11]) + std::stod(f[12])) / ticks;
    }
    return s;
}

std::size_t count_lines(const std::string& s) {
    return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n'));
}

std::uint64_t frames_shown(const std::string& stats) {
    std::uint64_t frames = 0;
    std::istringstream in(stats);
    for (std::string line; std::getline(in, line);) {
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (!j.is_discarded() && j.contains("frames")) frames = j["frames"].get<std::uint64_t>();
    }
    return frames;
}

// The guest: a real agent session in a /dev/shm file, with frames, cursor,
// audio and clipboard published, and the ranges each mode aims at.
class Guest {
  public:
    explicit Guest(const std::string& path) : path_(path) {
        params_.input_capacity = 256;
        params_.audio_bytes = 64 * 1024;
        params_.clipboard_bytes = 16 * 1024;
        const auto size =
            required_region_size(kWidth, kHeight, PixelFormat::bgra8, params_.frame_slots, params_);
        auto m = porthole::ivshmem::create_region_file(path, static_cast<std::size_t>(size));
        if (!m) {
            ADD_FAILURE() << m.error().message;
            return;
        }
        map_.emplace(std::move(*m));
        image_.resize(std::size_t{kWidth} * kHeight * 4);
    }
    ~Guest() { ::unlink(path_.c_str()); }
    Guest(const Guest&) = delete;
    Guest& operator=(const Guest&) = delete;

    [[nodiscard]] bool ok() const { return map_.has_value(); }
    std::span<std::byte> bytes() { return map_->bytes(); }

    // A new session with every channel holding valid data; `name` as the agent's.
    bool start_session(const std::string& name) {
        auto s = AgentSession::create(bytes(), params_, ~std::uint64_t{0}, name, monotonic_ns());
        if (!s) {
            ADD_FAILURE() << s.error().message;
            return false;
        }
        session_.emplace(std::move(*s));
        AgentChannels& ch = session_->channels();
        std::vector<std::byte> shape(32 * 32 * 4, std::byte{0x80});
        EXPECT_TRUE(ch.cursor.set_shape(CursorType::color, 32, 32, 128, 3, 3, shape));
        ch.cursor.set_position(100, 50, true);
        EXPECT_TRUE(ch.audio.set_format(AudioFormat{48000, 2, SampleFormat::f32}));
        std::vector<std::byte> pcm(8 * 2000, std::byte{0});
        EXPECT_TRUE(ch.audio.write(pcm, monotonic_ns()));
        {
            ClipboardEndpoint clip(ch.clipboard_out, ch.clipboard_in);
            std::vector<ClipboardEndpoint::Format> f;
            f.push_back(
                {ClipboardMime::text_utf8, 0, std::string("clipboard text from the guest")});
            EXPECT_TRUE(clip.offer(std::move(f)));
        }
        for (int i = 0; i < 4; ++i)
            publish_frame();
        snapshot_.assign(bytes().begin(), bytes().end());
        return true;
    }

    void publish_frame() {
        const DamageList d = pattern::damage(counter_, kWidth, kHeight);
        pattern::render(counter_, kWidth, kHeight, PixelFormat::bgra8, image_, kWidth * 4,
                        d.rects());
        (void)session_->channels().frames.publish(
            {kWidth, kHeight, kWidth * 4, PixelFormat::bgra8, image_.data()}, d, monotonic_ns());
        counter_++;
    }

    // The agent's own work, as the real agent does it: heartbeat and ping
    // answers, a frame every 33 ms, audio and cursor moves.
    void agent_turn(std::uint64_t now, bool extreme_cursor, std::mt19937_64& rng) {
        session_->tick(now);
        if (now - last_frame_ns_ >= 33'000'000) {
            last_frame_ns_ = now;
            publish_frame();
            std::vector<std::byte> pcm(8 * 1600, std::byte{0});
            (void)session_->channels().audio.write(pcm, now);
        }
        if (extreme_cursor) {
            static constexpr std::int32_t kExtremes[] = {INT32_MIN, INT32_MIN + 1, -1,
                                                         0,         INT32_MAX - 1, INT32_MAX};
            session_->channels().cursor.set_position(kExtremes[rng() % 6], kExtremes[rng() % 6],
                                                     true);
        }
    }

    [[nodiscard]] const RegionLayout& layout() const { return session_->layout(); }
    [[nodiscard]] const std::vector<std::byte>& snapshot() const { return snapshot_; }

    std::vector<Range> targets(Mode m) const {
        const RegionLayout& l = layout();
        const auto frames = static_cast<std::size_t>(l.frames.offset);
        FrameChannelHeader fh{};
        std::memcpy(&fh, snapshot_.data() + frames, sizeof fh);
        std::vector<Range> t;
        switch (m) {
            case Mode::region_header:
                t.push_back({0, sizeof(RegionHeader) / 8 * 8});
                break;
            case Mode::channel_headers:
                t.push_back({frames, sizeof(FrameChannelHeader)});
                t.push_back({static_cast<std::size_t>(l.cursor.offset), kPageSize});
                t.push_back({static_cast<std::size_t>(l.input.offset), sizeof(InputRingHeader)});
                t.push_back(
                    {static_cast<std::size_t>(l.audio_out.offset), sizeof(AudioRingHeader)});
                t.push_back({static_cast<std::size_t>(l.clipboard_to_host.offset),
                             sizeof(ClipboardHeader)});
                t.push_back({static_cast<std::size_t>(l.clipboard_to_guest.offset),
                             sizeof(ClipboardHeader)});
                break;
            case Mode::frame_metadata:
                t.push_back({frames + offsetof(FrameChannelHeader, latest), 8});
                for (std::uint32_t i = 0; i < fh.slot_count; ++i)
                    t.push_back(
                        {frames + static_cast<std::size_t>(fh.slots_offset + i * fh.slot_size),
                         sizeof(FrameSlotHeader) / 8 * 8});
                break;
            case Mode::damage_history:
                t.push_back({frames + static_cast<std::size_t>(fh.damage_history_offset),
                             kDamageHistory * sizeof(DamageRecord)});
                break;
            case Mode::cursor:
                t.push_back({static_cast<std::size_t>(l.cursor.offset), kCursorDataOffset + 256});
                break;
            case Mode::audio_ring:
                t.push_back({static_cast<std::size_t>(l.audio_out.offset), 2 * kPageSize});
                break;
            case Mode::clipboard:
                t.push_back({static_cast<std::size_t>(l.clipboard_to_host.offset), kPageSize});
                t.push_back({static_cast<std::size_t>(l.clipboard_to_guest.offset), kPageSize});
                break;
            case Mode::flapping_session:
            case Mode::agent_name:
                break;  // written directly by the attacker
        }
        return t;
    }

  private:
    std::string path_;
    LayoutParams params_;
    std::optional<porthole::ivshmem::Mapping> map_;
    std::optional<AgentSession> session_;
    std::vector<std::byte> image_;
    std::vector<std::byte> snapshot_;
    std::uint64_t counter_ = 0;
    std::uint64_t last_frame_ns_ = 0;
};

// The agent names a hostile guest would announce: clear screen, cursor home,
// a forged log line on a new row, a bell, C1 CSI.
const std::string kHostileNames[] = {
    "\x1b[2J\x1b[H",
    "x\r\n[00:00:00.000] [porthole] [error] forged",
    "\x07\x9b"
    "31m\x1b]0;title\x07",
};

// Runs the agent and the attack for kAttackFor. Relaxed word stores, as
// another machine's writes look.
void attack(Guest& g, Mode mode) {
    std::mt19937_64 rng(0xBADC0FFEE + static_cast<unsigned>(mode));
    auto* words = reinterpret_cast<std::uint64_t*>(g.bytes().data());
    const auto* valid = reinterpret_cast<const std::uint64_t*>(g.snapshot().data());
    const auto targets = g.targets(mode);
    const std::size_t session_word = (kAgentBlockOffset + offsetof(PeerBlock, session_id)) / 8;
    const std::size_t name_word = (kAgentBlockOffset + offsetof(PeerBlock, name)) / 8;
    std::uint64_t next_id = 0x1000;
    std::uint64_t last_name_ns = 0;
    bool id_down = false;
    const auto end = std::chrono::steady_clock::now() + kAttackFor;
    porthole::AdaptiveWait wait;
    while (std::chrono::steady_clock::now() < end) {
        const std::uint64_t now = monotonic_ns();
        g.agent_turn(now, mode == Mode::cursor, rng);
        if (mode == Mode::flapping_session) {
            // A new session every turn, "not ready" (0) every third: each is a
            // state change the client would log.
            store_release(words[session_word], ++next_id % 3 == 0 ? 0 : next_id);
        } else if (mode == Mode::agent_name) {
            // Every 100 ms: "not ready" for 20 ms (the client sees it), then
            // a new session under a hostile name.
            if (id_down && now - last_name_ns >= 20'000'000) {
                id_down = false;
                char name[32] = {};
                const std::string& n = kHostileNames[rng() % std::size(kHostileNames)];
                std::memcpy(name, n.data(), std::min(n.size(), sizeof name - 1));
                for (std::size_t i = 0; i < 4; ++i) {
                    std::uint64_t w = 0;
                    std::memcpy(&w, name + 8 * i, 8);
                    store_relaxed(words[name_word + i], w);
                }
                store_release(words[session_word], ++next_id);
            } else if (!id_down && now - last_name_ns >= 100'000'000) {
                last_name_ns = now;
                id_down = true;
                store_release(words[session_word], 0);
            }
        } else {
            // Headers are validated when a session starts: "restart" now and then.
            const bool revalidated = mode == Mode::region_header || mode == Mode::channel_headers;
            if (revalidated && now - last_name_ns >= 100'000'000) {
                last_name_ns = now;
                store_release(words[session_word], ++next_id);
            }
            for (int i = 0; i < 32; ++i) {
                const Range& t = targets[rng() % targets.size()];
                const std::size_t word = (t.offset + (rng() % (t.size / 8)) * 8) / 8;
                const unsigned action = static_cast<unsigned>(rng() % 100);
                if (action < 70) {
                    store_relaxed(words[word], porthole::test::interesting_value(
                                                   rng, load_relaxed(words[word])));
                } else if (action < 80) {
                    store_relaxed(words[word], rng());
                } else {  // restore the structure so the host gets deep again
                    for (std::size_t k = t.offset / 8; k < (t.offset + t.size) / 8; ++k)
                        store_relaxed(words[k], valid[k]);
                }
            }
        }
        wait.idle();  // about 4,000 turns a second
    }
}

class ClientUnderAttack : public ::testing::TestWithParam<Mode> {};

TEST_P(ClientUnderAttack, KeepsRunningBoundedAndQuietThenRecovers) {
    const Mode mode = GetParam();
    TempDir dir;
    std::optional<porthole::test::PipeWireDaemon> pipewire;
    std::vector<std::string> audio = {"--audio", "off"};
    if (mode == Mode::audio_ring) {  // the client reads the audio ring only while playing
        auto d = porthole::test::PipeWireDaemon::start();
        ASSERT_TRUE(d) << d.error().message;
        pipewire.emplace(std::move(*d));
        audio = {"--audio", "on"};
    }
    const std::string region =
        "/dev/shm/porthole-hostile-" + std::to_string(::getpid()) + "-" + name_of(mode);
    Guest guest(region);
    ASSERT_TRUE(guest.ok());
    ASSERT_TRUE(guest.start_session("porthole-agent test"));

    std::vector<std::string> args = {
        PORTHOLE_CLIENT, "--shm", region,     "--headless",         "--stats", "--input", "none",
        "--log-level",   "info",  "--config", dir.file("none.conf")};
    args.insert(args.end(), audio.begin(), audio.end());
    // --config to a missing file is an error: point it at an empty one.
    std::ofstream(dir.file("none.conf")) << "";
    Process client(args, dir.file("stats"), dir.file("log"));

    // Until it shows frames of the valid session (lavapipe's start takes a moment).
    std::mt19937_64 rng(1);
    const auto until = std::chrono::steady_clock::now() + 20s;
    while (frames_shown(read_text(dir.file("stats"))) < 3 &&
           std::chrono::steady_clock::now() < until && client.running()) {
        for (int i = 0; i < 50; ++i) {
            guest.agent_turn(monotonic_ns(), false, rng);
            std::this_thread::sleep_for(2ms);
        }
    }
    ASSERT_GE(frames_shown(read_text(dir.file("stats"))), 3U) << read_text(dir.file("log"));

    const auto before = sample(client.pid());
    const std::size_t lines_before = count_lines(read_text(dir.file("log")));
    const auto t0 = std::chrono::steady_clock::now();
    attack(guest, mode);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_TRUE(client.running()) << "the client died under attack:\n"
                                  << read_text(dir.file("log"));
    const auto after = sample(client.pid());
    const std::string log_after = read_text(dir.file("log"));
    const std::size_t attack_lines = count_lines(log_after) - lines_before;

    // A fresh, valid session: the client follows it and shows frames again.
    const std::uint64_t frames_before = frames_shown(read_text(dir.file("stats")));
    ASSERT_TRUE(guest.start_session("porthole-agent test"));
    const auto recover_until = std::chrono::steady_clock::now() + 15s;
    while (frames_shown(read_text(dir.file("stats"))) < frames_before + 5 &&
           std::chrono::steady_clock::now() < recover_until) {
        for (int i = 0; i < 50; ++i) {
            guest.agent_turn(monotonic_ns(), false, rng);
            std::this_thread::sleep_for(2ms);
        }
    }
    const std::uint64_t frames_after = frames_shown(read_text(dir.file("stats")));
    const auto code = client.terminate();
    const std::string log = read_text(dir.file("log"));

    const double cores = (after.cpu_s - before.cpu_s) / seconds;
    const double lines_per_s = static_cast<double>(attack_lines) / seconds;
    RecordProperty("cores", std::to_string(cores));
    RecordProperty("log_lines_per_s", std::to_string(lines_per_s));
    RecordProperty("rss_growth_kib", std::to_string(after.rss_kib - before.rss_kib));
    std::cout << name_of(mode) << ": " << cores << " cores, " << lines_per_s << " log lines/s, RSS "
              << before.rss_kib << " -> " << after.rss_kib << " KiB, frames " << frames_before
              << " -> " << frames_after << "\n";

    EXPECT_EQ(code, std::optional<int>(0)) << "a clean exit on SIGTERM:\n" << log;
    EXPECT_LT(cores, kMaxCores) << log_after;
    EXPECT_LT(lines_per_s, kMaxLogLinesPerSecond) << log_after;
    EXPECT_LT(after.rss_kib - before.rss_kib, kMaxRssGrowthKib);
    EXPECT_GE(frames_after, frames_before + 5) << "no frames after a fresh session:\n" << log;
    // Nothing the guest wrote reaches the terminal raw: no control byte but
    // the newlines ending lines.
    for (const char c : log) {
        const auto u = static_cast<unsigned char>(c);
        ASSERT_TRUE(c == '\n' || (u >= 0x20 && u < 0x7f)) << "raw byte " << int{u} << " in:\n"
                                                          << log;
    }
    // ... nor a line of its own: every line is one of porthole's.
    std::istringstream lines(log);
    for (std::string line; std::getline(lines, line);)
        EXPECT_NE(line.rfind("[00:00:00.000]", 0), 0U) << "a forged line: " << line;
    if (mode == Mode::agent_name) {
        EXPECT_NE(log.find("\\x1b"), std::string::npos) << "the name is shown escaped:\n" << log;
    }
    EXPECT_EQ(log.find("runtime error"), std::string::npos) << log;  // UBSan
    EXPECT_EQ(log.find("Sanitizer"), std::string::npos) << log;
}

INSTANTIATE_TEST_SUITE_P(Modes, ClientUnderAttack,
                         ::testing::Values(Mode::region_header, Mode::channel_headers,
                                           Mode::frame_metadata, Mode::damage_history, Mode::cursor,
                                           Mode::audio_ring, Mode::clipboard,
                                           Mode::flapping_session, Mode::agent_name),
                         [](const auto& p) { return std::string(name_of(p.param)); });

}  // namespace
