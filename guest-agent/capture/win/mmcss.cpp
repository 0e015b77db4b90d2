#include "capture/win/mmcss.hpp"

#include "capture/win/win_handles.hpp"

namespace porthole::agent::win {

namespace {
using SetFn = HANDLE(WINAPI*)(LPCWSTR, LPDWORD);
using RevertFn = BOOL(WINAPI*)(HANDLE);
struct Avrt {
    SetFn set = nullptr;
    RevertFn revert = nullptr;
};
const Avrt& avrt() {
    static const Avrt a = [] {
        Avrt r;
        HMODULE m = LoadLibraryW(L"avrt.dll");  // kept loaded for the process
        if (m == nullptr) return r;
        r.set = reinterpret_cast<SetFn>(
            reinterpret_cast<void (*)()>(GetProcAddress(m, "AvSetMmThreadCharacteristicsW")));
        r.revert = reinterpret_cast<RevertFn>(
            reinterpret_cast<void (*)()>(GetProcAddress(m, "AvRevertMmThreadCharacteristics")));
        return r;
    }();
    return a;
}
}  // namespace

MmcssScope::MmcssScope(const wchar_t* task) {
    const auto& a = avrt();
    if (a.set == nullptr || a.revert == nullptr) {
        error_ = "avrt.dll is not available";
        return;
    }
    DWORD index = 0;
    handle_ = a.set(task, &index);
    if (handle_ == nullptr)
        error_ = "AvSetMmThreadCharacteristics: " + win32_message(GetLastError());
}

MmcssScope::~MmcssScope() {
    if (handle_ != nullptr) avrt().revert(handle_);
}

}  // namespace porthole::agent::win
