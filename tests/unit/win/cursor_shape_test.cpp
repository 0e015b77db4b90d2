// DXGI pointer shapes converted to the protocol's cursor layouts, checked by a
// round trip through the real cursor channel.
#include <gtest/gtest.h>

#include <vector>

#include "capture/win/cursor_shape.hpp"
#include "porthole/protocol/cursor_channel.hpp"

using namespace porthole::agent::win;
using porthole::protocol::CursorType;

namespace {
DXGI_OUTDUPL_POINTER_SHAPE_INFO info(UINT type, UINT w, UINT h, UINT pitch, LONG hx = 0,
                                     LONG hy = 0) {
    DXGI_OUTDUPL_POINTER_SHAPE_INFO i{};
    i.Type = type;
    i.Width = w;
    i.Height = h;
    i.Pitch = pitch;
    i.HotSpot = POINT{hx, hy};
    return i;
}
std::vector<std::byte> bytes(std::size_t n, unsigned seed) {
    std::vector<std::byte> v(n);
    for (std::size_t i = 0; i < n; ++i)
        v[i] = static_cast<std::byte>((i * 7 + seed) & 0xFF);
    return v;
}
// Publishes and reads back through CursorWriter/CursorReader.
porthole::protocol::CursorShape round_trip(const porthole::agent::CursorShapeUpdate& s) {
    std::vector<std::byte> channel(porthole::protocol::kPageSize +
                                   porthole::protocol::kMaxCursorBytes * 2);
    auto w = porthole::protocol::CursorWriter::create(channel);
    EXPECT_TRUE(w) << w.error().message;
    auto ok = w->set_shape(s.type, s.width, s.height, s.pitch, s.hotspot_x, s.hotspot_y, s.data);
    EXPECT_TRUE(ok) << ok.error().message;
    auto r = porthole::protocol::CursorReader::attach(channel);
    EXPECT_TRUE(r) << r.error().message;
    auto shape = r->poll_shape();
    EXPECT_TRUE(shape) << shape.error().message;
    EXPECT_TRUE(shape->has_value());
    return shape->value_or(porthole::protocol::CursorShape{});
}
}  // namespace

TEST(WinCursorShape, ColourShapeIsRepackedToItsWidth) {
    const auto buf = bytes(12 * 3, 1);  // 2x3 pixels, 12-byte rows (4 bytes padding)
    auto s =
        convert_pointer_shape(info(DXGI_OUTDUPL_POINTER_SHAPE_TYPE_COLOR, 2, 3, 12, 1, 2), buf);
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->type, CursorType::color);
    EXPECT_EQ(s->width, 2u);
    EXPECT_EQ(s->height, 3u);
    EXPECT_EQ(s->pitch, 8u);
    EXPECT_EQ(s->hotspot_x, 1);
    EXPECT_EQ(s->hotspot_y, 2);
    ASSERT_EQ(s->data.size(), 24u);
    for (std::size_t y = 0; y < 3; ++y)
        for (std::size_t x = 0; x < 8; ++x)
            EXPECT_EQ(s->data[y * 8 + x], buf[y * 12 + x]);
    const auto back = round_trip(*s);
    EXPECT_EQ(back.data, s->data);
}

TEST(WinCursorShape, MaskedColourKeepsItsAlphaMask) {
    auto buf = bytes(4 * 4 * 4, 3);
    for (std::size_t i = 3; i < buf.size(); i += 4)
        buf[i] = (i / 4) % 2 == 0 ? std::byte{0x00} : std::byte{0xFF};
    auto s =
        convert_pointer_shape(info(DXGI_OUTDUPL_POINTER_SHAPE_TYPE_MASKED_COLOR, 4, 4, 16), buf);
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->type, CursorType::masked);
    EXPECT_EQ(s->height, 4u);
    EXPECT_EQ(s->data, buf);
    EXPECT_EQ(round_trip(*s).type, CursorType::masked);
}

TEST(WinCursorShape, MonochromeHalvesTheHeightAndKeepsAndThenXorRows) {
    // DXGI: 32 px wide, 64 rows = 32 AND rows then 32 XOR rows, 8-byte pitch.
    std::vector<std::byte> buf(8 * 64, std::byte{0xEE});
    for (std::size_t y = 0; y < 64; ++y)
        for (std::size_t x = 0; x < 4; ++x)
            buf[y * 8 + x] = static_cast<std::byte>(y < 32 ? 0xA0 + y % 16 : 0x50 + y % 16);
    auto s = convert_pointer_shape(
        info(DXGI_OUTDUPL_POINTER_SHAPE_TYPE_MONOCHROME, 32, 64, 8, 5, 6), buf);
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->type, CursorType::monochrome);
    EXPECT_EQ(s->width, 32u);
    EXPECT_EQ(s->height, 32u);
    EXPECT_EQ(s->pitch, 4u);
    ASSERT_EQ(s->data.size(), 4u * 64);
    EXPECT_EQ(s->data[0], std::byte{0xA0});       // first AND row
    EXPECT_EQ(s->data[31 * 4], std::byte{0xAF});  // last AND row
    EXPECT_EQ(s->data[32 * 4], std::byte{0x50});  // first XOR row
    EXPECT_EQ(s->data[63 * 4 + 3], std::byte{0x5F});
    for (auto b : s->data)
        EXPECT_NE(b, std::byte{0xEE}) << "pitch padding leaked into the shape";
    const auto back = round_trip(*s);
    EXPECT_EQ(back.height, 32u);
    EXPECT_EQ(back.data, s->data);
}

TEST(WinCursorShape, MonochromeWidthNotAMultipleOfEightRoundsUp) {
    const auto buf = bytes(4 * 20, 9);
    auto s =
        convert_pointer_shape(info(DXGI_OUTDUPL_POINTER_SHAPE_TYPE_MONOCHROME, 10, 20, 4), buf);
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->pitch, 2u);
    EXPECT_EQ(s->data.size(), 2u * 20);
}

TEST(WinCursorShape, MalformedShapesAreErrorsNotCrashes) {
    const auto buf = bytes(64 * 64 * 4, 0);
    EXPECT_FALSE(
        convert_pointer_shape(info(DXGI_OUTDUPL_POINTER_SHAPE_TYPE_MONOCHROME, 8, 7, 1), buf));
    EXPECT_FALSE(convert_pointer_shape(info(8, 4, 4, 16), buf));  // unknown type
    EXPECT_FALSE(convert_pointer_shape(info(DXGI_OUTDUPL_POINTER_SHAPE_TYPE_COLOR, 4, 4, 8),
                                       buf));  // pitch < width*4
    EXPECT_FALSE(convert_pointer_shape(info(DXGI_OUTDUPL_POINTER_SHAPE_TYPE_COLOR, 64, 64, 256),
                                       std::span(buf).first(1000)));  // short buffer
    EXPECT_FALSE(convert_pointer_shape(info(DXGI_OUTDUPL_POINTER_SHAPE_TYPE_COLOR, 0, 4, 0), buf));
    const std::vector<std::byte> big(512u * 4 * 300);
    auto r =
        convert_pointer_shape(info(DXGI_OUTDUPL_POINTER_SHAPE_TYPE_COLOR, 300, 300, 1200), big);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("larger than"), std::string::npos) << r.error().message;
}

TEST(WinCursorShape, HotspotPositionIsShapeOriginPlusHotspot) {
    EXPECT_EQ(hotspot_coordinate(100, 5), 105);
    EXPECT_EQ(hotspot_coordinate(-3, 5), 2);  // shape partly off the left edge
}
