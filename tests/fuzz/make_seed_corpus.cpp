// Writes the seed corpus of region_fuzzer into a directory: scripts that
// reach the readers' deep paths from the valid template (new partial frame,
// skipped frames caught up through the damage history, geometry change,
// cursor, audio, clipboard and input edge cases, a session restart, a
// progressive frame's row count advancing, lying, freezing) and one
// raw region holding a header with only a frames channel.

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "porthole/protocol/frame_channel.hpp"
#include "porthole/protocol/region.hpp"
#include "support/aligned_region.hpp"

namespace {

using namespace porthole::protocol;

// Target indices of region_fuzzer's structured mode.
enum Target : std::uint8_t {
    header = 0,
    agent_block = 1,
    frame_header = 2,
    damage_history = 3,
    slot0 = 4,
    slot1 = 5,
    slot2 = 6,
    cursor = 7,
    input = 8,
    audio = 9,
    clipboard_to_host = 10,
    rows_written_slot1 = 14,  // after clipboard_to_guest (11), anywhere (12), slot 0's (13)
};

class ScriptBuilder {
  public:
    // Structured mode; `progressive` picks the template with progressive frames.
    explicit ScriptBuilder(bool progressive = false) { bytes_.push_back(progressive ? 2 : 0); }
    ScriptBuilder& set64(Target t, std::uint16_t word_index, std::uint64_t v) {
        bytes_.push_back(1);
        bytes_.push_back(t);
        push(word_index, 2);
        push(v, 8);
        return *this;
    }
    ScriptBuilder& nudge32(Target t, std::uint16_t word_index, std::int8_t delta) {
        bytes_.push_back(2);
        bytes_.push_back(t);
        push(word_index, 2);
        bytes_.push_back(static_cast<std::uint8_t>(delta));
        return *this;
    }
    ScriptBuilder& step() {
        bytes_.push_back(3);
        bytes_.push_back(0);
        return *this;
    }
    [[nodiscard]] const std::vector<std::uint8_t>& bytes() const { return bytes_; }

  private:
    void push(std::uint64_t v, int n) {
        for (int i = 0; i < n; ++i)
            bytes_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    }
    std::vector<std::uint8_t> bytes_;
};

// 64-bit word index of a DamageRecord field for frame `serial`.
std::uint16_t record_word(std::uint64_t serial, std::size_t byte_offset) {
    return static_cast<std::uint16_t>(
        ((serial % kDamageHistory) * sizeof(DamageRecord) + byte_offset) / 8);
}

// The template holds serials 1..5 in slots 0,1,2,0,1 of a 160x64 bgra8 frame.
constexpr std::uint64_t kGeometryWord = (std::uint64_t{64} << 32) | 160;

ScriptBuilder& fake_record(ScriptBuilder& s, std::uint64_t serial) {
    s.set64(damage_history, record_word(serial, 8), serial);
    s.set64(damage_history, record_word(serial, 16), kGeometryWord);
    s.set64(damage_history, record_word(serial, 24), 1 | (std::uint64_t{1} << 32));
    s.set64(damage_history, record_word(serial, 32), 0);
    s.set64(damage_history, record_word(serial, 40), 8 | (std::uint64_t{4} << 32));
    s.set64(damage_history, record_word(serial, 48), 16 | (std::uint64_t{8} << 32));
    return s;
}

std::vector<std::vector<std::uint8_t>> scripts() {
    std::vector<std::vector<std::uint8_t>> out;
    out.push_back(ScriptBuilder().step().step().bytes());
    // A new partial frame in slot 2.
    out.push_back(
        ScriptBuilder().set64(slot2, 2, 6).set64(frame_header, 8, (6 << 8) | 2).step().bytes());
    // Frames 6 and 7 skipped: caught up through the damage history.
    {
        ScriptBuilder s;
        fake_record(s, 6);
        fake_record(s, 7);
        s.set64(slot2, 2, 8).set64(frame_header, 8, (8 << 8) | 2).step();
        out.push_back(s.bytes());
    }
    // Geometry change, then serial going backwards, then a slot index out of range.
    out.push_back(ScriptBuilder()
                      .set64(slot2, 2, 6)
                      .nudge32(slot2, 6, -16)
                      .set64(frame_header, 8, (6 << 8) | 2)
                      .step()
                      .set64(frame_header, 8, (2 << 8) | 1)
                      .step()
                      .set64(frame_header, 8, (9 << 8) | 15)
                      .step()
                      .bytes());
    // A new cursor shape with a changed size, and a position update.
    out.push_back(ScriptBuilder()
                      .set64(cursor, 9, 2)
                      .nudge32(cursor, 21, 8)
                      .set64(cursor, 0, 1000)
                      .step()
                      .bytes());
    // Audio: overrun (write position far ahead), then a format change.
    out.push_back(ScriptBuilder()
                      .set64(audio, 8, 1 << 20)
                      .step()
                      .set64(audio, 0, 100)
                      .set64(audio, 1, 44100 | (std::uint64_t{1} << 32) | (std::uint64_t{3} << 48))
                      .step()
                      .bytes());
    // Clipboard: an offer of 200 formats; then one of text answered with a
    // total and a chunk beyond the channel (words: 1 serial, 2 format_count,
    // 5 formats[0].mime, 16 answer_serial, 17 answer_id | mime, 18 total,
    // 20 chunk_length | state).
    out.push_back(ScriptBuilder()
                      .set64(clipboard_to_host, 1, 2)
                      .set64(clipboard_to_host, 2, 200)
                      .step()
                      .set64(clipboard_to_host, 1, 3)
                      .set64(clipboard_to_host, 2, 1)
                      .set64(clipboard_to_host, 5, 1)
                      .step()
                      .set64(clipboard_to_host, 16, 3)
                      .set64(clipboard_to_host, 17, 1 | (std::uint64_t{1} << 32))
                      .set64(clipboard_to_host, 18, 0xFFFFFF)
                      .set64(clipboard_to_host, 20, 0xFFFFFFFFU | (std::uint64_t{1} << 32))
                      .step()
                      .bytes());
    // Input: the guest's tail is garbage.
    out.push_back(ScriptBuilder().set64(input, 16, std::uint64_t{1} << 60).step().step().bytes());
    // Session restart with a corrupted channel table, then a valid one again.
    out.push_back(ScriptBuilder()
                      .set64(header, 6, 0x1000)
                      .set64(agent_block, 0, 0x1234)
                      .step()
                      .set64(agent_block, 0, 0x5678)
                      .step()
                      .bytes());
    // Progressive template: frame 8 is half written (32 of 64 rows) in slot 1.
    // Its row count advances to the end; goes past the height; goes backwards;
    // freezes until the host's timeout; the slot is reused under the copy.
    out.push_back(ScriptBuilder(true)
                      .step()
                      .set64(rows_written_slot1, 0, 48)
                      .step()
                      .set64(rows_written_slot1, 0, 64)
                      .step()
                      .bytes());
    out.push_back(
        ScriptBuilder(true).step().set64(rows_written_slot1, 0, 65).step().step().bytes());
    out.push_back(ScriptBuilder(true)
                      .step()
                      .set64(rows_written_slot1, 0, 40)
                      .step()
                      .set64(rows_written_slot1, 0, 10)
                      .step()
                      .bytes());
    out.push_back(ScriptBuilder(true).step().step().step().step().step().step().bytes());
    out.push_back(ScriptBuilder(true).step().nudge32(slot1, 0, 1).step().step().bytes());
    return out;
}

// Raw mode: a region whose header lists only a frames channel.
std::vector<std::uint8_t> raw_seed() {
    constexpr std::size_t kRegion = 256 * 1024;
    constexpr std::size_t kSeedBytes = 8 * 1024;
    const porthole::testing::AlignedRegion region(kRegion);
    std::byte* mem = region.data();
    RegionHeader h{};
    h.magic = kMagic;
    h.version = kVersion;
    h.header_size = sizeof(RegionHeader);
    h.region_size = kRegion;
    h.channel_count = 1;
    h.channels[0] = ChannelDesc{static_cast<std::uint32_t>(ChannelKind::frames), 0, kChannelsOffset,
                                kRegion - kChannelsOffset};
    std::memcpy(mem, &h, sizeof(h));
    PeerBlock agent{};
    agent.session_id = 42;
    agent.protocol_version = kVersion;
    agent.heartbeat_counter = 1;
    std::memcpy(mem + kAgentBlockOffset, &agent, sizeof(agent));
    auto frames = FrameWriter::create(std::span(mem + kChannelsOffset, kRegion - kChannelsOffset),
                                      kMinFrameSlots);
    if (!frames) std::abort();
    std::vector<std::byte> image(16 * 16 * 4, std::byte{0x40});
    if (!frames->publish(FrameSource{16, 16, 64, PixelFormat::bgra8, image.data()}, {}, 1)) {
        std::abort();
    }
    std::vector<std::uint8_t> out{1};  // raw mode
    const auto* p = reinterpret_cast<const std::uint8_t*>(mem);
    out.insert(out.end(), p, p + kSeedBytes);
    return out;
}

void write(const std::filesystem::path& file, const std::vector<std::uint8_t>& bytes) {
    std::ofstream f(file, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
    if (!f) {
        std::cerr << "make_seed_corpus: cannot write " << file << "\n";
        std::exit(1);
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: make_seed_corpus DIR\n";
        return 2;
    }
    const std::filesystem::path dir = argv[1];
    std::filesystem::create_directories(dir);
    int i = 0;
    for (const auto& s : scripts())
        write(dir / ("script-" + std::to_string(i++)), s);
    write(dir / "raw-frames-only", raw_seed());
    std::cout << "wrote " << i + 1 << " seeds to " << dir << "\n";
    return 0;
}
