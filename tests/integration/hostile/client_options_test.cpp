// Hostile options and config files against the real porthole binary: each is
// refused at once with exit 2 and a message naming the problem, never read
// as something else (nan latency, a wrapped --size), never a hang (a FIFO
// as the config file, an empty --shm).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "render/process.hpp"

#ifndef PORTHOLE_CLIENT
#error "PORTHOLE_CLIENT must name the program"
#endif

namespace {

using namespace std::chrono_literals;
using porthole::test::Process;
using porthole::test::read_text;
using porthole::test::TempDir;

struct Outcome {
    std::optional<int> code;  // nullopt: still running after the limit (killed) or a signal
    std::string err;
};

// Runs porthole with `args` and a private config home holding no config.
Outcome run(const TempDir& dir, std::vector<std::string> args, std::vector<std::string> env = {}) {
    args.insert(args.begin(), PORTHOLE_CLIENT);
    if (env.empty()) env.push_back("XDG_CONFIG_HOME=" + dir.file("no-config"));
    Process p(args, dir.file("out"), dir.file("err"), env);
    const auto code = p.wait_exit(5s);
    return {code, read_text(dir.file("err"))};
}

struct Case {
    const char* name;
    std::vector<std::string> args;
    const char* message;  // part of what stderr must say
};

class HostileOption : public ::testing::TestWithParam<Case> {};

TEST_P(HostileOption, IsRefusedAtOnceWithAMessage) {
    TempDir dir;
    const auto& c = GetParam();
    std::vector<std::string> args = {"--headless"};
    if (c.args.front() != "--shm") args.insert(args.end(), {"--shm", dir.file("region")});
    args.insert(args.end(), c.args.begin(), c.args.end());
    const auto r = run(dir, args);
    ASSERT_TRUE(r.code) << "no exit within 5 s: " << r.err;
    EXPECT_NE(*r.code, 0) << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("waiting for"), std::string::npos) << "refused before any waiting";
}

INSTANTIATE_TEST_SUITE_P(
    Options, HostileOption,
    ::testing::Values(
        Case{"LatencyNan", {"--audio-latency", "nan"}, "not a finite number"},
        Case{"LatencyInf", {"--audio-latency", "inf"}, "not a finite number"},
        Case{"LatencyMinusInf", {"--audio-latency", "-inf"}, "not a finite number"},
        Case{"LatencyOutOfRange", {"--audio-latency", "1000"}, "not in range"},
        Case{"SizeWrapsPast32Bits", {"--size", "4294967297x1"}, "--size wants"},
        Case{"SizeNegative", {"--size", "-1x100"}, "--size wants"},
        Case{"SizeTrailing", {"--size", "640x480x2"}, "--size wants"},
        Case{"SizeTooLarge", {"--size", "16385x100"}, "--size wants"},
        Case{"ShmEmpty", {"--shm", ""}, "--shm needs a path"},
        Case{"ClipboardUnknownMode", {"--clipboard", "on"}, "--clipboard: on not in"},
        Case{"ClipboardLimitZero", {"--clipboard-limit", "0"}, "not in range"},
        Case{"ClipboardLimitNegative", {"--clipboard-limit", "-1"}, "--clipboard-limit"}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(HostileConfig, AFifoAsTheConfigFileIsAnErrorNotAHang) {
    TempDir dir;
    const std::string fifo = dir.file("porthole.conf");
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    const auto r = run(dir, {"--headless", "--config", fifo});
    ASSERT_TRUE(r.code) << "blocked opening the FIFO";
    EXPECT_EQ(*r.code, 2);
    EXPECT_NE(r.err.find("not a regular file"), std::string::npos) << r.err;
}

TEST(HostileConfig, AFifoAtTheDefaultConfigPathIsAnErrorNotAHang) {
    TempDir dir;
    std::filesystem::create_directories(dir.file("xdg/porthole"));
    ASSERT_EQ(::mkfifo(dir.file("xdg/porthole/porthole.conf").c_str(), 0600), 0);
    const auto r = run(dir, {"--headless"}, {"XDG_CONFIG_HOME=" + dir.file("xdg")});
    ASSERT_TRUE(r.code) << "blocked opening the FIFO";
    EXPECT_EQ(*r.code, 2);
    EXPECT_NE(r.err.find("not a regular file"), std::string::npos) << r.err;
}

TEST(HostileConfig, AFolderAsTheConfigFileIsAnError) {
    TempDir dir;
    const auto r = run(dir, {"--headless", "--config=" + dir.file("")});
    ASSERT_TRUE(r.code);
    EXPECT_EQ(*r.code, 2);
    EXPECT_NE(r.err.find("not a regular file"), std::string::npos) << r.err;
}

TEST(HostileConfig, NanLatencyInTheConfigFileIsRefusedToo) {
    TempDir dir;
    const std::string conf = dir.file("porthole.conf");
    std::ofstream(conf) << "audio-latency = nan\n";
    const auto r = run(dir, {"--headless", "--config", conf});
    ASSERT_TRUE(r.code);
    EXPECT_NE(*r.code, 0);
    EXPECT_NE(r.err.find("not a finite number"), std::string::npos) << r.err;
}

}  // namespace
