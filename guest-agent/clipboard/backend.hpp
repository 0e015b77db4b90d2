#pragma once
// The guest's clipboard, behind one small interface: x11 (Linux guests with an
// X server), win32, file (a guest with no desktop: a file holds the text) or
// none (no clipboard: the agent runs no clipboard thread).

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "porthole/util/result.hpp"

namespace porthole::agent::clipboard {

// What one step of a backend saw.
struct BackendStep {
    bool copy_seen = false;             // another program copied:
    std::optional<std::string> copied;  // its text (if any)
    bool copied_png = false;            // and whether it offers an image
    std::optional<std::string> png;     // fetch_png's image
    bool png_failed = false;            // fetch_png got nothing
    bool png_wanted = false;            // a program pastes the host's image: provide_png
};

class ClipboardBackend {
  public:
    virtual ~ClipboardBackend() = default;
    [[nodiscard]] virtual std::string_view name() const = 0;
    // Makes `text` the guest's clipboard, served until another program copies.
    virtual Status set_text(std::string text) = 0;
    // Serves the desktop for up to `timeout`; the text another program copied, when it changed.
    virtual std::optional<std::string> wait(std::chrono::milliseconds timeout) = 0;

    // Images, lazily (x11); backends without them keep these defaults.
    virtual BackendStep step(std::chrono::milliseconds timeout) {
        BackendStep s;
        s.copied = wait(timeout);
        s.copy_seen = s.copied.has_value();
        return s;
    }
    // Owns the clipboard with a text and/or an image whose bytes come through provide_png.
    virtual Status own_formats(std::optional<std::string> text, bool /*png*/) {
        return text ? set_text(std::move(*text)) : Status{};
    }
    virtual void provide_png(std::optional<std::string> /*png*/) {}
    virtual void fetch_png() {}

    // Delayed rendering (win32): the host's image is fetched synchronously when
    // a program pastes, inside the paste, through this function (nullopt when
    // the host did not send it in time). A backend that takes it announces the
    // image in own_formats and never sets png_wanted. Called on the pump's thread.
    using HostPngFetch = std::function<std::optional<std::string>()>;
    virtual void set_host_png_fetch(HostPngFetch /*fetch*/) {}
    // On the pump's thread before it ends: renders what is still only announced.
    virtual void close() {}
};

// The backends this build has, "none" included.
std::vector<std::string_view> available_clipboards();

// The named backend ("auto": x11 when its display opens, else none); null for none.
// `display` is the X display ("" for $DISPLAY); `file` the file backend's path.
Result<std::unique_ptr<ClipboardBackend>> make_clipboard(std::string_view name,
                                                         const std::string& display,
                                                         const std::string& file = {});

}  // namespace porthole::agent::clipboard
