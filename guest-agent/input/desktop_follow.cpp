#include "input/desktop_follow.hpp"

#include <vector>

namespace porthole::agent::win {

namespace {
class SystemDesktopApi final : public DesktopApi {
  public:
    HDESK open_input() override {
        return OpenInputDesktop(0, FALSE,
                                DESKTOP_READOBJECTS | DESKTOP_WRITEOBJECTS |
                                    DESKTOP_JOURNALPLAYBACK | DESKTOP_SWITCHDESKTOP |
                                    GENERIC_WRITE);
    }
    std::wstring name(HDESK desk) override {
        DWORD needed = 0;
        GetUserObjectInformationW(desk, UOI_NAME, nullptr, 0, &needed);
        if (needed == 0) return {};
        std::vector<wchar_t> buf(needed / sizeof(wchar_t) + 1, L'\0');
        if (GetUserObjectInformationW(desk, UOI_NAME, buf.data(),
                                      static_cast<DWORD>(buf.size() * sizeof(wchar_t)),
                                      &needed) == FALSE)
            return {};
        return buf.data();
    }
    bool set_thread(HDESK desk) override { return SetThreadDesktop(desk) != FALSE; }
    void close(HDESK desk) override { CloseDesktop(desk); }
};
}  // namespace

DesktopApi& system_desktop_api() {
    static SystemDesktopApi api;
    return api;
}

DesktopFollower::~DesktopFollower() {
    // Fails harmlessly (busy) while a thread still uses the desktop.
    if (held_ != nullptr) api_->close(held_);
}

bool DesktopFollower::follow() {
    HDESK desk = api_->open_input();
    if (desk == nullptr) return !current_.empty();  // no access now: stay where we are
    std::wstring n = api_->name(desk);
    if (!current_.empty() && n == current_) {
        api_->close(desk);
        return true;
    }
    if (!api_->set_thread(desk)) {
        api_->close(desk);
        return false;
    }
    if (held_ != nullptr) api_->close(held_);
    held_ = desk;
    if (!current_.empty()) ++switches_;
    current_ = std::move(n);
    return true;
}

}  // namespace porthole::agent::win
