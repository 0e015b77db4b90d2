#pragma once
// porthole-agent as a Windows service, the Looking Glass way: the service runs
// as SYSTEM in session 0 and starts the capture agent in the active console
// session with its own SYSTEM token (moved into that session), so the agent
// can also capture the login screen and UAC's secure desktop. It restarts the
// agent when it exits or when the console session changes.
//
//   porthole-agent install [agent options...]   register (auto start) and start
//   porthole-agent uninstall                    stop and remove
//   porthole-agent service [agent options...]   what the SCM runs

#include <atomic>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "porthole/util/result.hpp"

namespace porthole::agent::service {

inline constexpr std::wstring_view kServiceName = L"PortholeAgent";
inline constexpr std::wstring_view kDisplayName = L"Porthole guest agent";
// The event the service sets to ask the agent it started to stop cleanly
// (the agent's --stop-event); Global\ so that session 0 and the console
// session share it.
inline constexpr std::wstring_view kAgentStopEvent = L"Global\\PortholeAgentStop";

enum class Action { none, install, uninstall, run };

struct Command {
    Action action = Action::none;
    std::vector<std::string> agent_args;  // passed on to the capture agent
};

// Recognises the service verbs in argv[1]; Action::none means "run the agent
// normally". Errors for verbs given options they do not take.
Result<Command> parse_command(std::span<const std::string_view> args_after_program);
Result<Command> parse_command(int argc, char** argv);

// One argument quoted for CommandLineToArgvW / the MSVC runtime's parser.
std::string quote_argument(std::string_view arg);
// "exe" arg1 arg2..., each quoted as needed.
std::string build_command_line(std::string_view exe, std::span<const std::string> args);

struct InstallOptions {
    std::wstring name{kServiceName};
    std::string executable;  // empty: this program
    std::vector<std::string> agent_args;
    bool start = true;
};
// Registers the service (auto start, restart on failure) and optionally starts it.
Status install(const InstallOptions& options);
// Stops the service if it runs and removes it.
Status uninstall(std::wstring_view name = kServiceName);

// The installed service's start type and command line (tests, diagnostics).
struct InstalledService {
    unsigned long start_type = 0;  // SERVICE_AUTO_START, ...
    std::string command_line;
};
Result<InstalledService> query(std::wstring_view name = kServiceName);

// Full path of `file_name` in this executable's folder.
std::string path_next_to_executable(std::string_view file_name);
// Logs to `file_name` next to the executable and to OutputDebugString.
void setup_logging(std::string_view file_name);

// The agent's side of kAgentStopEvent: opens the named event and sets
// `stop` once it is signalled (until the returned thread is stopped).
Result<std::jthread> watch_stop_event(std::string_view name, std::atomic<bool>& stop);

// Runs the command: install/uninstall print the outcome, run blocks in the
// service dispatcher until the SCM stops the service. Returns the exit code.
int execute(const Command& command);

}  // namespace porthole::agent::service
