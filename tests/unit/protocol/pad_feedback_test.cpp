#include "porthole/protocol/pad_feedback.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "porthole/protocol/input_ring.hpp"
#include "porthole/protocol/shared_memory.hpp"

namespace porthole::protocol {
namespace {

// An input channel as the agent lays it out: ring header, feedback ring, events.
struct Channel {
    std::vector<std::uint64_t> words = std::vector<std::uint64_t>((kPageSize + 4096 * 24) / 8);
    std::span<std::byte> bytes() { return std::as_writable_bytes(std::span(words)); }
    Channel() {
        EXPECT_TRUE(init_input_ring(bytes(), 4096));
        EXPECT_TRUE(init_pad_feedback(bytes()));
    }
};

PadFeedbackRecord rec(PadFeedbackOp op, std::uint8_t device, std::uint16_t effect,
                      std::uint32_t value = 0) {
    PadFeedbackRecord r{};
    r.op = static_cast<std::uint8_t>(op);
    r.device = device;
    r.effect = effect;
    r.value = value;
    return r;
}

TEST(PadFeedback, TheHostReadsWhatTheAgentWroteSinceItAttachedInOrder) {
    Channel c;
    auto w = PadFeedbackWriter::attach(c.bytes());
    ASSERT_TRUE(w);
    w->push(rec(PadFeedbackOp::play, 1, 0, 1));  // before the host came: not replayed
    auto r = PadFeedbackReader::attach(c.bytes());
    ASSERT_TRUE(r);
    auto up = rec(PadFeedbackOp::upload, 2, 3);
    up.strong = 0xc000;
    up.weak = 0x4000;
    up.length_ms = 250;
    up.delay_ms = 10;
    w->push(up);
    w->push(rec(PadFeedbackOp::play, 2, 3, 1));
    std::array<PadFeedbackRecord, 8> out{};
    ASSERT_EQ(r->pop(out), 2U);
    EXPECT_EQ(out[0].op, static_cast<std::uint8_t>(PadFeedbackOp::upload));
    EXPECT_EQ(out[0].device, 2);
    EXPECT_EQ(out[0].effect, 3);
    EXPECT_EQ(out[0].strong, 0xc000);
    EXPECT_EQ(out[0].weak, 0x4000);
    EXPECT_EQ(out[0].length_ms, 250);
    EXPECT_EQ(out[0].delay_ms, 10);
    EXPECT_EQ(out[1].op, static_cast<std::uint8_t>(PadFeedbackOp::play));
    EXPECT_EQ(r->pop(out), 0U);
    EXPECT_EQ(r->lost(), 0U);
}

TEST(PadFeedback, InvalidRecordsAreRejectedAndCountedNeverHandedOut) {
    EXPECT_TRUE(is_valid_pad_feedback(rec(PadFeedbackOp::upload, 1, kPadEffectsMax - 1)));
    EXPECT_TRUE(is_valid_pad_feedback(rec(PadFeedbackOp::gain, 4, 0, 0xffff)));
    EXPECT_TRUE(is_valid_pad_feedback(rec(PadFeedbackOp::play, 4, 0, kMaxPadPlayCount)));
    const PadFeedbackRecord bad[] = {
        rec(PadFeedbackOp::upload, 0, 0),  // slot 0 is the keyboard
        rec(PadFeedbackOp::upload, pad::kMaxGamepads + 1, 0),
        rec(PadFeedbackOp::upload, 1, kPadEffectsMax),
        rec(PadFeedbackOp::erase, 1, 0xffff),
        rec(PadFeedbackOp::stop, 1, kPadEffectsMax),
        rec(PadFeedbackOp::play, 1, 0, 0),  // a stop is its own op
        rec(PadFeedbackOp::play, 1, 0, kMaxPadPlayCount + 1),
        rec(PadFeedbackOp::gain, 1, 0, 0x10000),
        rec(static_cast<PadFeedbackOp>(0), 1, 0),
        rec(static_cast<PadFeedbackOp>(kMaxPadFeedbackOp + 1), 1, 0),
    };
    Channel c;
    auto w = PadFeedbackWriter::attach(c.bytes());
    auto r = PadFeedbackReader::attach(c.bytes());
    ASSERT_TRUE(w && r);
    for (const auto& b : bad) {
        EXPECT_FALSE(is_valid_pad_feedback(b)) << int(b.op) << " " << int(b.device);
        w->push(b);
    }
    w->push(rec(PadFeedbackOp::stop, 1, 0));
    std::array<PadFeedbackRecord, 32> out{};
    ASSERT_EQ(r->pop(out), 1U);
    EXPECT_EQ(out[0].op, static_cast<std::uint8_t>(PadFeedbackOp::stop));
    EXPECT_EQ(r->rejected(), std::size(bad));
}

TEST(PadFeedback, AHostBehindCountsWhatWasOverwrittenAndTakesAtMostItsBufferAPop) {
    Channel c;
    auto w = PadFeedbackWriter::attach(c.bytes());
    auto r = PadFeedbackReader::attach(c.bytes());
    ASSERT_TRUE(w && r);
    for (std::uint32_t i = 0; i < kPadFeedbackCapacity + 10; ++i)
        w->push(rec(PadFeedbackOp::play, 1, 0, i + 1));
    std::array<PadFeedbackRecord, 16> out{};
    ASSERT_EQ(r->pop(out), 16U);
    EXPECT_EQ(r->lost(), 10U);
    EXPECT_EQ(out[0].value, 11U) << "the oldest record still in the ring";
    std::size_t total = 16;
    while (const std::size_t n = r->pop(out))
        total += n;
    EXPECT_EQ(total, kPadFeedbackCapacity);
}

TEST(PadFeedback, AHeaderNotOfTheProtocolGivesNoReader) {
    Channel c;
    auto& h = *reinterpret_cast<PadFeedbackHeader*>(c.bytes().data() + kPadFeedbackOffset);
    h.capacity = 1U << 30;
    EXPECT_FALSE(PadFeedbackReader::attach(c.bytes()));
    h.capacity = kPadFeedbackCapacity;
    h.record_size = 8;
    EXPECT_FALSE(PadFeedbackReader::attach(c.bytes()));
    EXPECT_FALSE(PadFeedbackReader::attach(c.bytes().first(kPadFeedbackEnd - 1)));
}

TEST(PadFeedback, AHeadThatGoesBackStartsOverWithoutReadingGarbage) {
    Channel c;
    auto w = PadFeedbackWriter::attach(c.bytes());
    auto r = PadFeedbackReader::attach(c.bytes());
    ASSERT_TRUE(w && r);
    for (int i = 0; i < 5; ++i)
        w->push(rec(PadFeedbackOp::stop, 1, 0));
    std::array<PadFeedbackRecord, 16> out{};
    ASSERT_EQ(r->pop(out), 5U);
    auto w2 = PadFeedbackWriter::attach(c.bytes());  // the agent restarted its ring
    ASSERT_TRUE(w2);
    EXPECT_EQ(r->pop(out), 0U);
    w2->push(rec(PadFeedbackOp::erase, 1, 2));
    ASSERT_EQ(r->pop(out), 1U);
    EXPECT_EQ(out[0].op, static_cast<std::uint8_t>(PadFeedbackOp::erase));
    // A head far ahead of anything written is loss, bounded by the ring.
    auto& h = *reinterpret_cast<PadFeedbackHeader*>(c.bytes().data() + kPadFeedbackOffset);
    store_release(h.head, std::uint64_t{1} << 62);
    EXPECT_LE(r->pop(out), out.size());
}

TEST(PadFeedback, TheInputRingsEventsMayNotOverlapTheFeedbackRing) {
    Channel c;
    auto& h = *reinterpret_cast<InputRingHeader*>(c.bytes().data());
    h.events_offset = sizeof(InputRingHeader);
    EXPECT_FALSE(InputRingWriter::attach(c.bytes()));
    h.events_offset = kPageSize;
    EXPECT_TRUE(InputRingWriter::attach(c.bytes()));
}

}  // namespace
}  // namespace porthole::protocol
