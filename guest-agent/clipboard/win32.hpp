#pragma once
// The Windows clipboard's CF_UNICODETEXT: the host's text set as the clipboard
// (CRLF line ends, as Windows programs expect), and copies seen through
// AddClipboardFormatListener (read back as UTF-8 with LF line ends). Images
// are CF_DIB, converted to and from PNG: the host's is announced with delayed
// rendering and fetched through set_host_png_fetch only when a program pastes.

#include <memory>

#include "clipboard/backend.hpp"

namespace porthole::agent::clipboard {

// The window that listens is created on the first call of set_text or wait:
// its messages arrive on the thread that makes it, the pump's.
std::unique_ptr<ClipboardBackend> make_win32_clipboard();

}  // namespace porthole::agent::clipboard
