// Cursor, input and audio channels (clipboard: clipboard_channel_test.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <vector>

#include "porthole/protocol/audio_ring.hpp"
#include "porthole/protocol/cursor_channel.hpp"
#include "porthole/protocol/input_ring.hpp"
#include "porthole/protocol/shared_memory.hpp"
#include "support/aligned_region.hpp"

using namespace porthole::protocol;
using porthole::testing::AlignedRegion;

// ---------------------------------------------------------------- cursor

namespace {
constexpr std::size_t kCursorChannel = kCursorDataOffset + kMaxCursorBytes;
}

TEST(CursorChannel, ColorShapeAndPositionRoundTrip) {
    AlignedRegion mem(kCursorChannel);
    auto w = CursorWriter::create(mem.bytes());
    auto r = CursorReader::attach(mem.bytes());
    ASSERT_TRUE(w && r);
    std::vector<std::byte> argb(32 * 32 * 4);
    for (std::size_t i = 0; i < argb.size(); ++i)
        argb[i] = std::byte(i * 7);
    ASSERT_TRUE(w->set_shape(CursorType::color, 32, 32, 128, 3, 4, argb));
    w->set_position(100, -5, true);
    auto s = r->poll_shape();
    ASSERT_TRUE(s && *s);
    EXPECT_EQ((*s)->width, 32U);
    EXPECT_EQ((*s)->hotspot_x, 3);
    EXPECT_EQ((*s)->data, argb);
    auto p = r->poll_position();
    ASSERT_TRUE(p);
    EXPECT_EQ(p->x, 100);
    EXPECT_EQ(p->y, -5);
    EXPECT_TRUE(p->visible);
    EXPECT_EQ(p->shape_serial, (*s)->serial);
    EXPECT_FALSE(r->poll_position()) << "unchanged position is not reported again";
    auto again = r->poll_shape();
    ASSERT_TRUE(again);
    EXPECT_FALSE(*again);
}

TEST(CursorChannel, SetPositionSaysWhetherAnythingChanged) {
    AlignedRegion mem(kCursorChannel);
    auto w = CursorWriter::create(mem.bytes());
    ASSERT_TRUE(w);
    EXPECT_TRUE(w->set_position(10, 20, true));
    EXPECT_FALSE(w->set_position(10, 20, true)) << "the same position: no doorbell ring";
    EXPECT_TRUE(w->set_position(11, 20, true));
    EXPECT_TRUE(w->set_position(11, 20, false)) << "hidden";
    std::vector<std::byte> argb(8 * 8 * 4, std::byte{1});
    ASSERT_TRUE(w->set_shape(CursorType::color, 8, 8, 32, 0, 0, argb));
    EXPECT_FALSE(w->set_position(11, 20, false)) << "set_shape wrote the position already";
}

TEST(CursorChannel, MonochromeShapeCarriesAndAndXorMasks) {
    AlignedRegion mem(kCursorChannel);
    auto w = CursorWriter::create(mem.bytes());
    auto r = CursorReader::attach(mem.bytes());
    ASSERT_TRUE(w && r);
    std::vector<std::byte> masks(4 * 32 * 2, std::byte{0xF0});
    ASSERT_TRUE(w->set_shape(CursorType::monochrome, 32, 32, 4, 0, 0, masks));
    auto s = r->poll_shape();
    ASSERT_TRUE(s && *s);
    EXPECT_EQ((*s)->type, CursorType::monochrome);
    EXPECT_EQ((*s)->data.size(), masks.size());
}

TEST(CursorChannel, MaskedColorShapeRoundTrips) {
    AlignedRegion mem(kCursorChannel);
    auto w = CursorWriter::create(mem.bytes());
    auto r = CursorReader::attach(mem.bytes());
    ASSERT_TRUE(w && r);
    std::vector<std::byte> px(16 * 16 * 4, std::byte{0xFF});
    ASSERT_TRUE(w->set_shape(CursorType::masked, 16, 16, 64, 15, 15, px));
    auto s = r->poll_shape();
    ASSERT_TRUE(s && *s);
    EXPECT_EQ((*s)->type, CursorType::masked);
}

TEST(CursorChannel, WriterRefusesInvalidShapes) {
    AlignedRegion mem(kCursorChannel);
    auto w = CursorWriter::create(mem.bytes());
    ASSERT_TRUE(w);
    std::vector<std::byte> big(kMaxCursorBytes * 2);
    EXPECT_FALSE(w->set_shape(CursorType::color, 257, 16, 257 * 4, 0, 0, big));
    EXPECT_FALSE(w->set_shape(CursorType::color, 16, 16, 16, 0, 0, big));   // pitch < width*4
    EXPECT_FALSE(w->set_shape(CursorType::color, 16, 16, 64, 16, 0, big));  // hotspot outside
    EXPECT_FALSE(w->set_shape(CursorType::color, 16, 16, 64, 0, 0, std::span(big).first(10)));
}

TEST(CursorChannel, ReaderRejectsInvalidShapeOnceAndRecovers) {
    AlignedRegion mem(kCursorChannel);
    auto w = CursorWriter::create(mem.bytes());
    auto r = CursorReader::attach(mem.bytes());
    ASSERT_TRUE(w && r);
    auto& hdr = *reinterpret_cast<CursorShapeHeader*>(mem.data() + kCursorShapeHeaderOffset);
    CursorShapeHeader bad{};
    bad.serial = 9;
    bad.type = 1;
    bad.width = 64;
    bad.height = 64;
    bad.pitch = 256;
    bad.data_size = 0xFFFFFFFF;
    copy_in(hdr, bad);
    EXPECT_FALSE(r->poll_shape());
    auto second = r->poll_shape();
    ASSERT_TRUE(second);
    EXPECT_FALSE(*second) << "the same bad shape is reported once";
    std::vector<std::byte> px(8 * 8 * 4);
    ASSERT_TRUE(w->set_shape(CursorType::color, 8, 8, 32, 0, 0, px));
    auto good = r->poll_shape();
    ASSERT_TRUE(good && *good);
}

// ---------------------------------------------------------------- input

namespace {

struct InputChannel {
    AlignedRegion mem;
    explicit InputChannel(std::uint32_t capacity) : mem(kPageSize + capacity * sizeof(InputEvent)) {
        EXPECT_TRUE(init_input_ring(mem.bytes(), capacity));
    }
};

InputEvent key(std::uint16_t code, std::int32_t value) {
    return InputEvent{0, ev::key, code, value, 0};
}
InputEvent syn() {
    return InputEvent{0, ev::syn, ev::syn_report, 0, 0};
}

}  // namespace

TEST(InputRing, EventsArriveInOrderAcrossManyWraps) {
    InputChannel ch(16);
    auto guest = InputRingReader::attach(ch.mem.bytes());
    auto host = InputRingWriter::attach(ch.mem.bytes());
    ASSERT_TRUE(guest && host);
    std::int32_t sent = 0, received = 0;
    InputEvent out[7];
    for (int round = 0; round < 500; ++round) {
        const InputEvent batch[] = {InputEvent{0, ev::rel, 0, sent, 0},
                                    InputEvent{0, ev::rel, 1, sent + 1, 0}, syn()};
        ASSERT_TRUE(host->push(batch));
        sent += 2;
        std::size_t n;
        while ((n = guest->pop(out)) > 0) {
            for (std::size_t i = 0; i < n; ++i) {
                if (out[i].type == ev::rel) {
                    EXPECT_EQ(out[i].value, received++);
                }
            }
        }
    }
    EXPECT_EQ(received, sent);
    EXPECT_EQ(guest->rejected(), 0U);
}

TEST(InputRing, FullRingRejectsAWholeBatchAndCountsOverflow) {
    InputChannel ch(8);
    auto guest = InputRingReader::attach(ch.mem.bytes());
    auto host = InputRingWriter::attach(ch.mem.bytes());
    ASSERT_TRUE(guest && host);
    const InputEvent five[] = {key(30, 1), key(30, 0), key(31, 1), key(31, 0), syn()};
    ASSERT_TRUE(host->push(five));
    EXPECT_FALSE(host->push(five)) << "only 3 free: the batch must not be split";
    EXPECT_EQ(host->overflow(), 5U);
    EXPECT_EQ(guest->host_overflow(), 5U) << "the guest sees the count";
    InputEvent out[16];
    EXPECT_EQ(guest->pop(out), 5U);
    EXPECT_TRUE(host->push(five));
}

TEST(InputRing, GuestRejectsInvalidEvents) {
    InputChannel ch(16);
    auto guest = InputRingReader::attach(ch.mem.bytes());
    auto host = InputRingWriter::attach(ch.mem.bytes());
    ASSERT_TRUE(guest && host);
    const InputEvent mixed[] = {key(30, 1),    InputEvent{0, 0x15, 0, 0, 0},
                                key(0x300, 1), InputEvent{0, ev::abs, ev::abs_x, 40000, 0},
                                key(30, 7),    key(30, 0)};
    ASSERT_TRUE(host->push(mixed));
    InputEvent out[16];
    ASSERT_EQ(guest->pop(out), 2U);
    EXPECT_EQ(out[0].value, 1);
    EXPECT_EQ(out[1].value, 0);
    EXPECT_EQ(guest->rejected(), 4U);
}

InputEvent on_pad(std::uint32_t device, std::uint16_t type, std::uint16_t code, std::int32_t v) {
    InputEvent e{0, type, code, v};
    e.device = device;
    return e;
}

TEST(InputRing, GamepadEventsPassOnlyWithinTheirSlotCodesAndRanges) {
    // What a pad may carry: its buttons (no repeat), its eight axes within
    // their fixed ranges, SYN_REPORT and the pad-gone marker.
    for (const InputEvent& e :
         {on_pad(1, ev::key, 0x130, 1), on_pad(4, ev::key, 0x13e, 0), on_pad(2, ev::key, 0x223, 1),
          on_pad(1, ev::abs, pad::abs_x, -32768), on_pad(1, ev::abs, pad::abs_ry, 32767),
          on_pad(1, ev::abs, pad::abs_rz, 1023), on_pad(3, ev::abs, pad::abs_hat0y, -1),
          on_pad(1, ev::syn, ev::syn_report, 0), on_pad(1, ev::syn, pad::syn_gone, 0)}) {
        SCOPED_TRACE(::testing::Message() << e.device << " " << e.type << " " << e.code);
        EXPECT_TRUE(is_valid_input_event(e));
    }
    // A slot past the last, keys that are no pad button, repeats, axes out of
    // range or not a pad axis, relative motion, the pad marker on device 0.
    for (const InputEvent& e :
         {on_pad(pad::kMaxGamepads + 1, ev::key, 0x130, 1), on_pad(0xffffffffU, ev::syn, 0, 0),
          on_pad(1, ev::key, 30, 1), on_pad(1, ev::key, 0x110, 1), on_pad(1, ev::key, 0x130, 2),
          on_pad(1, ev::abs, pad::abs_x, 32768), on_pad(1, ev::abs, pad::abs_z, -1),
          on_pad(1, ev::abs, pad::abs_z, 1024), on_pad(1, ev::abs, pad::abs_hat0x, 2),
          on_pad(1, ev::abs, 0x06, 0), on_pad(1, ev::abs, 0x3f, 0), on_pad(1, ev::rel, 0, 1),
          on_pad(0, ev::syn, pad::syn_gone, 0), on_pad(0, ev::abs, pad::abs_x, -1)}) {
        SCOPED_TRACE(::testing::Message()
                     << e.device << " " << e.type << " " << e.code << " " << e.value);
        EXPECT_FALSE(is_valid_input_event(e));
    }
}

TEST(InputRing, GuestResynchronisesOnImpossibleHead) {
    InputChannel ch(16);
    auto guest = InputRingReader::attach(ch.mem.bytes());
    ASSERT_TRUE(guest);
    auto& hdr = *reinterpret_cast<InputRingHeader*>(ch.mem.data());
    store_release(hdr.head, 1000);  // far more than the capacity ahead
    InputEvent out[4];
    EXPECT_EQ(guest->pop(out), 0U);
    EXPECT_EQ(guest->resyncs(), 1U);
    auto host = InputRingWriter::attach(ch.mem.bytes());  // host restarts at 0
    ASSERT_TRUE(host);
    EXPECT_EQ(guest->pop(out), 0U);
    EXPECT_EQ(guest->resyncs(), 2U);
    const InputEvent one[] = {key(2, 1)};
    ASSERT_TRUE(host->push(one));
    ASSERT_EQ(guest->pop(out), 1U);
    EXPECT_EQ(out[0].code, 2);
}

TEST(InputRing, HostTreatsAGarbageTailAsEmpty) {
    InputChannel ch(8);
    auto host = InputRingWriter::attach(ch.mem.bytes());
    ASSERT_TRUE(host);
    auto& hdr = *reinterpret_cast<InputRingHeader*>(ch.mem.data());
    store_release(hdr.tail, 12345);
    EXPECT_EQ(host->free_space(), 8U);
}

TEST(InputRing, AttachRejectsBadGeometry) {
    InputChannel ch(16);
    auto& hdr = *reinterpret_cast<InputRingHeader*>(ch.mem.data());
    InputRingHeader h = copy_out(hdr);
    h.capacity = 12;  // not a power of two
    copy_in(hdr, h);
    EXPECT_FALSE(InputRingReader::attach(ch.mem.bytes()));
    h.capacity = 1U << 16;  // larger than the channel
    copy_in(hdr, h);
    EXPECT_FALSE(InputRingWriter::attach(ch.mem.bytes()));
    h.capacity = 16;
    h.event_size = 32;
    copy_in(hdr, h);
    EXPECT_FALSE(InputRingWriter::attach(ch.mem.bytes()));
}

// ---------------------------------------------------------------- audio

namespace {

constexpr std::size_t kAudioChannel = kPageSize + 64 * 1024;

std::vector<std::byte> counter_frames(std::int32_t from, std::size_t frames) {
    std::vector<std::int32_t> s(frames * 2);
    for (std::size_t i = 0; i < frames; ++i)
        s[2 * i] = s[2 * i + 1] = from + static_cast<std::int32_t>(i);
    std::vector<std::byte> b(s.size() * 4);
    std::memcpy(b.data(), s.data(), b.size());
    return b;
}

std::int32_t sample_at(const std::vector<std::byte>& b, std::size_t frame) {
    std::int32_t v = 0;
    std::memcpy(&v, b.data() + frame * 8, 4);
    return v;
}

}  // namespace

TEST(AudioRing, SamplesRoundTripAcrossTheWrap) {
    AlignedRegion mem(kAudioChannel);
    auto w = AudioWriter::create(mem.bytes());
    auto r = AudioReader::attach(mem.bytes());
    ASSERT_TRUE(w && r);
    const AudioFormat fmt{48000, 2, SampleFormat::s32};
    ASSERT_TRUE(w->set_format(fmt));
    auto f = r->format();
    ASSERT_TRUE(f && *f);
    EXPECT_EQ(**f, fmt);
    std::int32_t next_write = 0, next_read = 0;
    std::vector<std::byte> out(1000 * 8);
    for (int round = 0; round < 100; ++round) {
        ASSERT_TRUE(w->write(counter_frames(next_write, 700), 0));
        next_write += 700;
        auto got = r->read(out);
        ASSERT_TRUE(got);
        EXPECT_EQ(got->lost_frames, 0U);
        for (std::size_t i = 0; i < got->frames; ++i)
            ASSERT_EQ(sample_at(out, i), next_read++);
    }
    EXPECT_EQ(next_read, next_write);
}

TEST(AudioRing, SlowReaderIsToldHowManyFramesItLost) {
    AlignedRegion mem(kAudioChannel);
    auto w = AudioWriter::create(mem.bytes());
    auto r = AudioReader::attach(mem.bytes());
    ASSERT_TRUE(w && r);
    ASSERT_TRUE(w->set_format(AudioFormat{48000, 2, SampleFormat::s32}));
    ASSERT_TRUE(r->format());
    const std::uint64_t cap = w->capacity_frames();
    ASSERT_TRUE(w->write(counter_frames(0, static_cast<std::size_t>(cap * 2)), 0));
    std::vector<std::byte> out(cap * 8);
    auto got = r->read(out);
    ASSERT_TRUE(got);
    EXPECT_GT(got->lost_frames, cap);
    ASSERT_GT(got->frames, 0U);
    // What it did get is the newest, contiguous, ending at the write position.
    EXPECT_EQ(sample_at(out, got->frames - 1), static_cast<std::int32_t>(cap * 2 - 1));
    EXPECT_EQ(got->lost_frames + got->frames, cap * 2);
}

TEST(AudioRing, FormatChangeRestartsTheStream) {
    AlignedRegion mem(kAudioChannel);
    auto w = AudioWriter::create(mem.bytes());
    auto r = AudioReader::attach(mem.bytes());
    ASSERT_TRUE(w && r);
    ASSERT_TRUE(w->set_format(AudioFormat{48000, 2, SampleFormat::s32}));
    ASSERT_TRUE(r->format());
    ASSERT_TRUE(w->write(counter_frames(0, 100), 0));
    ASSERT_TRUE(w->set_format(AudioFormat{44100, 2, SampleFormat::s16}));
    std::vector<std::byte> out(4096);
    auto got = r->read(out);
    ASSERT_TRUE(got);
    EXPECT_TRUE(got->format_changed);
    auto f = r->format();
    ASSERT_TRUE(f && *f);
    EXPECT_EQ((*f)->rate, 44100U);
}

TEST(AudioRing, InvalidFormatsAreRefused) {
    AlignedRegion mem(kAudioChannel);
    auto w = AudioWriter::create(mem.bytes());
    auto r = AudioReader::attach(mem.bytes());
    ASSERT_TRUE(w && r);
    EXPECT_FALSE(w->set_format(AudioFormat{0, 2, SampleFormat::f32}));
    EXPECT_FALSE(w->set_format(AudioFormat{48000, 9, SampleFormat::f32}));
    // A guest writing the fields directly is caught by the reader.
    auto& h = *reinterpret_cast<AudioRingHeader*>(mem.data());
    seqlock_begin_write(h.format_seq);
    AudioRingHeader v = copy_out(h);
    v.rate = 48000;
    v.channels = 2;
    v.sample_format = 99;
    copy_in(h, v);
    seqlock_end_write(h.format_seq);
    EXPECT_FALSE(r->format());
}

TEST(AudioRing, ChannelMaskTravelsWithTheFormat) {
    AlignedRegion mem(kAudioChannel);
    auto w = AudioWriter::create(mem.bytes());
    auto r = AudioReader::attach(mem.bytes());
    ASSERT_TRUE(w && r);
    // Quad: front and back pairs, which the channel count alone cannot tell
    // from front pair + centre + sub.
    ASSERT_TRUE(w->set_format(AudioFormat{48000, 4, SampleFormat::f32, speaker::quad}));
    auto f = r->format();
    ASSERT_TRUE(f && *f);
    EXPECT_EQ((*f)->channel_mask, 0x33U);
    EXPECT_EQ((*f)->speakers(), 0x33U);
    // A new mask alone is a new stream format.
    ASSERT_TRUE(w->set_format(AudioFormat{48000, 4, SampleFormat::f32, 0x107}));
    std::vector<std::byte> out(4096);
    auto got = r->read(out);
    ASSERT_TRUE(got);
    EXPECT_TRUE(got->format_changed);
    f = r->format();
    ASSERT_TRUE(f && *f);
    EXPECT_EQ((*f)->channel_mask, 0x107U);
}

TEST(AudioRing, MaskZeroMeansTheDefaultLayoutForTheCount) {
    const AudioFormat stereo{48000, 2, SampleFormat::f32};
    EXPECT_EQ(stereo.channel_mask, 0U);
    EXPECT_EQ(stereo.speakers(), 0x3U);
    // Values: ksmedia.h KSAUDIO_SPEAKER_MONO 0x4, _STEREO 0x3, _QUAD 0x33,
    // _5POINT1 0x3F, _7POINT1_SURROUND 0x63F; 3, 5, 7: the first bits.
    const std::uint32_t want[] = {0x4, 0x3, 0x7, 0x33, 0x1F, 0x3F, 0x7F, 0x63F};
    for (std::uint16_t n = 1; n <= 8; ++n) {
        EXPECT_EQ(default_channel_mask(n), want[n - 1]) << n << " channels";
        EXPECT_TRUE(validate_audio_format(
            AudioFormat{48000, n, SampleFormat::f32, default_channel_mask(n)}))
            << n << " channels";
    }
}

TEST(AudioRing, SpeakerOfChannelIsTheMasksNthBit) {
    EXPECT_EQ(speaker_of_channel(speaker::layout_5_1_side, 0), speaker::front_left);
    EXPECT_EQ(speaker_of_channel(speaker::layout_5_1_side, 3), speaker::low_frequency);
    EXPECT_EQ(speaker_of_channel(speaker::layout_5_1_side, 4), speaker::side_left);
    EXPECT_EQ(speaker_of_channel(speaker::layout_5_1_side, 5), speaker::side_right);
    EXPECT_EQ(speaker_of_channel(speaker::layout_5_1_side, 6), 0U);
    EXPECT_EQ(speaker_of_channel(speaker::layout_2_1, 2), speaker::low_frequency);
}

TEST(AudioRing, MaskThatDoesNotNameOneSpeakerPerChannelIsRefused) {
    AlignedRegion mem(kAudioChannel);
    auto w = AudioWriter::create(mem.bytes());
    auto r = AudioReader::attach(mem.bytes());
    ASSERT_TRUE(w && r);
    // Three speakers for two channels, one for two, and a bit past the 18 positions.
    for (const std::uint32_t mask : {0x7U, 0x1U, 0x40003U, 0x80000003U}) {
        const auto st = w->set_format(AudioFormat{48000, 2, SampleFormat::f32, mask});
        ASSERT_FALSE(st) << std::hex << mask;
        EXPECT_NE(st.error().message.find("channel mask"), std::string::npos) << st.error().message;
    }
    // A guest writing the field directly is caught by the reader, named.
    auto& h = *reinterpret_cast<AudioRingHeader*>(mem.data());
    seqlock_begin_write(h.format_seq);
    AudioRingHeader v = copy_out(h);
    v.rate = 48000;
    v.channels = 4;
    v.sample_format = static_cast<std::uint16_t>(SampleFormat::f32);
    v.channel_mask = 0x3F;  // 5.1's six speakers for four channels
    copy_in(h, v);
    seqlock_end_write(h.format_seq);
    auto f = r->format();
    ASSERT_FALSE(f);
    EXPECT_NE(f.error().message.find("names 6 speakers for 4 channels"), std::string::npos)
        << f.error().message;
}

TEST(AudioRing, VolumeAndMuteFollowTheGuest) {
    AlignedRegion mem(kAudioChannel);
    auto w = AudioWriter::create(mem.bytes());
    auto r = AudioReader::attach(mem.bytes());
    ASSERT_TRUE(w && r);
    EXPECT_FLOAT_EQ(r->volume(), 1.0F);
    w->set_volume(0.25F, true);
    EXPECT_NEAR(r->volume(), 0.25F, 1e-4);
    EXPECT_TRUE(r->muted());
}

TEST(AudioRing, AttachRejectsRingOutsideItsChannel) {
    AlignedRegion mem(kAudioChannel);
    ASSERT_TRUE(AudioWriter::create(mem.bytes()));
    auto& h = *reinterpret_cast<AudioRingHeader*>(mem.data());
    AudioRingHeader v = copy_out(h);
    v.data_size = kAudioChannel * 4;
    copy_in(h, v);
    EXPECT_FALSE(AudioReader::attach(mem.bytes()));
}
