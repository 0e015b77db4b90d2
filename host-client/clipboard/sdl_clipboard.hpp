#pragma once
// The desktop's clipboard text through SDL2 (X11 and Wayland). Needs SDL's
// video subsystem (the window) to be initialised, and its events pumped.
// SDL's clipboard calls are made on the main thread (serve_main_thread), as
// SDL's video calls must be (Wayland's clipboard shares the display's event
// queue with the pump); the render thread's calls read and write a cache.

#include <cstdint>
#include <memory>
#include <mutex>
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
    // Render thread: the text the main thread read after an SDL_CLIPBOARDUPDATE,
    // or at its poll every poll_ns (SDL 2.26 on X11 reports only the changes
    // that take the clipboard from SDL itself), once. On X11 each read can
    // stall the main thread on a slow owner: X11Clipboard avoids that.
    std::optional<std::string> take_change(std::uint64_t now_ns) override;
    // Render thread: the text last read, changed or not.
    std::optional<std::string> text_now() override;
    // Render thread: the main thread sets it at its next round; a failure is logged there.
    Status set_text(std::string_view text) override;
    // Main thread: sets what set_text asked for, reads the desktop's text when due.
    void serve_main_thread(std::uint64_t now_ns) override;
    static constexpr std::uint64_t poll_ns = 500'000'000;

  private:
    SdlClipboard();
    struct Watch;
    std::unique_ptr<Watch> watch_;    // registered with SDL_AddEventWatch (stable address)
    std::uint64_t next_poll_ns_ = 0;  // the main thread's
    std::mutex mutex_;
    std::optional<std::string> to_set_;  // under mutex_: for the main thread to set
    std::optional<std::string> read_;    // under mutex_: the desktop's text last read
    bool fresh_ = false;                 // under mutex_: read_ not taken yet
};

}  // namespace porthole::client::clipboard
