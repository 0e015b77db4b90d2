#pragma once
// The clipboard as a file, for guests with no desktop (the VM tests' busybox
// guest): the host's text is written to it (whole, by a rename), and a text
// another program writes there is offered to the host. Text only.

#include <memory>
#include <string>

#include "clipboard/backend.hpp"

namespace porthole::agent::clipboard {

// Reads at most this much of the file (the host refuses more than its own limit).
inline constexpr std::size_t kFileClipboardMax = std::size_t{1} << 20;

std::unique_ptr<ClipboardBackend> make_file_clipboard(std::string path);

}  // namespace porthole::agent::clipboard
