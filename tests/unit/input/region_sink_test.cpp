#include <gtest/gtest.h>

#include <vector>

#include "input/sink.hpp"
#include "porthole/protocol/input_ring.hpp"

namespace porthole::client::input {
namespace {

using protocol::InputEvent;

TEST(RegionInputSink, BatchesReachTheAgentThroughTheRing) {
    std::vector<std::byte> channel(4096 + 16 * sizeof(InputEvent));
    ASSERT_TRUE(protocol::init_input_ring(channel, 16));
    auto reader = protocol::InputRingReader::attach(channel);
    ASSERT_TRUE(reader);
    RegionInputSink sink;
    const InputEvent batch[] = {{1, 1, 30, 1, 0}, {2, 0, 0, 0, 0}};
    sink.deliver(batch);  // no agent yet: counted
    EXPECT_EQ(sink.overflow(), 2U);
    auto writer = protocol::InputRingWriter::attach(channel);
    ASSERT_TRUE(writer);
    sink.attach(std::move(*writer));
    sink.deliver(batch);
    InputEvent out[4];
    ASSERT_EQ(reader->pop(out), 2U);
    EXPECT_EQ(out[0].code, 30);
    EXPECT_EQ(sink.delivered(), 2U);
}

TEST(RegionInputSink, FullRingCountsOverflowAndKeepsBatchesWhole) {
    std::vector<std::byte> channel(4096 + 4 * sizeof(InputEvent));
    ASSERT_TRUE(protocol::init_input_ring(channel, 4));
    auto reader = protocol::InputRingReader::attach(channel);
    RegionInputSink sink;
    sink.attach(*protocol::InputRingWriter::attach(channel));
    const InputEvent three[] = {{0, 2, 0, 1, 0}, {0, 2, 1, 1, 0}, {0, 0, 0, 0, 0}};
    sink.deliver(three);
    sink.deliver(three);  // only one slot left: refused whole
    EXPECT_EQ(sink.overflow(), 3U);
    EXPECT_EQ(reader->host_overflow(), 3U) << "the agent sees the loss too";
}

}  // namespace
}  // namespace porthole::client::input
