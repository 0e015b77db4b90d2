#pragma once
// The desktop's clipboard text, behind one small interface: x11 (its own X
// connection and thread, chosen when SDL's video driver is x11) or sdl (SDL2's
// clipboard: Wayland and the rest). Called from the render loop: never blocks.
// Threads: everything on the render thread but serve_main_thread.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "porthole/util/result.hpp"

namespace porthole::client::clipboard {

// One copy on the desktop: its text (if any) and whether it offers an image.
struct DesktopCopy {
    std::optional<std::string> text;
    bool png = false;
};

// What happened to images (X11 only) since the last call.
struct DesktopImageEvents {
    std::optional<std::string> png;  // fetch_png's image
    bool png_failed = false;         // fetch_png got nothing
    bool png_wanted = false;         // a program pastes the guest's image: provide_png
};

class DesktopClipboard {
  public:
    virtual ~DesktopClipboard() = default;
    [[nodiscard]] virtual std::string_view name() const = 0;
    // The desktop's text when it changed since the last call (`now_ns` paces
    // backends that must poll).
    virtual std::optional<std::string> take_change(std::uint64_t now_ns) = 0;
    // The desktop's text now, changed or not (a new agent session is offered it).
    virtual std::optional<std::string> text_now() = 0;
    // Owns the desktop's clipboard with this text.
    virtual Status set_text(std::string_view text) = 0;

    // The last copy when it changed (backends without images: take_change's text).
    virtual std::optional<DesktopCopy> take_copy(std::uint64_t now_ns) {
        if (auto t = take_change(now_ns)) return DesktopCopy{std::move(t), false};
        return std::nullopt;
    }
    // Images, lazily (X11): the defaults have none.
    virtual DesktopImageEvents take_image_events() { return {}; }
    virtual void fetch_png() {}
    // Owns the clipboard with a text and/or an image whose bytes come through provide_png.
    virtual Status own_formats(std::optional<std::string> text, bool /*png*/) {
        return text ? set_text(*text) : Status{};
    }
    virtual void provide_png(std::optional<std::string> /*png*/) {}
    // Window mode's main thread, after each pump of SDL's events (at least
    // every 100 ms): backends whose calls must stay on SDL's thread make them
    // here; the others have nothing to do.
    virtual void serve_main_thread(std::uint64_t /*now_ns*/) {}
};

// x11 when SDL's video driver is x11 and the display opens (texts read up to
// `limit` bytes; none at all unless `watch`: the desktop's text then never
// leaves the X server), else sdl; an error when SDL's video is not running.
// `image_limit` bounds the images read from the desktop.
Result<std::unique_ptr<DesktopClipboard>> open_desktop_clipboard(std::size_t limit, bool watch,
                                                                 std::size_t image_limit);

}  // namespace porthole::client::clipboard
