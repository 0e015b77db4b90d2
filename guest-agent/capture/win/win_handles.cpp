#include "capture/win/win_handles.hpp"

#include <cstdio>

namespace porthole::agent::win {

namespace {
std::string system_text(DWORD code) {
    char* buf = nullptr;
    const DWORD n = FormatMessageA(
        FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
        nullptr, code, 0, reinterpret_cast<char*>(&buf), 0, nullptr);
    std::string s = (n != 0 && buf != nullptr) ? std::string(buf, n) : std::string("unknown error");
    if (buf != nullptr) LocalFree(buf);
    while (!s.empty() &&
           (s.back() == '\n' || s.back() == '\r' || s.back() == '.' || s.back() == ' '))
        s.pop_back();
    return s;
}
}  // namespace

// Wine and older Windows have no message text for the DXGI codes we meet most.
static const char* dxgi_name(unsigned long hr) {
    switch (hr) {
        case 0x887A0001UL:
            return "DXGI_ERROR_INVALID_CALL";
        case 0x887A0002UL:
            return "DXGI_ERROR_NOT_FOUND";
        case 0x887A0004UL:
            return "DXGI_ERROR_UNSUPPORTED";
        case 0x887A0005UL:
            return "DXGI_ERROR_DEVICE_REMOVED";
        case 0x887A0022UL:
            return "DXGI_ERROR_NOT_CURRENTLY_AVAILABLE";
        case 0x887A0026UL:
            return "DXGI_ERROR_ACCESS_LOST";
        case 0x887A0027UL:
            return "DXGI_ERROR_WAIT_TIMEOUT";
        case 0x887A002BUL:
            return "DXGI_ERROR_ACCESS_DENIED";
        default:
            return nullptr;
    }
}

std::string hresult_message(long hr) {
    char code[16];
    std::snprintf(code, sizeof code, "0x%08lX", static_cast<unsigned long>(hr));
    if (const char* name = dxgi_name(static_cast<unsigned long>(hr)))
        return std::string(name) + " (" + code + ")";
    return system_text(static_cast<DWORD>(hr)) + " (" + code + ")";
}

std::string win32_message(unsigned long code) {
    return system_text(code) + " (" + std::to_string(code) + ")";
}

}  // namespace porthole::agent::win
