#include "win/service.hpp"

#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
// after windows.h
#include <userenv.h>
#include <wtsapi32.h>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/msvc_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <utility>

#include "capture/win/win_handles.hpp"
#include "win/restart_policy.hpp"
#include "win/utf16.hpp"

namespace porthole::agent::service {

using agent::win::UniqueHandle;
using agent::win::win32_message;

namespace {

using win::narrow;
using win::widen;

std::string executable_path() {
    std::wstring buf(MAX_PATH, L'\0');
    for (;;) {
        const DWORD n = GetModuleFileNameW(nullptr, buf.data(), static_cast<DWORD>(buf.size()));
        if (n < buf.size()) {
            buf.resize(n);
            return narrow(buf);
        }
        buf.resize(buf.size() * 2);
    }
}

// An SC_HANDLE, closed once.
class ScHandle {
  public:
    explicit ScHandle(SC_HANDLE h = nullptr) : h_(h) {}
    ScHandle(ScHandle&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
    ScHandle(const ScHandle&) = delete;
    ScHandle& operator=(const ScHandle&) = delete;
    ScHandle& operator=(ScHandle&&) = delete;
    ~ScHandle() {
        if (h_ != nullptr) CloseServiceHandle(h_);
    }
    [[nodiscard]] SC_HANDLE get() const { return h_; }
    explicit operator bool() const { return h_ != nullptr; }

  private:
    SC_HANDLE h_;
};

Result<ScHandle> open_manager(DWORD access) {
    ScHandle m(OpenSCManagerW(nullptr, nullptr, access));
    if (!m) {
        const DWORD err = GetLastError();
        return Error::make(
            "cannot open the service control manager: " + win32_message(err) +
                (err == ERROR_ACCESS_DENIED ? "; run from an administrator prompt" : ""),
            static_cast<int>(err));
    }
    return m;
}

}  // namespace

Result<Command> parse_command(std::span<const std::string_view> args) {
    Command c;
    if (args.empty()) return c;
    const std::string_view verb = args.front();
    if (verb == "install")
        c.action = Action::install;
    else if (verb == "uninstall")
        c.action = Action::uninstall;
    else if (verb == "service")
        c.action = Action::run;
    else
        return c;  // not a service verb: the agent's own options
    for (auto a : args.subspan(1))
        c.agent_args.emplace_back(a);
    if (c.action == Action::uninstall && !c.agent_args.empty())
        return Error::make("uninstall takes no options (got " + c.agent_args.front() + ")");
    for (const auto& a : c.agent_args) {
        if (a == "install" || a == "uninstall" || a == "service")
            return Error::make("service verb " + a + " must be the first argument");
    }
    return c;
}

Result<Command> parse_command(int argc, char** argv) {
    std::vector<std::string_view> v;
    for (int i = 1; i < argc; ++i)
        v.emplace_back(argv[i]);
    return parse_command(std::span<const std::string_view>(v));
}

// The MSVC/CommandLineToArgvW rules: backslashes are literal except before a
// quote, where 2n+1 backslashes make n backslashes and a literal quote.
std::string quote_argument(std::string_view arg) {
    if (!arg.empty() && arg.find_first_of(" \t\n\v\"") == std::string_view::npos)
        return std::string(arg);
    std::string out = "\"";
    std::size_t backslashes = 0;
    for (char ch : arg) {
        if (ch == '\\') {
            ++backslashes;
            continue;
        }
        if (ch == '"')
            out.append(backslashes * 2 + 1, '\\');
        else
            out.append(backslashes, '\\');
        backslashes = 0;
        out.push_back(ch);
    }
    out.append(backslashes * 2, '\\');  // they precede the closing quote
    out.push_back('"');
    return out;
}

std::string build_command_line(std::string_view exe, std::span<const std::string> args) {
    std::string s = quote_argument(exe);
    // The program path is always quoted: an unquoted path with spaces is a security hole.
    if (s.front() != '"') {
        s.insert(s.begin(), '"');
        s.push_back('"');
    }
    for (const auto& a : args) {
        s.push_back(' ');
        s += quote_argument(a);
    }
    return s;
}

Status install(const InstallOptions& o) {
    auto manager = open_manager(SC_MANAGER_CREATE_SERVICE);
    if (!manager) return manager.error();
    std::vector<std::string> args{"service"};
    args.insert(args.end(), o.agent_args.begin(), o.agent_args.end());
    const std::string exe = o.executable.empty() ? executable_path() : o.executable;
    const std::wstring cmd = widen(build_command_line(exe, args));
    // Display names are unique too (ERROR_DUPLICATE_SERVICE_NAME): a second service
    // under another name shows that name beside ours.
    std::wstring display(kDisplayName);
    if (o.name != kServiceName) display += L" (" + o.name + L")";
    ScHandle svc(CreateServiceW(manager->get(), o.name.c_str(), display.c_str(), SERVICE_ALL_ACCESS,
                                SERVICE_WIN32_OWN_PROCESS, SERVICE_AUTO_START, SERVICE_ERROR_NORMAL,
                                cmd.c_str(), nullptr, nullptr, nullptr, nullptr /* LocalSystem */,
                                nullptr));
    if (!svc) {
        const DWORD err = GetLastError();
        return Error::make(
            "cannot create service " + narrow(o.name) + ": " + win32_message(err) +
                (err == ERROR_SERVICE_EXISTS ? "; run 'porthole-agent uninstall' first" : ""),
            static_cast<int>(err));
    }
    std::wstring text = L"Captures the desktop into the Porthole shared memory region (IVSHMEM).";
    SERVICE_DESCRIPTIONW desc{text.data()};
    ChangeServiceConfig2W(svc.get(), SERVICE_CONFIG_DESCRIPTION, &desc);
    // Restart after a crash: 1 s, 5 s, then every 30 s; the failure count resets daily.
    SC_ACTION actions[3] = {
        {SC_ACTION_RESTART, 1000}, {SC_ACTION_RESTART, 5000}, {SC_ACTION_RESTART, 30000}};
    SERVICE_FAILURE_ACTIONSW failure{};
    failure.dwResetPeriod = 24 * 3600;
    failure.cActions = 3;
    failure.lpsaActions = actions;
    ChangeServiceConfig2W(svc.get(), SERVICE_CONFIG_FAILURE_ACTIONS, &failure);
    if (o.start && StartServiceW(svc.get(), 0, nullptr) == FALSE) {
        return Error::make("service " + narrow(o.name) +
                           " was installed but did not start: " + win32_message(GetLastError()) +
                           "; see " + path_next_to_executable("porthole-agent-service.log"));
    }
    return {};
}

Status uninstall(std::wstring_view name) {
    auto manager = open_manager(SC_MANAGER_CONNECT);
    if (!manager) return manager.error();
    const std::wstring n(name);
    ScHandle svc(
        OpenServiceW(manager->get(), n.c_str(), SERVICE_STOP | SERVICE_QUERY_STATUS | DELETE));
    if (!svc) {
        const DWORD err = GetLastError();
        return Error::make(
            "cannot open service " + narrow(name) + ": " + win32_message(err) +
                (err == ERROR_SERVICE_DOES_NOT_EXIST ? " (it is not installed)" : ""),
            static_cast<int>(err));
    }
    SERVICE_STATUS status{};
    if (ControlService(svc.get(), SERVICE_CONTROL_STOP, &status) != FALSE) {
        // Wait up to 10 s for the agent to stop so that the binary can be replaced.
        for (int i = 0; i < 100 && status.dwCurrentState != SERVICE_STOPPED; ++i) {
            Sleep(100);
            if (QueryServiceStatus(svc.get(), &status) == FALSE) break;
        }
    }
    if (DeleteService(svc.get()) == FALSE) {
        const DWORD err = GetLastError();
        return Error::make("cannot delete service " + narrow(name) + ": " + win32_message(err),
                           static_cast<int>(err));
    }
    return {};
}

Result<InstalledService> query(std::wstring_view name) {
    auto manager = open_manager(SC_MANAGER_CONNECT);
    if (!manager) return manager.error();
    const std::wstring n(name);
    ScHandle svc(OpenServiceW(manager->get(), n.c_str(), SERVICE_QUERY_CONFIG));
    if (!svc)
        return Error::make("cannot open service " + narrow(name) + ": " +
                           win32_message(GetLastError()));
    DWORD needed = 0;
    QueryServiceConfigW(svc.get(), nullptr, 0, &needed);
    std::vector<std::uint64_t> storage(needed / 8 + 1);
    auto* cfg = reinterpret_cast<QUERY_SERVICE_CONFIGW*>(storage.data());
    if (QueryServiceConfigW(svc.get(), cfg, static_cast<DWORD>(storage.size() * 8), &needed) ==
        FALSE)
        return Error::make("cannot query service " + narrow(name) + ": " +
                           win32_message(GetLastError()));
    return InstalledService{cfg->dwStartType, narrow(cfg->lpBinaryPathName)};
}

std::string path_next_to_executable(std::string_view file_name) {
    std::string exe = executable_path();
    const auto slash = exe.find_last_of("\\/");
    exe.resize(slash == std::string::npos ? 0 : slash + 1);
    return exe + std::string(file_name);
}

void setup_logging(std::string_view file_name) {
    std::vector<spdlog::sink_ptr> sinks;
    sinks.push_back(std::make_shared<spdlog::sinks::msvc_sink_mt>());
    try {
        sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(
            path_next_to_executable(file_name), false));
    } catch (const spdlog::spdlog_ex&) {
        // Read-only install folder: OutputDebugString still works (DebugView).
    }
    auto logger = std::make_shared<spdlog::logger>("porthole", sinks.begin(), sinks.end());
    logger->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [service] [%l] %v");
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(logger);
}

namespace {

// The running service's state, reached from the SCM's callbacks.
struct ServiceState {
    SERVICE_STATUS_HANDLE status_handle = nullptr;
    SERVICE_STATUS status{};
    UniqueHandle stop_event;
    UniqueHandle session_event;
    std::vector<std::string> agent_args;
};
ServiceState* g_service = nullptr;  // the SCM's C callbacks take no context for ServiceMain

void report(DWORD state, DWORD exit_code = NO_ERROR, DWORD wait_hint = 0) {
    auto& s = g_service->status;
    s.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
    s.dwCurrentState = state;
    s.dwWin32ExitCode = exit_code;
    s.dwWaitHint = wait_hint;
    s.dwControlsAccepted =
        state == SERVICE_START_PENDING
            ? 0
            : SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN | SERVICE_ACCEPT_SESSIONCHANGE;
    SetServiceStatus(g_service->status_handle, &s);
}

DWORD WINAPI control_handler(DWORD control, DWORD /*type*/, LPVOID /*data*/, LPVOID context) {
    auto* s = static_cast<ServiceState*>(context);
    switch (control) {
        case SERVICE_CONTROL_STOP:
        case SERVICE_CONTROL_SHUTDOWN:
            report(SERVICE_STOP_PENDING, NO_ERROR, 5000);
            SetEvent(s->stop_event.get());
            return NO_ERROR;
        case SERVICE_CONTROL_SESSIONCHANGE:
            SetEvent(s->session_event.get());
            return NO_ERROR;
        case SERVICE_CONTROL_INTERROGATE:
            return NO_ERROR;
        default:
            return ERROR_CALL_NOT_IMPLEMENTED;
    }
}

// Starts the agent in `session` with this service's SYSTEM token, its output
// appended to porthole-agent.log next to the executable.
Result<UniqueHandle> launch_agent(DWORD session, const std::vector<std::string>& args) {
    UniqueHandle own;
    if (OpenProcessToken(GetCurrentProcess(),
                         TOKEN_DUPLICATE | TOKEN_QUERY | TOKEN_ASSIGN_PRIMARY |
                             TOKEN_ADJUST_DEFAULT | TOKEN_ADJUST_SESSIONID,
                         own.out()) == FALSE)
        return Error::make("OpenProcessToken failed: " + win32_message(GetLastError()));
    UniqueHandle token;
    if (DuplicateTokenEx(own.get(), MAXIMUM_ALLOWED, nullptr, SecurityIdentification, TokenPrimary,
                         token.out()) == FALSE)
        return Error::make("DuplicateTokenEx failed: " + win32_message(GetLastError()));
    // Needs SeTcbPrivilege, which LocalSystem has.
    if (SetTokenInformation(token.get(), TokenSessionId, &session, sizeof(session)) == FALSE)
        return Error::make("cannot move the token to session " + std::to_string(session) + ": " +
                           win32_message(GetLastError()));

    SECURITY_ATTRIBUTES inherit{sizeof(SECURITY_ATTRIBUTES), nullptr, TRUE};
    const std::wstring log_path = widen(path_next_to_executable("porthole-agent.log"));
    UniqueHandle log(CreateFileW(log_path.c_str(), FILE_APPEND_DATA,
                                 FILE_SHARE_READ | FILE_SHARE_WRITE, &inherit, OPEN_ALWAYS,
                                 FILE_ATTRIBUTE_NORMAL, nullptr));
    STARTUPINFOW si{};
    si.cb = sizeof(si);
    std::wstring desktop = L"WinSta0\\Default";
    si.lpDesktop = desktop.data();
    if (log) {
        si.dwFlags = STARTF_USESTDHANDLES;
        si.hStdOutput = si.hStdError = log.get();
        si.hStdInput = nullptr;
    }
    void* env = nullptr;
    CreateEnvironmentBlock(&env, token.get(), FALSE);
    std::wstring cmd = widen(build_command_line(executable_path(), args));
    PROCESS_INFORMATION pi{};
    const BOOL ok =
        CreateProcessAsUserW(token.get(), nullptr, cmd.data(), nullptr, nullptr, log ? TRUE : FALSE,
                             CREATE_NO_WINDOW | CREATE_UNICODE_ENVIRONMENT, env, nullptr, &si, &pi);
    const DWORD err = GetLastError();
    if (env != nullptr) DestroyEnvironmentBlock(env);
    if (ok == FALSE) return Error::make("CreateProcessAsUser failed: " + win32_message(err));
    CloseHandle(pi.hThread);
    return UniqueHandle(pi.hProcess);
}

// CreateProcessAsUser needs SeIncreaseQuotaPrivilege enabled in the caller's
// token (LocalSystem holds it, disabled by default).
void enable_privilege(const wchar_t* name) {
    UniqueHandle token;
    if (OpenProcessToken(GetCurrentProcess(), TOKEN_ADJUST_PRIVILEGES | TOKEN_QUERY, token.out()) ==
        FALSE)
        return;
    TOKEN_PRIVILEGES tp{};
    tp.PrivilegeCount = 1;
    tp.Privileges[0].Attributes = SE_PRIVILEGE_ENABLED;
    if (LookupPrivilegeValueW(nullptr, name, &tp.Privileges[0].Luid) == FALSE) return;
    if (AdjustTokenPrivileges(token.get(), FALSE, &tp, 0, nullptr, nullptr) == FALSE ||
        GetLastError() == ERROR_NOT_ALL_ASSIGNED)
        spdlog::warn("cannot enable {}: {}", narrow(name), win32_message(GetLastError()));
}

// Asks the agent to end through its stop event, so it withdraws its session
// from the region (the host sees "agent stopped", not a dead heartbeat);
// TerminateProcess only if it does not exit in time.
void stop_agent(HANDLE child, HANDLE stop_event) {
    if (stop_event != nullptr) SetEvent(stop_event);
    if (WaitForSingleObject(child, 5000) == WAIT_OBJECT_0) return;
    spdlog::warn("the agent did not stop within 5 s; terminating it");
    TerminateProcess(child, 1);
    WaitForSingleObject(child, 5000);
}

void supervise(ServiceState& s) {
    enable_privilege(L"SeIncreaseQuotaPrivilege");
    // Named so that the agent, started in another session, can open it.
    UniqueHandle agent_stop(CreateEventW(nullptr, TRUE, FALSE, kAgentStopEvent.data()));
    if (!agent_stop)
        spdlog::warn("cannot create the agent's stop event: {}", win32_message(GetLastError()));
    std::vector<std::string> args = s.agent_args;
    if (agent_stop) {
        args.emplace_back("--stop-event");
        args.emplace_back(narrow(kAgentStopEvent));
    }
    RestartPolicy policy;
    UniqueHandle child;
    DWORD child_session = 0xFFFFFFFF;
    auto started = std::chrono::steady_clock::now();
    auto retry_delay = policy.next_delay();
    bool given_up = false;  // a configuration error: wait for the stop only
    for (;;) {
        const DWORD session = WTSGetActiveConsoleSessionId();
        if (child && session != child_session) {
            spdlog::info("console session changed {} -> {}: restarting the agent", child_session,
                         session);
            stop_agent(child.get(), agent_stop.get());
            child.reset();
        }
        if (!child && !given_up && session != 0xFFFFFFFF) {
            if (agent_stop) ResetEvent(agent_stop.get());
            auto launched = launch_agent(session, args);
            if (launched) {
                child = std::move(*launched);
                child_session = session;
                started = std::chrono::steady_clock::now();
                spdlog::info("agent started in session {} (pid {})", session,
                             GetProcessId(child.get()));
            } else {
                retry_delay = policy.on_launch_failure();
                spdlog::error("cannot start the agent in session {}: {}; retrying in {} ms",
                              session, launched.error().message, retry_delay.count());
            }
        }
        HANDLE waits[3] = {s.stop_event.get(), s.session_event.get(), child.get()};
        const DWORD count = child ? 3 : 2;
        const DWORD timeout =
            child || given_up ? INFINITE : static_cast<DWORD>(retry_delay.count());
        const DWORD r = WaitForMultipleObjects(count, waits, FALSE, timeout);
        if (r == WAIT_OBJECT_0) break;
        if (r == WAIT_OBJECT_0 + 2) {
            DWORD code = 0;
            GetExitCodeProcess(child.get(), &code);
            child.reset();
            const auto ran = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - started);
            const auto d = policy.on_exit(code, ran);
            if (!d.restart) {
                spdlog::error("{}", d.message);
                given_up = true;
                continue;
            }
            spdlog::warn("{}", d.message);
            if (WaitForSingleObject(s.stop_event.get(), static_cast<DWORD>(d.delay.count())) ==
                WAIT_OBJECT_0)
                break;
        }
    }
    if (child) stop_agent(child.get(), agent_stop.get());
}

void WINAPI service_main(DWORD /*argc*/, LPWSTR* /*argv*/) {
    auto& s = *g_service;
    s.status_handle =
        RegisterServiceCtrlHandlerExW(std::wstring(kServiceName).c_str(), control_handler, &s);
    if (s.status_handle == nullptr) {
        spdlog::error("RegisterServiceCtrlHandlerEx failed: {}", win32_message(GetLastError()));
        return;
    }
    report(SERVICE_START_PENDING, NO_ERROR, 3000);
    s.stop_event.reset(CreateEventW(nullptr, TRUE, FALSE, nullptr));
    s.session_event.reset(CreateEventW(nullptr, FALSE, FALSE, nullptr));
    if (!s.stop_event || !s.session_event) {
        report(SERVICE_STOPPED, GetLastError());
        return;
    }
    report(SERVICE_RUNNING);
    spdlog::info("service running");
    supervise(s);
    spdlog::info("service stopped");
    report(SERVICE_STOPPED);
}

}  // namespace

Result<std::jthread> watch_stop_event(std::string_view name, std::atomic<bool>& stop) {
    const std::wstring wname = widen(std::string(name));
    UniqueHandle event(OpenEventW(SYNCHRONIZE, FALSE, wname.c_str()));
    if (!event)
        return Error::make("cannot open the stop event " + std::string(name) + ": " +
                           win32_message(GetLastError()));
    return std::jthread([ev = std::move(event), &stop](std::stop_token token) {
        while (!token.stop_requested()) {
            if (WaitForSingleObject(ev.get(), 100) == WAIT_OBJECT_0) {
                stop.store(true);
                return;
            }
        }
    });
}

int execute(const Command& command) {
    switch (command.action) {
        case Action::none:
            return 0;
        case Action::install: {
            InstallOptions o;
            o.agent_args = command.agent_args;
            if (auto ok = install(o); !ok) {
                spdlog::error("{}", ok.error().message);
                return 1;
            }
            spdlog::info("installed and started service {}", narrow(kServiceName));
            return 0;
        }
        case Action::uninstall:
            if (auto ok = uninstall(); !ok) {
                spdlog::error("{}", ok.error().message);
                return 1;
            }
            spdlog::info("removed service {}", narrow(kServiceName));
            return 0;
        case Action::run: {
            setup_logging("porthole-agent-service.log");
            ServiceState state;
            state.agent_args = command.agent_args;
            g_service = &state;
            std::wstring name(kServiceName);
            SERVICE_TABLE_ENTRYW table[] = {{name.data(), service_main}, {nullptr, nullptr}};
            if (StartServiceCtrlDispatcherW(table) == FALSE) {
                const DWORD err = GetLastError();
                spdlog::error("StartServiceCtrlDispatcher failed: {}{}", win32_message(err),
                              err == ERROR_FAILED_SERVICE_CONTROLLER_CONNECT
                                  ? " ('service' is run by the service manager; use 'install')"
                                  : "");
                g_service = nullptr;
                return 1;
            }
            g_service = nullptr;
            return 0;
        }
    }
    return 0;
}

}  // namespace porthole::agent::service
