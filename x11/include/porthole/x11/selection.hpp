#pragma once
// One X connection's view of the selections: copies by other programs seen
// through XFixes and read (UTF8_STRING, then TEXT, then STRING; INCR for large
// texts, at most `limit` bytes), and a text of ours owned as CLIPBOARD and
// served (TARGETS, UTF8_STRING, TEXT, STRING; INCR past the server's maximum
// request size). Nothing waits on another program: a transfer that stops for
// `timeout` is given up with an error. Not thread-safe: one thread calls it all.

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "porthole/util/result.hpp"

namespace porthole::x11 {

struct SelectionOptions {
    std::string display;                          // "" for $DISPLAY
    std::size_t limit = std::size_t{256} * 1024;  // the longest text read from another program
    std::chrono::milliseconds timeout{2000};  // a silent owner or requestor is given up after this
    bool watch = true;           // read other programs' copies (false: only own CLIPBOARD)
    bool watch_primary = false;  // also report PRIMARY (the mouse selection)
    // Texts longer than this are served with INCR; 0 for the X server's maximum request size.
    std::size_t incr_threshold = 0;
    // The largest image (image/png) read by fetch_png.
    std::size_t image_limit = std::size_t{8} << 20;
};

// What one wait saw: the last text another program copied (if any) and the
// transfers that failed (each message names the selection and the reason).
// Images are lazy both ways: a copy reports only that it offers image/png
// (its TARGETS), fetch_png reads it when asked; an image of ours is announced
// in TARGETS and a paste of it reported (png_wanted) for provide_png to answer.
struct SelectionStep {
    std::optional<std::string> copied;
    bool copied_png = false;  // the copy just seen (with `copied` or without text) offers image/png
    std::optional<std::string> png;  // fetch_png's image
    bool png_failed = false;         // fetch_png read nothing (no image, a timeout, the limit)
    bool png_wanted = false;         // a program pastes our image: call provide_png
    std::vector<std::string> errors;
};

class SelectionBridge {
  public:
    // An error naming the display when it cannot be opened or lacks XFixes. A
    // selection owned at the start is read too (its text comes from the first waits).
    static Result<std::unique_ptr<SelectionBridge>> open(const SelectionOptions& options);
    ~SelectionBridge();
    SelectionBridge(const SelectionBridge&) = delete;
    SelectionBridge& operator=(const SelectionBridge&) = delete;

    // Owns CLIPBOARD with `text` until another program copies; the bridge never
    // reports its own text back (no echo).
    Result<void> own(std::string text);  // (not Status: Xlib #defines it)
    // Owns CLIPBOARD with a text (if any) and, when `png`, an image whose bytes
    // come later through provide_png (asked for by png_wanted).
    Result<void> own_formats(std::optional<std::string> text, bool png);
    // Answers the pastes of our image waiting for it (nullopt: refuses them);
    // the bytes then serve later pastes of the same ownership at once.
    void provide_png(std::optional<std::string> png);
    // Reads the image/png of CLIPBOARD's current owner (reported as png or png_failed).
    void fetch_png();
    // Handles X events for up to `timeout`, returning early once something was
    // handled or `wake_fd` (when >= 0) is readable; the caller drains wake_fd.
    SelectionStep wait(std::chrono::milliseconds timeout, int wake_fd = -1);
    // The display's name as opened, for messages.
    [[nodiscard]] const std::string& display_name() const;

    struct State;  // Xlib's types stay in selection.cpp

  private:
    explicit SelectionBridge(std::unique_ptr<State> state);
    std::unique_ptr<State> s_;
};

// UTF-8 to Latin-1 (the STRING target); what Latin-1 lacks becomes '?'.
std::string utf8_to_latin1(std::string_view utf8);
// Latin-1 (a STRING reply) to UTF-8.
std::string latin1_to_utf8(std::string_view latin1);

}  // namespace porthole::x11
