#include "input/sendinput.hpp"

#include <string>
#include <vector>

namespace porthole::agent::win {

static_assert(kKeyExtended == KEYEVENTF_EXTENDEDKEY && kKeyUp == KEYEVENTF_KEYUP &&
              kKeyScancode == KEYEVENTF_SCANCODE);
static_assert(kMouseMove == MOUSEEVENTF_MOVE && kLeftDown == MOUSEEVENTF_LEFTDOWN &&
              kLeftUp == MOUSEEVENTF_LEFTUP && kRightDown == MOUSEEVENTF_RIGHTDOWN &&
              kRightUp == MOUSEEVENTF_RIGHTUP && kMiddleDown == MOUSEEVENTF_MIDDLEDOWN &&
              kMiddleUp == MOUSEEVENTF_MIDDLEUP && kXDown == MOUSEEVENTF_XDOWN &&
              kXUp == MOUSEEVENTF_XUP && kWheel == MOUSEEVENTF_WHEEL &&
              kHWheel == MOUSEEVENTF_HWHEEL && kVirtualDesk == MOUSEEVENTF_VIRTUALDESK &&
              kAbsolute == MOUSEEVENTF_ABSOLUTE);
static_assert(kXButton1 == XBUTTON1 && kXButton2 == XBUTTON2 && kVkPause == VK_PAUSE);

INPUT to_native(const SendInputRecord& r) {
    INPUT in{};
    if (r.kind == SendInputRecord::Kind::keyboard) {
        in.type = INPUT_KEYBOARD;
        in.ki.wVk = r.vk;
        in.ki.wScan = r.scan;
        in.ki.dwFlags = r.flags;
    } else {
        in.type = INPUT_MOUSE;
        in.mi.dx = r.dx;
        in.mi.dy = r.dy;
        in.mi.mouseData = static_cast<DWORD>(r.mouse_data);
        in.mi.dwFlags = r.flags;
    }
    return in;
}

namespace {
std::string ascii(const std::wstring& w) {
    std::string s;
    for (wchar_t c : w)
        s.push_back(c > 0 && c < 128 ? static_cast<char>(c) : '?');
    return s;
}
}  // namespace

std::optional<unsigned long> software_sas_policy() {
    DWORD value = 0;
    DWORD size = sizeof(value);
    if (RegGetValueW(
            HKEY_LOCAL_MACHINE, L"SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System",
            L"SoftwareSASGeneration", RRF_RT_REG_DWORD, nullptr, &value, &size) != ERROR_SUCCESS)
        return std::nullopt;
    return value;
}

Status send_sas() {
    using SendSasFn = void(WINAPI*)(BOOL);
    static const SendSasFn fn = [] {
        HMODULE m = LoadLibraryW(L"sas.dll");
        if (m == nullptr) return SendSasFn{nullptr};
        return reinterpret_cast<SendSasFn>(
            reinterpret_cast<void (*)()>(GetProcAddress(m, "SendSAS")));
    }();
    if (fn == nullptr)
        return Error::make("Ctrl+Alt+Del not sent: SendSAS (sas.dll) is not available here");
    fn(FALSE);  // as the service's SYSTEM agent; SendSAS reports nothing back
    const auto policy = software_sas_policy();
    if (!policy || (*policy & 1U) == 0)
        return Error::make(
            "Ctrl+Alt+Del sent with SendSAS, but the SoftwareSASGeneration policy does not let "
            "services generate it, so Windows ignores it: the installer sets it, or run 'reg add "
            "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System /v "
            "SoftwareSASGeneration /t REG_DWORD /d 1 /f'");
    return {};
}

Status SendInputInjector::inject(std::span<const protocol::InputEvent> events) {
    Status sas_result;
    for (const auto& e : events) {
        if (sas_.on_event(e)) {
            ++sas_sent_;
            if (auto ok = send_sas_(); !ok) sas_result = ok;
        }
    }
    {
        const std::lock_guard lock(area_mutex_);
        const ScreenArea desk{
            GetSystemMetrics(SM_XVIRTUALSCREEN), GetSystemMetrics(SM_YVIRTUALSCREEN),
            GetSystemMetrics(SM_CXVIRTUALSCREEN), GetSystemMetrics(SM_CYVIRTUALSCREEN)};
        translator_.set_absolute_target(area_, desk);
    }
    const auto records = translator_.translate(events);
    if (records.empty()) return sas_result;
    // Login, lock and UAC screens are another desktop: follow it first.
    desktop_.follow();
    std::vector<INPUT> inputs;
    inputs.reserve(records.size());
    for (const auto& r : records)
        inputs.push_back(to_native(r));
    const UINT sent = SendInput(static_cast<UINT>(inputs.size()), inputs.data(), sizeof(INPUT));
    stats_.events += sent;
    if (sent != inputs.size()) {
        const DWORD err = GetLastError();
        stats_.failed += inputs.size() - sent;
        // A short count means the input desktop is out of reach (the secure
        // desktop for an agent not started by the service). UIPI, by
        // contrast, drops input to elevated windows silently: it shows in
        // neither the count nor GetLastError.
        return Error::make(
            "SendInput injected " + std::to_string(sent) + " of " + std::to_string(inputs.size()) +
                " inputs (error " + std::to_string(err) + ") on desktop '" +
                ascii(desktop_.current()) +
                "': input is blocked, usually by the login, lock or UAC screen; the agent reaches "
                "them when the service starts it (porthole-agent install)",
            static_cast<int>(err));
    }
    return sas_result;
}

void SendInputInjector::set_captured_area(const ScreenArea& area) {
    const std::lock_guard lock(area_mutex_);
    area_ = area;
}

InjectorStats SendInputInjector::stats() const {
    InjectorStats s = stats_;
    s.unmapped = translator_.unmapped();
    return s;
}

}  // namespace porthole::agent::win
