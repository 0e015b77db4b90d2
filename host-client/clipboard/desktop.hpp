#pragma once
// The desktop's clipboard text, behind one small interface: x11 (its own X
// connection and thread, chosen when SDL's video driver is x11) or sdl (SDL2's
// clipboard: Wayland and the rest). Called from the render loop: never blocks.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "porthole/util/result.hpp"

namespace porthole::client::clipboard {

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
};

// x11 when SDL's video driver is x11 and the display opens (texts read up to
// `limit` bytes; none at all unless `watch`: the desktop's text then never
// leaves the X server), else sdl; an error when SDL's video is not running.
Result<std::unique_ptr<DesktopClipboard>> open_desktop_clipboard(std::size_t limit, bool watch);

}  // namespace porthole::client::clipboard
