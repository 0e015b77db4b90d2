#pragma once
// The desktop's X11 clipboard on its own X connection and thread: copies seen
// through XFixes and read there (INCR included, bounded by the limit, a silent
// owner given up after a timeout), the guest's text owned and served there.
// The render loop only trades strings under a mutex: it never waits on X.

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "clipboard/desktop.hpp"
#include "porthole/util/result.hpp"
#include "porthole/util/unique_fd.hpp"
#include "porthole/x11/selection.hpp"

namespace porthole::client::clipboard {

class X11Clipboard final : public DesktopClipboard {
  public:
    // Opens its own connection to options.display and starts the thread; an
    // error naming the display when it cannot be opened or lacks XFixes.
    static Result<std::unique_ptr<X11Clipboard>> open(const x11::SelectionOptions& options);
    ~X11Clipboard() override;  // stops and joins the thread
    X11Clipboard(const X11Clipboard&) = delete;
    X11Clipboard& operator=(const X11Clipboard&) = delete;

    [[nodiscard]] std::string_view name() const override { return "x11"; }
    std::optional<std::string> take_change(std::uint64_t now_ns) override;
    std::optional<std::string> text_now() override;
    // Hands the text to the thread, which owns CLIPBOARD with it (a failure is logged).
    Status set_text(std::string_view text) override;
    std::optional<DesktopCopy> take_copy(std::uint64_t now_ns) override;
    DesktopImageEvents take_image_events() override;
    void fetch_png() override;
    Status own_formats(std::optional<std::string> text, bool png) override;
    void provide_png(std::optional<std::string> png) override;

    // What the thread met last (a timeout, a text over the limit), and how many.
    [[nodiscard]] std::optional<std::string> last_error() const;
    [[nodiscard]] std::uint64_t errors() const;

  private:
    X11Clipboard(std::unique_ptr<x11::SelectionBridge> bridge, UniqueFd wake);
    void run(const std::stop_token& stop);
    void wake() const;

    std::unique_ptr<x11::SelectionBridge> bridge_;  // the thread's alone
    UniqueFd wake_;                                 // an eventfd: set_text or stop
    mutable std::mutex mutex_;
    std::optional<std::string> changed_;  // copied on the desktop, not yet taken
    std::optional<std::string> latest_;   // the desktop's text as last known
    bool changed_png_ = false;            // ... and whether that copy offers an image
    bool copy_seen_ = false;              // a copy (text or image) not yet taken
    // What the thread is to own: the guest's text and/or image.
    std::optional<std::pair<std::optional<std::string>, bool>> to_own_;
    bool fetch_png_ = false;  // for the thread: read the desktop's image
    std::optional<std::optional<std::string>> to_provide_;  // for the thread: the guest's image
    DesktopImageEvents images_;                             // for the render loop
    std::optional<std::string> last_error_;
    std::uint64_t errors_ = 0;
    std::jthread thread_;  // last: started when the rest is ready
};

}  // namespace porthole::client::clipboard
