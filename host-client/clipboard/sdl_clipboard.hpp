#pragma once
// The desktop's clipboard text through SDL2 (X11 and Wayland). Needs SDL's
// video subsystem (the window) to be initialised, and its events pumped.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "clipboard/desktop.hpp"
#include "porthole/util/result.hpp"

namespace porthole::client::clipboard {

class SdlClipboard final : public DesktopClipboard {
  public:
    // Watches SDL_CLIPBOARDUPDATE; an error when SDL's video is not running.
    static Result<std::unique_ptr<SdlClipboard>> open();
    SdlClipboard(const SdlClipboard&) = delete;
    SdlClipboard& operator=(const SdlClipboard&) = delete;
    ~SdlClipboard() override;

    [[nodiscard]] std::string_view name() const override { return "sdl"; }
    // After an SDL_CLIPBOARDUPDATE, or every poll_ns (SDL 2.26 on X11 reports
    // only the changes that take the clipboard from SDL itself). On X11 each
    // read can stall the caller on a slow owner: X11Clipboard avoids that.
    std::optional<std::string> take_change(std::uint64_t now_ns) override;
    std::optional<std::string> text_now() override { return take_change(UINT64_MAX); }
    Status set_text(std::string_view text) override;
    static constexpr std::uint64_t poll_ns = 500'000'000;

  private:
    SdlClipboard();
    struct Watch;
    std::unique_ptr<Watch> watch_;  // registered with SDL_AddEventWatch (stable address)
    std::uint64_t next_poll_ns_ = 0;
};

}  // namespace porthole::client::clipboard
