// porthole-agent's service verbs, command-line quoting (checked against
// Windows' own parser) and the SCM calls against Wine's service manager.
#include <gtest/gtest.h>

#include <windows.h>
// after windows.h
#include <shellapi.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "win/service.hpp"

using namespace porthole::agent::service;

namespace {
Command parse(std::vector<std::string_view> args) {
    auto c = parse_command(std::span<const std::string_view>(args));
    EXPECT_TRUE(c) << c.error().message;
    return c ? *c : Command{};
}
// What CommandLineToArgvW makes of a command line, as UTF-8.
std::vector<std::string> split(const std::string& cmd) {
    std::wstring w(cmd.begin(), cmd.end());
    int n = 0;
    LPWSTR* argv = CommandLineToArgvW(w.c_str(), &n);
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) {
        std::wstring a(argv[i]);
        out.emplace_back(a.begin(), a.end());  // test strings are ASCII
    }
    LocalFree(argv);
    return out;
}
}  // namespace

TEST(AgentService, NoVerbRunsTheAgentNormally) {
    EXPECT_EQ(parse({}).action, Action::none);
    EXPECT_EQ(parse({"--capture", "dxgi"}).action, Action::none);
}

TEST(AgentService, InstallKeepsTheAgentOptions) {
    const auto c = parse({"install", "--capture", "gdi", "--fps-limit", "30"});
    EXPECT_EQ(c.action, Action::install);
    EXPECT_EQ(c.agent_args, (std::vector<std::string>{"--capture", "gdi", "--fps-limit", "30"}));
}

TEST(AgentService, UninstallAndServiceVerbs) {
    EXPECT_EQ(parse({"uninstall"}).action, Action::uninstall);
    const auto run = parse({"service", "--capture", "auto"});
    EXPECT_EQ(run.action, Action::run);
    EXPECT_EQ(run.agent_args, (std::vector<std::string>{"--capture", "auto"}));
}

TEST(AgentService, MisplacedVerbsAreErrors) {
    std::vector<std::string_view> a{"uninstall", "--capture", "gdi"};
    EXPECT_FALSE(parse_command(std::span<const std::string_view>(a)));
    std::vector<std::string_view> b{"install", "uninstall"};
    EXPECT_FALSE(parse_command(std::span<const std::string_view>(b)));
}

TEST(AgentService, ArgcArgvOverloadSkipsTheProgramName) {
    char prog[] = "porthole-agent.exe", verb[] = "install", opt[] = "--frames";
    char* argv[] = {prog, verb, opt};
    auto c = parse_command(3, argv);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->action, Action::install);
    EXPECT_EQ(c->agent_args, std::vector<std::string>{"--frames"});
}

TEST(AgentService, QuotedArgumentsSurviveWindowsCommandLineParsing) {
    const std::vector<std::string> args{"plain",
                                        "with space",
                                        "",
                                        "quote\"inside",
                                        "trailing\\",
                                        "back\\\\slashes\\\"quote",
                                        "C:\\Program Files\\x\\",
                                        "tab\there"};
    const auto cmd = build_command_line("C:\\Program Files\\Porthole\\porthole-agent.exe", args);
    const auto got = split(cmd);
    ASSERT_EQ(got.size(), args.size() + 1) << cmd;
    EXPECT_EQ(got[0], "C:\\Program Files\\Porthole\\porthole-agent.exe");
    for (std::size_t i = 0; i < args.size(); ++i)
        EXPECT_EQ(got[i + 1], args[i]) << cmd;
}

TEST(AgentService, ProgramPathIsAlwaysQuoted) {
    const std::vector<std::string> none;
    EXPECT_EQ(build_command_line("C:\\agent.exe", none), "\"C:\\agent.exe\"");
    EXPECT_EQ(quote_argument("simple"), "simple");
    EXPECT_EQ(quote_argument(""), "\"\"");
}

TEST(AgentService, InstallQueryUninstallWithTheServiceManager) {
    const std::wstring name = L"PortholeAgentTest" + std::to_wstring(GetCurrentProcessId());
    InstallOptions o;
    o.name = name;
    o.executable = "C:\\Program Files\\Porthole\\porthole-agent.exe";
    o.agent_args = {"--capture", "gdi"};
    o.start = false;
    (void)uninstall(name);  // the Wine prefix outlives a run that stopped half-way
    auto ok = install(o);
    ASSERT_TRUE(ok) << ok.error().message;
    auto q = query(name);
    ASSERT_TRUE(q) << q.error().message;
    EXPECT_EQ(q->start_type, static_cast<unsigned long>(SERVICE_AUTO_START));
    EXPECT_EQ(q->command_line,
              "\"C:\\Program Files\\Porthole\\porthole-agent.exe\" service --capture gdi");
    auto again = install(o);
    ASSERT_FALSE(again);
    EXPECT_NE(again.error().message.find("uninstall"), std::string::npos) << again.error().message;
    auto removed = uninstall(name);
    EXPECT_TRUE(removed) << removed.error().message;
    EXPECT_FALSE(query(name));
    auto twice = uninstall(name);
    ASSERT_FALSE(twice);
    EXPECT_NE(twice.error().message.find("not installed"), std::string::npos)
        << twice.error().message;
}

TEST(AgentService, LogGoesToAFileNextToTheExecutable) {
    const std::string file = "win_agent_tests-" + std::to_string(GetCurrentProcessId()) + ".log";
    const std::string path = path_next_to_executable(file);
    EXPECT_NE(path.find(file), std::string::npos);
    EXPECT_NE(path.find("win_agent_tests"), std::string::npos);
    auto previous = spdlog::default_logger();
    setup_logging(file);
    spdlog::info("service log line {}", 42);
    spdlog::default_logger()->flush();
    spdlog::set_default_logger(previous);  // closes the file sink
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    in.close();
    EXPECT_NE(text.str().find("service log line 42"), std::string::npos) << text.str();
    DeleteFileA(path.c_str());
}

TEST(AgentService, StopEventEndsTheAgentCleanly) {
    const std::wstring name = L"Local\\PortholeStopTest" + std::to_wstring(GetCurrentProcessId());
    HANDLE ev = CreateEventW(nullptr, TRUE, FALSE, name.c_str());
    ASSERT_NE(ev, nullptr);
    std::atomic<bool> stop{false};
    const std::string narrow_name(name.begin(), name.end());
    auto watch = watch_stop_event(narrow_name, stop);
    ASSERT_TRUE(watch) << watch.error().message;
    Sleep(150);
    EXPECT_FALSE(stop.load()) << "not before the event is set";
    SetEvent(ev);
    for (int i = 0; i < 100 && !stop.load(); ++i)
        Sleep(10);
    EXPECT_TRUE(stop.load());
    CloseHandle(ev);
}

TEST(AgentService, MissingStopEventIsAnError) {
    std::atomic<bool> stop{false};
    auto watch = watch_stop_event("Local\\PortholeNoSuchEvent", stop);
    ASSERT_FALSE(watch);
    EXPECT_NE(watch.error().message.find("PortholeNoSuchEvent"), std::string::npos);
}
