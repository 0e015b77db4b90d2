// Hostile options and config files against the real porthole binary: each is
// refused at once with exit 2 and a message naming the problem, never read
// as something else (nan latency, a wrapped --size), never a hang (a FIFO
// as the config file, an empty --shm).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
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
    std::string out;
};

// Runs porthole with `args` and a private config home holding no config.
Outcome run(const TempDir& dir, std::vector<std::string> args, std::vector<std::string> env = {}) {
    // Appended, not inserted at the front: GCC 12 warns of a null dereference in insert.
    std::vector<std::string> argv{PORTHOLE_CLIENT};
    argv.insert(argv.end(), args.begin(), args.end());
    args = std::move(argv);
    if (env.empty()) env.push_back("XDG_CONFIG_HOME=" + dir.file("no-config"));
    // Never the machine's /etc/porthole/porthole.conf unless a test names one.
    bool system_named = false;
    for (const auto& e : env)
        system_named = system_named || e.starts_with("PORTHOLE_SYSTEM_CONFIG=");
    if (!system_named) env.push_back("PORTHOLE_SYSTEM_CONFIG=" + dir.file("no-system-config"));
    Process p(args, dir.file("out"), dir.file("err"), env);
    const auto code = p.wait_exit(5s);
    return {code, read_text(dir.file("err")), read_text(dir.file("out"))};
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
        Case{"SizeWrapsPast32Bits", {"--size", "4294967297x1"}, "--size: wants"},
        Case{"SizeNegative", {"--size", "-1x100"}, "--size: wants"},
        Case{"SizeTrailing", {"--size", "640x480x2"}, "--size: wants"},
        Case{"SizeTooLarge", {"--size", "16385x100"}, "--size: wants"},
        Case{"ShmEmpty", {"--shm", ""}, "--shm: needs a path"},
        Case{"ClipboardUnknownMode", {"--clipboard", "on"}, "--clipboard: on not in"},
        Case{"ClipboardLimitZero", {"--clipboard-limit", "0"}, "not in range"},
        Case{"ClipboardLimitNegative", {"--clipboard-limit", "-1"}, "--clipboard-limit"},
        Case{"ClipboardMaxSizeZero", {"--clipboard-max-size", "0"}, "not in range"},
        Case{"ClipboardMaxSizeNegative", {"--clipboard-max-size", "-1"}, "--clipboard-max-size"},
        Case{"WindowPositionNotXY",
             {"--window-position", "12x"},
             "--window-position: wants X,Y, each -32768 to 32767 (e.g. 100,50), got '12x'"},
        Case{
            "WindowPositionOneNumber", {"--window-position", "12"}, "--window-position: wants X,Y"},
        Case{"WindowPositionEmptyX", {"--window-position", ",5"}, "--window-position: wants X,Y"},
        Case{"WindowPositionOutOfRange",
             {"--window-position", "1,99999"},
             "--window-position: wants X,Y"},
        Case{"WindowPositionThreeNumbers",
             {"--window-position", "1,2,3"},
             "--window-position: wants X,Y"},
        Case{"TitleWithANewline",
             {"--title", "my\nvm"},
             "--title: the title holds a control character (0x0a) at byte 2: one line of text"},
        Case{"TitleWithATab", {"--title", "a\tb"}, "--title: the title holds a control character"},
        Case{"TitleNotUtf8",
             {"--title", "caf\xe9"},
             "--title: the title is not UTF-8 text (byte 3)"},
        Case{"TitleCutUtf8", {"--title", "vm \xe2\x9c"}, "--title: the title is not UTF-8 text"},
        Case{"TitleTooLong",
             {"--title", std::string(256, 'a')},
             "--title: the title is 256 bytes long, at most 255"},
        Case{"MouseSensitivityTooHigh",
             {"--mouse-sensitivity", "10"},
             "--mouse-sensitivity: wants a whole number from -9 (slowest) to 9 (fastest)"},
        Case{"MouseSensitivityTooLow",
             {"--mouse-sensitivity", "-10"},
             "--mouse-sensitivity: wants a whole number"},
        Case{"MouseSensitivityFraction",
             {"--mouse-sensitivity", "1.5"},
             "--mouse-sensitivity: wants a whole number"},
        Case{"MouseSensitivityWord",
             {"--mouse-sensitivity", "fast"},
             "--mouse-sensitivity: wants a whole number"},
        Case{"UiScaleTooLarge",
             {"--ui-scale", "5"},
             "--ui-scale: wants auto or a number from 0.5 to 4 (e.g. 2), got '5'"},
        Case{"UiScaleTooSmall", {"--ui-scale", "0.25"}, "--ui-scale: wants auto or a number"},
        Case{"UiScaleWord", {"--ui-scale", "big"}, "--ui-scale: wants auto or a number"},
        Case{"UiScaleNan", {"--ui-scale", "nan"}, "--ui-scale: wants auto or a number"},
        Case{"UiScaleWithUnit", {"--ui-scale", "2x"}, "--ui-scale: wants auto or a number"},
        Case{"UsbVendorOnly",
             {"--usb", "046d", "--qmp", "/q"},
             "--usb: '046d' names no USB device: give vendor:product in hex"},
        Case{"UsbProductNotHex", {"--usb", "046d:zz2b", "--qmp", "/q"}, "names no USB device"},
        Case{"UsbPortZero", {"--usb", "3-0", "--qmp", "/q"}, "names no USB device"},
        Case{"UsbWithoutQmp",
             {"--usb", "046d:c52b"},
             "--usb needs QEMU's QMP socket: give --qmp unix:/path/to/socket"},
        Case{"GamepadOverQmp",
             {"--gamepad", "/dev/input/event9", "--input-to", "qmp", "--qmp", "/q"},
             "--gamepad goes through the agent (QEMU's input-send-event has no gamepads)"},
        Case{"FiveGamepads",
             {"--gamepad", "a", "--gamepad", "b", "--gamepad", "c", "--gamepad", "d", "--gamepad",
              "e"},
             "--gamepad: at most 4 gamepads (5 given)"}),
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

// The strict config file: every mistake is an error naming the file and the
// line (exit 2), and the values go through the command line's own checks.
struct ConfigCase {
    const char* name;
    const char* text;
    const char* message;  // after "PATH:"
};

class StrictConfig : public ::testing::TestWithParam<ConfigCase> {};

TEST_P(StrictConfig, RefusesTheFileNamingItsLine) {
    TempDir dir;
    const auto& c = GetParam();
    const std::string conf = dir.file("porthole.conf");
    std::ofstream(conf) << c.text;
    const auto r = run(dir, {"--headless", "--shm", dir.file("region"), "--config", conf});
    ASSERT_TRUE(r.code) << r.err;
    EXPECT_EQ(*r.code, 2) << r.err;
    EXPECT_NE(r.err.find(conf + ":" + c.message), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("waiting for"), std::string::npos) << "refused before any waiting";
}

INSTANTIATE_TEST_SUITE_P(
    Files, StrictConfig,
    ::testing::Values(
        ConfigCase{"UnknownKeyWithSuggestion", "# mine\nfullscreen = true\nscael = \"integer\"\n",
                   "3: unknown key 'scael' (did you mean 'scale'?)"},
        ConfigCase{"UnknownKeyWithoutSuggestion", "colour = 3\n", "1: unknown key 'colour'"},
        ConfigCase{"UnderscoreForDash", "audio_latency = 30\n",
                   "1: unknown key 'audio_latency' (did you mean 'audio-latency'?)"},
        ConfigCase{"NotAMember", "\n\nscale = \"huge\"\n", "3: scale: huge not in"},
        ConfigCase{"OutOfRange", "audio-latency = 1000\n",
                   "1: audio-latency: Value 1000 not in range"},
        ConfigCase{"NegativeTimeout", "timeout = -1\n", "1: timeout: wants 0 or more seconds"},
        ConfigCase{"BadSize", "\nsize = \"640x0\"\n", "2: size: wants WIDTHxHEIGHT"},
        ConfigCase{"UnquotedText", "scale = integer\n", "1:11: "},
        ConfigCase{"UnquotedTextHint", "scale = integer\n", "1:11: Error while parsing"},
        ConfigCase{"UnterminatedString", "shm = \"/dev/shm/x\n", "1:"},
        ConfigCase{"DuplicateKey", "scale = \"fit\"\nscale = \"integer\"\n", "2:"},
        ConfigCase{"Section", "[window]\nscale = \"fit\"\n", "1: 'window' is a table"},
        ConfigCase{"FlagWithText", "fullscreen = \"yes\"\n", "1: fullscreen wants true or false"},
        ConfigCase{"ValueWithBoolean", "audio = true\n", "1: audio wants a value"},
        ConfigCase{"ListForOneValue", "scale = [\"fit\"]\n", "1: scale takes one value"},
        ConfigCase{"ConfigInConfig", "config = \"/tmp/x\"\n", "1: 'config' is not read"},
        ConfigCase{"BadWindowPosition", "\nwindow-position = \"12x\"\n",
                   "2: window-position: wants X,Y, each -32768 to 32767"},
        ConfigCase{"WindowPositionAsAList", "window-position = [12, 30]\n",
                   "1: window-position takes one value, not a list"},
        ConfigCase{"TitleWithANewline", "title = \"my\\nvm\"\n",
                   "1: title: the title holds a control character (0x0a)"},
        ConfigCase{"BorderlessAsText", "borderless = \"yes\"\n",
                   "1: borderless wants true or false"},
        ConfigCase{"HideCursorUnderscore", "hide_cursor = true\n",
                   "1: unknown key 'hide_cursor' (did you mean 'hide-cursor'?)"},
        ConfigCase{"MouseSensitivityTooHigh", "mouse-sensitivity = 12\n",
                   "1: mouse-sensitivity: wants a whole number from -9"},
        ConfigCase{"MouseSensitivityFraction", "mouse-sensitivity = 0.5\n",
                   "1: mouse-sensitivity: wants a whole number"},
        ConfigCase{"IgnoreWindowsKeysAsNumber", "ignore-windows-keys = 1\n",
                   "1: ignore-windows-keys wants true or false"},
        ConfigCase{"AllowScreensaverAsText", "allow-screensaver = \"true\"\n",
                   "1: allow-screensaver wants true or false"},
        ConfigCase{"CaptureOnStartAsText", "capture-on-start = \"yes\"\n",
                   "1: capture-on-start wants true or false"},
        ConfigCase{"UsbBadDevice", "qmp = \"/q\"\nusb = [\"046d:c52b\", \"046d:c52\"]\n",
                   "2: usb: '046d:c52' names no USB device"},
        ConfigCase{"UsbAsBoolean", "usb = true\n", "1: usb wants a value"},
        ConfigCase{"UiScaleTooLarge", "\nui-scale = 8\n",
                   "2: ui-scale: wants auto or a number from 0.5 to 4 (e.g. 2), got '8'"},
        ConfigCase{"UiScaleAsBoolean", "ui-scale = true\n", "1: ui-scale wants a value"},
        ConfigCase{"SetGuestResAsASize", "set-guest-res = \"1920x1080\"\n",
                   "1: set-guest-res wants true or false"}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(StrictConfig, UnquotedTextSaysToQuoteIt) {
    TempDir dir;
    const std::string conf = dir.file("porthole.conf");
    std::ofstream(conf) << "scale = integer\n";
    const auto r = run(dir, {"--headless", "--config", conf});
    ASSERT_TRUE(r.code);
    EXPECT_NE(r.err.find("(text needs quotes: scale = \"integer\")"), std::string::npos) << r.err;
}

TEST(StrictConfig, AMissingConfigNamedOnTheCommandLineIsAnError) {
    TempDir dir;
    const auto r = run(dir, {"--headless", "--config", dir.file("nothing.conf")});
    ASSERT_TRUE(r.code);
    EXPECT_EQ(*r.code, 2);
    EXPECT_NE(r.err.find("nothing.conf does not exist"), std::string::npos) << r.err;
}

TEST(StrictConfig, BadOptionsOnTheCommandLineExitWithTwoAsTheManPageSays) {
    TempDir dir;
    const auto r = run(dir, {"--headless", "--scale", "huge"});
    ASSERT_TRUE(r.code);
    EXPECT_EQ(*r.code, 2) << r.err;
}

// The line of --print-config that sets `key`.
std::string config_line(const std::string& out, const std::string& key) {
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);)
        if (line.starts_with(key + " = ")) return line;
    return {};
}

TEST(PrintConfig, ShowsEachValueAndWhereItCameFromWithTheRightPrecedence) {
    TempDir dir;
    const std::string system = dir.file("system.conf");
    std::filesystem::create_directories(dir.file("xdg/porthole"));
    const std::string user = dir.file("xdg/porthole/porthole.conf");
    std::ofstream(system) << "scale = \"integer\"\nfilter = \"nearest\"\naudio-latency = 40\n"
                             "fullscreen = true\n";
    std::ofstream(user) << "# mine\nfilter = \"linear\"\nfullscreen = false\n"
                           "evdev-device = [\"/dev/input/event3\", \"/dev/input/event4\"]\n";
    const auto r = run(dir, {"--print-config", "--audio-latency", "25"},
                       {"XDG_CONFIG_HOME=" + dir.file("xdg"), "PORTHOLE_SYSTEM_CONFIG=" + system});
    ASSERT_TRUE(r.code);
    ASSERT_EQ(*r.code, 0) << r.err;
    // Only in the system file: from there.
    EXPECT_NE(config_line(r.out, "scale").find("'integer'"), std::string::npos) << r.out;
    EXPECT_NE(config_line(r.out, "scale").find("# " + system + ":1"), std::string::npos) << r.out;
    // In both files: the user's wins.
    EXPECT_NE(config_line(r.out, "filter").find("'linear'"), std::string::npos) << r.out;
    EXPECT_NE(config_line(r.out, "filter").find("# " + user + ":2"), std::string::npos) << r.out;
    EXPECT_NE(config_line(r.out, "fullscreen").find("false"), std::string::npos) << r.out;
    EXPECT_NE(config_line(r.out, "evdev-device")
                  .find("['/dev/input/event3', '/dev/input/event4']  # " + user + ":4"),
              std::string::npos)
        << r.out;
    // The command line wins over both.
    EXPECT_NE(config_line(r.out, "audio-latency").find("25"), std::string::npos) << r.out;
    EXPECT_NE(config_line(r.out, "audio-latency").find("# command line"), std::string::npos)
        << r.out;
    // Set nowhere: the default.
    EXPECT_NE(config_line(r.out, "mouse").find("'auto'"), std::string::npos) << r.out;
    EXPECT_NE(config_line(r.out, "mouse").find("# default"), std::string::npos) << r.out;
}

TEST(PrintConfig, ItsOutputReadsBackAsAConfigFileWithTheSameValues) {
    TempDir dir;
    const std::string user = dir.file("first.conf");
    std::ofstream(user)
        << "scale = \"stretch\"\ntimeout = 2.5\nshm = \"/dev/shm/it's \\\"odd\\\"\"\n"
           "evdev-device = [\"/dev/input/event3\"]\nstats = true\n"
           "title = \"it's \\\"mine\\\"\"\nwindow-position = \"-5,7\"\nmouse-sensitivity = -2\n";
    const auto first = run(dir, {"--print-config", "--headless", "--config", user});
    ASSERT_TRUE(first.code);
    ASSERT_EQ(*first.code, 0) << first.err;
    std::string values;  // the output without its comments, as a config file
    std::istringstream in(first.out);
    for (std::string line; std::getline(in, line);) {
        if (line.starts_with("#")) continue;
        values += line.substr(0, line.find("  #")) + "\n";
    }
    std::ofstream(dir.file("second.conf")) << values;
    const auto second =
        run(dir, {"--print-config", "--headless", "--config", dir.file("second.conf")});
    ASSERT_TRUE(second.code);
    ASSERT_EQ(*second.code, 0) << second.err;
    for (const std::string key : {"scale", "timeout", "shm", "evdev-device", "stats", "mouse",
                                  "title", "window-position", "mouse-sensitivity"}) {
        const auto a = config_line(first.out, key), b = config_line(second.out, key);
        EXPECT_EQ(a.substr(0, a.find("  #")), b.substr(0, b.find("  #"))) << key;
    }
    EXPECT_NE(config_line(first.out, "shm").find("odd"), std::string::npos) << first.out;
    EXPECT_NE(config_line(second.out, "title").find("mine"), std::string::npos) << second.out;
}

// The window and mouse options: each set in the config file, the command
// line winning over it, the short options as their long names.
TEST(PrintConfig, WindowOptionsComeFromTheFileAndTheCommandLineWins) {
    TempDir dir;
    const std::string conf = dir.file("porthole.conf");
    std::ofstream(conf) << "borderless = true\nwindow-position = \"10,20\"\ntitle = \"from file\"\n"
                           "allow-screensaver = true\nhide-cursor = true\nmouse-sensitivity = -3\n"
                           "ignore-windows-keys = true\n";
    auto r = run(dir, {"--print-config", "--config", conf});
    ASSERT_TRUE(r.code);
    ASSERT_EQ(*r.code, 0) << r.err;
    for (const auto& [key, value, line] : {std::tuple{"borderless", "true", 1},
                                           {"window-position", "'10,20'", 2},
                                           {"title", "'from file'", 3},
                                           {"allow-screensaver", "true", 4},
                                           {"hide-cursor", "true", 5},
                                           {"mouse-sensitivity", "-3", 6},
                                           {"ignore-windows-keys", "true", 7}}) {
        const auto l = config_line(r.out, key);
        EXPECT_NE(l.find(std::string(" = ") + value), std::string::npos) << l;
        EXPECT_NE(l.find("# " + conf + ":" + std::to_string(line)), std::string::npos) << l;
    }
    r = run(dir, {"--print-config", "--config", conf, "--window-position=-1920,0", "--title",
                  "from the command line", "--mouse-sensitivity", "4"});
    ASSERT_TRUE(r.code);
    ASSERT_EQ(*r.code, 0) << r.err;
    for (const auto& [key, value] : {std::pair{"window-position", "'-1920,0'"},
                                     {"title", "'from the command line'"},
                                     {"mouse-sensitivity", "4"}}) {
        const auto l = config_line(r.out, key);
        EXPECT_NE(l.find(std::string(" = ") + value + " "), std::string::npos) << l;
        EXPECT_NE(l.find("# command line"), std::string::npos) << l;
    }
    EXPECT_NE(config_line(r.out, "borderless").find("# " + conf + ":1"), std::string::npos);
}

TEST(PrintConfig, WindowOptionDefaultsAndTheTitleNamingTheRegion) {
    TempDir dir;
    const auto r = run(dir, {"--print-config", "--shm", "/dev/kvmfr0"});
    ASSERT_TRUE(r.code);
    ASSERT_EQ(*r.code, 0) << r.err;
    const auto title = config_line(r.out, "title");
    EXPECT_TRUE(title.starts_with("title = 'porthole (/dev/kvmfr0)' ")) << title;
    EXPECT_TRUE(title.ends_with("# default")) << title;
    for (const char* flag :
         {"fullscreen", "borderless", "allow-screensaver", "hide-cursor", "ignore-windows-keys"})
        EXPECT_NE(config_line(r.out, flag).find("= false"), std::string::npos) << flag;
    EXPECT_NE(config_line(r.out, "mouse-sensitivity").find("= 0 "), std::string::npos) << r.out;
    EXPECT_NE(config_line(r.out, "window-position").find("= ''"), std::string::npos) << r.out;
}

// --set-guest-res: off unless asked, from the config file or the command line.
TEST(PrintConfig, SetGuestResIsOffByDefaultAndComesFromTheFile) {
    TempDir dir;
    auto r = run(dir, {"--print-config", "--config", ""});
    ASSERT_TRUE(r.code);
    ASSERT_EQ(*r.code, 0) << r.err;
    EXPECT_TRUE(config_line(r.out, "set-guest-res").starts_with("set-guest-res = false ")) << r.out;
    EXPECT_TRUE(config_line(r.out, "set-guest-res").ends_with("# default")) << r.out;
    const std::string conf = dir.file("porthole.conf");
    std::ofstream(conf) << "set-guest-res = true\n";
    r = run(dir, {"--print-config", "--config", conf});
    ASSERT_TRUE(r.code);
    ASSERT_EQ(*r.code, 0) << r.err;
    EXPECT_TRUE(config_line(r.out, "set-guest-res").starts_with("set-guest-res = true ")) << r.out;
    EXPECT_TRUE(config_line(r.out, "set-guest-res").ends_with("# " + conf + ":1")) << r.out;
    r = run(dir, {"--print-config", "--config", "", "--set-guest-res"});
    ASSERT_TRUE(r.code);
    EXPECT_TRUE(config_line(r.out, "set-guest-res").ends_with("# command line")) << r.out;
}

// --ui-scale: auto (from the desktop) unless set; a number in the file
// prints bare, so that --print-config's output reads back.
TEST(PrintConfig, UiScaleIsAutoByDefaultAndComesFromTheFile) {
    TempDir dir;
    auto r = run(dir, {"--print-config", "--config", ""});
    ASSERT_TRUE(r.code);
    ASSERT_EQ(*r.code, 0) << r.err;
    EXPECT_TRUE(config_line(r.out, "ui-scale").starts_with("ui-scale = 'auto' ")) << r.out;
    EXPECT_TRUE(config_line(r.out, "ui-scale").ends_with("# default")) << r.out;
    const std::string conf = dir.file("porthole.conf");
    std::ofstream(conf) << "ui-scale = 1.5\n";
    r = run(dir, {"--print-config", "--config", conf});
    ASSERT_TRUE(r.code);
    ASSERT_EQ(*r.code, 0) << r.err;
    EXPECT_TRUE(config_line(r.out, "ui-scale").starts_with("ui-scale = 1.5 ")) << r.out;
    EXPECT_TRUE(config_line(r.out, "ui-scale").ends_with("# " + conf + ":1")) << r.out;
    r = run(dir, {"--print-config", "--config", conf, "--ui-scale", "2"});
    ASSERT_TRUE(r.code);
    ASSERT_EQ(*r.code, 0) << r.err;
    EXPECT_TRUE(config_line(r.out, "ui-scale").starts_with("ui-scale = 2 ")) << r.out;
    EXPECT_TRUE(config_line(r.out, "ui-scale").ends_with("# command line")) << r.out;
}

// --usb: a list in the config file, the command line's list replacing it,
// and a bad device or a missing --qmp refused with exit 2 as bad options are.
TEST(PrintConfig, UsbDevicesComeFromTheFileAndTheCommandLineWins) {
    TempDir dir;
    const std::string conf = dir.file("porthole.conf");
    std::ofstream(conf) << "qmp = \"unix:/run/vm.qmp\"\nusb = [\"046d:c52b\", \"3-1.2\"]\n";
    const auto has = [](const std::string& line, const std::string& value,
                        const std::string& origin) {
        return line.starts_with("usb = " + value + " ") && line.ends_with("# " + origin);
    };
    auto r = run(dir, {"--print-config", "--config", conf});
    ASSERT_TRUE(r.code);
    ASSERT_EQ(*r.code, 0) << r.err;
    EXPECT_TRUE(has(config_line(r.out, "usb"), "['046d:c52b', '3-1.2']", conf + ":2")) << r.out;
    r = run(dir, {"--print-config", "--config", conf, "--usb", "045e:028e"});
    ASSERT_TRUE(r.code);
    ASSERT_EQ(*r.code, 0) << r.err;
    EXPECT_TRUE(has(config_line(r.out, "usb"), "['045e:028e']", "command line")) << r.out;
    r = run(dir, {"--print-config"});
    ASSERT_TRUE(r.code);
    EXPECT_TRUE(has(config_line(r.out, "usb"), "[]", "default")) << r.out;
    for (const auto& args : {std::vector<std::string>{"--headless", "--usb", "c52b"},
                             std::vector<std::string>{"--headless", "--usb", "046d:c52b"}}) {
        r = run(dir, args);
        ASSERT_TRUE(r.code) << r.err;
        EXPECT_EQ(*r.code, 2) << r.err;
    }
}

// --capture-on-start and --capture-on-focus: from the config file, the
// command line winning; refused (exit 2, naming why) without window input.
TEST(PrintConfig, CaptureOptionsComeFromTheFileAndNeedWindowInput) {
    TempDir dir;
    const std::string conf = dir.file("porthole.conf");
    std::ofstream(conf) << "capture-on-start = true\ncapture-on-focus = true\n";
    auto r = run(dir, {"--print-config", "--config", conf});
    ASSERT_TRUE(r.code);
    ASSERT_EQ(*r.code, 0) << r.err;
    EXPECT_TRUE(config_line(r.out, "capture-on-start").starts_with("capture-on-start = true "));
    EXPECT_TRUE(config_line(r.out, "capture-on-start").ends_with("# " + conf + ":1")) << r.out;
    EXPECT_TRUE(config_line(r.out, "capture-on-focus").ends_with("# " + conf + ":2")) << r.out;
    r = run(dir, {"--print-config", "--config", "", "--capture-on-focus"});
    ASSERT_TRUE(r.code);
    ASSERT_EQ(*r.code, 0) << r.err;
    EXPECT_TRUE(config_line(r.out, "capture-on-start").starts_with("capture-on-start = false "))
        << r.out;
    EXPECT_TRUE(config_line(r.out, "capture-on-start").ends_with("# default")) << r.out;
    EXPECT_TRUE(config_line(r.out, "capture-on-focus").ends_with("# command line")) << r.out;
    for (const auto& args : {std::vector<std::string>{"--headless", "--capture-on-start"},
                             std::vector<std::string>{"--input", "evdev", "--capture-on-focus"},
                             std::vector<std::string>{"--input", "none", "--config", conf}}) {
        r = run(dir, args);
        ASSERT_TRUE(r.code) << r.err;
        EXPECT_EQ(*r.code, 2) << r.err;
        EXPECT_NE(r.err.find("it needs --input window"), std::string::npos) << r.err;
    }
}

TEST(ShortOptions, FullscreenBorderlessAndHideCursor) {
    TempDir dir;
    for (const auto& [flag, key] : {std::pair{"-f", "fullscreen"},
                                    {"-F", "fullscreen"},
                                    {"-d", "borderless"},
                                    {"-M", "hide-cursor"}}) {
        const auto r = run(dir, {"--print-config", flag});
        ASSERT_TRUE(r.code);
        ASSERT_EQ(*r.code, 0) << flag << ": " << r.err;
        EXPECT_NE(config_line(r.out, key).find("= true"), std::string::npos) << flag;
        EXPECT_NE(config_line(r.out, key).find("# command line"), std::string::npos) << flag;
    }
}

TEST(ConfigLog, SaysWhichFilesWereRead) {
    TempDir dir;
    const std::string system = dir.file("system.conf");
    std::ofstream(system) << "log-level = \"info\"\n";
    const auto r =
        run(dir, {"--headless", "--shm", dir.file("dir-missing/region")},
            {"XDG_CONFIG_HOME=" + dir.file("no-config"), "PORTHOLE_SYSTEM_CONFIG=" + system});
    ASSERT_TRUE(r.code);
    EXPECT_NE(r.err.find("config: read " + system), std::string::npos) << r.err;
}

TEST(Timeout, CoversTheWaitForTheVm) {
    TempDir dir;
    const auto start = std::chrono::steady_clock::now();
    const auto r = run(dir, {"--headless", "--shm", dir.file("region-not-yet"), "--timeout", "1"});
    ASSERT_TRUE(r.code) << "still waiting after 5 s: " << r.err;
    EXPECT_EQ(*r.code, 3) << r.err;
    EXPECT_NE(r.err.find("timed out after 1 s waiting for " + dir.file("region-not-yet")),
              std::string::npos)
        << r.err;
    EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);
}

// A region no agent can lay out: the client says at once what size it needs
// and where the VM sets it, instead of waiting for an agent that has exited.
class RegionTooSmall : public ::testing::TestWithParam<std::size_t> {};

TEST_P(RegionTooSmall, SaysTheSizeNeededAndWhereToSetIt) {
    TempDir dir;
    const std::string region = dir.file("porthole");
    std::filesystem::resize_file((std::ofstream(region), region), GetParam());
    const auto r = run(dir, {"--headless", "--shm", region});
    ASSERT_TRUE(r.code) << "still waiting after 5 s: " << r.err;
    EXPECT_EQ(*r.code, 1) << r.err;
    EXPECT_NE(r.err.find(region + " holds " + std::to_string(GetParam()) + " bytes"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("needs 32 MiB for a 1920x1080 desktop"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("mem-path=" + region + ",size=32M"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("<size unit='M'>32</size>"), std::string::npos) << r.err;
    // The command named is one porthole-vfio has.
    EXPECT_NE(r.err.find("porthole-vfio libvirt snippets"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find(" 0 MiB"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("waiting for"), std::string::npos) << r.err;
}

INSTANTIATE_TEST_SUITE_P(Sizes, RegionTooSmall,
                         ::testing::Values(std::size_t{1000}, std::size_t{4096},
                                           std::size_t{1} << 20),
                         [](const auto& p) { return std::to_string(p.param) + "Bytes"; });

// A region file the user may not write: QEMU made it 0644 as itself. A udev
// rule cannot reach a file, so the fix named is porthole-vfio's tmpfiles.d rule.
TEST(RegionPermission, AFileNamesTheTmpfilesRuleNotUdev) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to run the client as another user";
    TempDir dir;
    ::chmod(dir.file("").c_str(), 0755);  // mkdtemp's 0700 would refuse the folder instead
    const std::string region = dir.file("porthole");
    std::filesystem::resize_file((std::ofstream(region), region), std::size_t{32} << 20);
    ::chmod(region.c_str(), 0644);
    Process p({"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
               PORTHOLE_CLIENT, "--headless", "--config", "", "--shm", region},
              dir.file("out"), dir.file("err"), {"PORTHOLE_SYSTEM_CONFIG="});
    const auto code = p.wait_exit(5s);
    const std::string err = read_text(dir.file("err"));
    ASSERT_TRUE(code) << err;
    EXPECT_EQ(*code, 1) << err;
    EXPECT_NE(err.find("Permission denied"), std::string::npos) << err;
    EXPECT_NE(err.find("sudo porthole-vfio region --user $USER --path " + region),
              std::string::npos)
        << err;
    EXPECT_EQ(err.find("udev"), std::string::npos) << err;
}

// --input-to qmp with no socket at the path: said at once, with QEMU's -qmp
// option, instead of reconnecting in silence. In a window on Xvfb (window
// input is what QMP carries), over a region no agent writes yet.
TEST(QmpSocket, AMissingSocketIsSaidWithTheQemuOption) {
    TempDir dir;
    porthole::test::Xvfb xvfb;
    ASSERT_FALSE(xvfb.display().empty()) << "Xvfb did not start";
    const std::string region = dir.file("porthole");
    std::filesystem::resize_file((std::ofstream(region), region), std::size_t{32} << 20);
    const std::string socket = dir.file("vm.qmp");
    Process p({PORTHOLE_CLIENT, "--config", "", "--shm", region, "--input-to", "qmp", "--qmp",
               "unix:" + socket, "--audio", "off"},
              dir.file("out"), dir.file("err"),
              {"DISPLAY=" + xvfb.display(), "PORTHOLE_SYSTEM_CONFIG="});
    const std::string want = "QMP socket " + socket +
                             " does not exist: start QEMU with -qmp unix:" + socket +
                             ",server=on,wait=off";
    std::string err;
    for (int i = 0; i < 100 && err.find(want) == std::string::npos && p.running(); ++i) {
        std::this_thread::sleep_for(100ms);
        err = read_text(dir.file("err"));
    }
    EXPECT_NE(err.find(want), std::string::npos) << err;
    EXPECT_TRUE(p.running()) << "the client waits for the socket, it does not exit: " << err;
}

// No display at all: said as such, with --headless, instead of SDL's
// offscreen driver failing in a way that blames the Vulkan packages.
TEST(NoDisplay, SaysNeitherVariableIsSetAndSuggestsHeadless) {
    TempDir dir;
    const std::string region = dir.file("porthole");
    std::filesystem::resize_file((std::ofstream(region), region), std::size_t{32} << 20);
    Process p({PORTHOLE_CLIENT, "--config", "", "--shm", region, "--audio", "off"}, dir.file("out"),
              dir.file("err"),
              {"DISPLAY=", "WAYLAND_DISPLAY=", "SDL_VIDEODRIVER=", "PORTHOLE_SYSTEM_CONFIG="});
    const auto code = p.wait_exit(10s);
    const std::string err = read_text(dir.file("err"));
    ASSERT_TRUE(code) << err;
    EXPECT_EQ(*code, 1) << err;
    EXPECT_NE(err.find("no display: neither $DISPLAY nor $WAYLAND_DISPLAY is set"),
              std::string::npos)
        << err;
    EXPECT_NE(err.find("--headless"), std::string::npos) << err;
    EXPECT_EQ(err.find("libvulkan1"), std::string::npos) << err;
}

// DISPLAY set to a server that is not there: said as such (not "unset"),
// naming the value, instead of SDL's offscreen driver failing later.
TEST(NoDisplay, ASetButUnreachableDisplayIsNamedAsNotRunning) {
    TempDir dir;
    const std::string region = dir.file("porthole");
    std::filesystem::resize_file((std::ofstream(region), region), std::size_t{32} << 20);
    Process p({PORTHOLE_CLIENT, "--config", "", "--shm", region, "--audio", "off"}, dir.file("out"),
              dir.file("err"),
              {"DISPLAY=:4711", "WAYLAND_DISPLAY=", "SDL_VIDEODRIVER=", "PORTHOLE_SYSTEM_CONFIG="});
    const auto code = p.wait_exit(10s);
    const std::string err = read_text(dir.file("err"));
    ASSERT_TRUE(code) << err;
    EXPECT_EQ(*code, 1) << err;
    EXPECT_NE(err.find("cannot open the display (DISPLAY=':4711'"), std::string::npos) << err;
    EXPECT_NE(err.find("not running or refused"), std::string::npos) << err;
    EXPECT_EQ(err.find("is set"), std::string::npos) << err;
    EXPECT_NE(err.find("--headless"), std::string::npos) << err;
}

// No PipeWire daemon for this user: said as such, with how to start it, and
// the client goes on showing the guest (headless here) without audio.
TEST(NoPipeWire, SaysItIsNotRunningAndHowToStartItAndGoesOn) {
    TempDir dir;
    std::filesystem::create_directories(dir.file("runtime"));
    ::chmod(dir.file("runtime").c_str(), 0700);
    const std::string region = dir.file("porthole");
    std::filesystem::resize_file((std::ofstream(region), region), std::size_t{32} << 20);
    Process p(
        {PORTHOLE_CLIENT, "--config", "", "--headless", "--shm", region, "--audio", "on"},
        dir.file("out"), dir.file("err"),
        {"XDG_RUNTIME_DIR=" + dir.file("runtime"), "PIPEWIRE_REMOTE=", "PORTHOLE_SYSTEM_CONFIG="});
    const std::string want = "PipeWire is not running for this user";
    std::string err;
    for (int i = 0; i < 100 && err.find(want) == std::string::npos && p.running(); ++i) {
        std::this_thread::sleep_for(100ms);
        err = read_text(dir.file("err"));
    }
    EXPECT_NE(err.find(want), std::string::npos) << err;
    EXPECT_NE(err.find("systemctl --user start pipewire"), std::string::npos) << err;
    EXPECT_NE(err.find("the video continues without audio"), std::string::npos) << err;
    EXPECT_EQ(err.find("Host is down"), std::string::npos) << err;
    EXPECT_TRUE(p.running()) << "the client stopped: " << err;
}

}  // namespace
