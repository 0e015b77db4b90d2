#pragma once
// The input thread follows the input desktop. SendInput reaches only the
// desktop the calling thread is on: the login screen, the lock screen and
// UAC's prompt are the secure desktop (Winlogon), not WinSta0\Default, so a
// thread left on Default types into nothing while they are shown. Before
// injecting, the thread moves to whichever desktop receives input now.

#ifdef _WIN32
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>

#include <string>

namespace porthole::agent::win {

// The few desktop calls the follower makes, so that a test can play the
// switches (a real switch to Winlogon needs a real login screen).
class DesktopApi {
  public:
    virtual ~DesktopApi() = default;
    virtual HDESK open_input() = 0;  // OpenInputDesktop; nullptr on failure
    virtual std::wstring name(HDESK desk) = 0;
    virtual bool set_thread(HDESK desk) = 0;  // SetThreadDesktop
    virtual void close(HDESK desk) = 0;
};
DesktopApi& system_desktop_api();

class DesktopFollower {
  public:
    explicit DesktopFollower(DesktopApi& api = system_desktop_api()) : api_(&api) {}
    DesktopFollower(const DesktopFollower&) = delete;
    DesktopFollower& operator=(const DesktopFollower&) = delete;
    ~DesktopFollower();
    // Moves the calling thread to the input desktop if it changed; true if
    // the thread is on the input desktop afterwards.
    bool follow();
    [[nodiscard]] const std::wstring& current() const { return current_; }
    [[nodiscard]] unsigned switches() const { return switches_; }

  private:
    DesktopApi* api_;
    HDESK held_ = nullptr;  // the desktop the thread is set to (kept open while in use)
    std::wstring current_;
    unsigned switches_ = 0;
};

}  // namespace porthole::agent::win
#endif
