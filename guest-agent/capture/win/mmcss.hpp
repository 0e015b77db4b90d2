#pragma once
// Raises the calling thread into the Multimedia Class Scheduler's "Capture"
// task for as long as the object lives, so a game saturating the CPU does
// not starve desktop capture. avrt.dll is loaded at run time; without it
// (or without the service) the thread keeps its priority and says why.

#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>

#include <string>

namespace porthole::agent::win {

class MmcssScope {
  public:
    explicit MmcssScope(const wchar_t* task = L"Capture");
    ~MmcssScope();
    MmcssScope(const MmcssScope&) = delete;
    MmcssScope& operator=(const MmcssScope&) = delete;
    [[nodiscard]] bool active() const { return handle_ != nullptr; }
    [[nodiscard]] const std::string& error() const { return error_; }

  private:
    HANDLE handle_ = nullptr;
    std::string error_;
};

}  // namespace porthole::agent::win
