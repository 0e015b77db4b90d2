#pragma once
// The X11 CLIPBOARD selection: owned with the host's text (answering
// UTF8_STRING, TEXT, STRING and TARGETS), watched with XFixes and read with
// XConvertSelection when another program copies.

#include <memory>
#include <string>

#include "clipboard/backend.hpp"

namespace porthole::agent::clipboard {

// An error naming the display when it cannot be opened or lacks XFixes.
Result<std::unique_ptr<ClipboardBackend>> open_x11_clipboard(const std::string& display);

}  // namespace porthole::agent::clipboard
