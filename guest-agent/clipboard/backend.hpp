#pragma once
// The guest's clipboard, behind one small interface: x11 (Linux guests with an
// X server) or none (no clipboard: the agent runs no clipboard thread).

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "porthole/util/result.hpp"

namespace porthole::agent::clipboard {

class ClipboardBackend {
  public:
    virtual ~ClipboardBackend() = default;
    [[nodiscard]] virtual std::string_view name() const = 0;
    // Makes `text` the guest's clipboard, served until another program copies.
    virtual Status set_text(std::string text) = 0;
    // Serves the desktop for up to `timeout`; the text another program copied, when it changed.
    virtual std::optional<std::string> wait(std::chrono::milliseconds timeout) = 0;
};

// The backends this build has, "none" included.
std::vector<std::string_view> available_clipboards();

// The named backend ("auto": x11 when its display opens, else none); null for none.
// `display` is the X display ("" for $DISPLAY).
Result<std::unique_ptr<ClipboardBackend>> make_clipboard(std::string_view name,
                                                         const std::string& display);

}  // namespace porthole::agent::clipboard
