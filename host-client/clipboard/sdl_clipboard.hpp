#pragma once
// The desktop's clipboard text through SDL2 (X11 and Wayland). Needs SDL's
// video subsystem (the window) to be initialised, and its events pumped.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "porthole/util/result.hpp"

namespace porthole::client::clipboard {

class SdlClipboard {
  public:
    // Watches SDL_CLIPBOARDUPDATE; an error when SDL's video is not running.
    static Result<SdlClipboard> open();
    SdlClipboard(SdlClipboard&& o) noexcept;
    SdlClipboard& operator=(SdlClipboard&&) = delete;
    SdlClipboard(const SdlClipboard&) = delete;
    SdlClipboard& operator=(const SdlClipboard&) = delete;
    ~SdlClipboard();

    // The desktop's text when it may have changed since the last call: after an
    // SDL_CLIPBOARDUPDATE, or every poll_ns (SDL 2.26 on X11 reports only the
    // changes that take the clipboard from SDL itself).
    std::optional<std::string> take_change(std::uint64_t now_ns);
    // Owns the desktop's clipboard with this text.
    Status set_text(std::string_view text);
    static constexpr std::uint64_t poll_ns = 500'000'000;

  private:
    SdlClipboard();
    struct Watch;
    std::unique_ptr<Watch> watch_;  // registered with SDL_AddEventWatch (stable address)
    std::uint64_t next_poll_ns_ = 0;
};

}  // namespace porthole::client::clipboard
