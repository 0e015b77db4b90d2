#pragma once
// The X11 CLIPBOARD selection through the shared x11/ bridge: owned with the
// host's text (TARGETS, UTF8_STRING, TEXT, STRING; INCR for large texts),
// watched with XFixes and read when another program copies.

#include <memory>
#include <string>

#include "clipboard/backend.hpp"

namespace porthole::agent::clipboard {

// An error naming the display when it cannot be opened or lacks XFixes.
Result<std::unique_ptr<ClipboardBackend>> open_x11_clipboard(const std::string& display);

}  // namespace porthole::agent::clipboard
