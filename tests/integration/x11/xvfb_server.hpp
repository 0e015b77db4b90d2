#pragma once
// A private Xvfb for tests and benchmarks: started on a free display number
// (Xvfb -displayfd picks it), killed by the destructor, and also when this
// process dies (PR_SET_PDEATHSIG), so a failing test never leaves it behind.

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "porthole/util/result.hpp"

namespace porthole::testing {

class XvfbServer {
  public:
    // Starts `Xvfb -screen 0 WxHxDEPTH -nolisten tcp` and waits until it accepts clients.
    static Result<XvfbServer> start(std::uint32_t width, std::uint32_t height,
                                    std::uint32_t depth = 24);
    XvfbServer(XvfbServer&& o) noexcept;
    XvfbServer& operator=(XvfbServer&& o) noexcept;
    XvfbServer(const XvfbServer&) = delete;
    XvfbServer& operator=(const XvfbServer&) = delete;
    ~XvfbServer();

    // ":N", for XOpenDisplay and $DISPLAY.
    [[nodiscard]] const std::string& display() const { return display_; }
    // Terminates the server and waits for it (idempotent).
    void stop();

  private:
    XvfbServer(pid_t pid, std::string display) : pid_(pid), display_(std::move(display)) {}
    pid_t pid_ = -1;
    std::string display_;
};

}  // namespace porthole::testing
