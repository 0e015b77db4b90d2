#pragma once
// A raw X client for the clipboard tests, doing what xclip never does: an
// owner that sends its text in parts (INCR) or never answers, and a requestor
// that reports whether the text came in parts, or stops reading. Include it
// after gtest and the project's headers: Xlib #defines None and Status.

#include <X11/Xatom.h>
#include <X11/Xlib.h>
#include <poll.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>

namespace porthole::testing {

// A whole file's bytes ("" when it cannot be read): logs and pasted texts.
inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// A text of `n` bytes with multi-byte characters, different in every line.
inline std::string big_text(std::size_t n, char tag) {
    std::string s;
    for (int line = 0; s.size() < n; ++line)
        s += std::string(1, tag) + " line " + std::to_string(line) + " h\xC3\xA9llo \xE2\x9C\x93\n";
    s.resize(n);
    while ((static_cast<unsigned char>(s.back()) & 0x80U) != 0)  // whole characters only
        s.pop_back();
    s.resize(n, '.');
    return s;
}

// A raw X client: owns CLIPBOARD and answers as the test says (on its own
// thread), or pastes CLIPBOARD, reporting whether the text came in parts.
class RawClient {
  public:
    explicit RawClient(const std::string& display) {
        dpy_ = XOpenDisplay(display.c_str());
        if (dpy_ == nullptr) return;
        win_ = XCreateSimpleWindow(dpy_, DefaultRootWindow(dpy_), 0, 0, 1, 1, 0, 0, 0);
        XSelectInput(dpy_, win_, PropertyChangeMask);
        clipboard_ = XInternAtom(dpy_, "CLIPBOARD", False);
        utf8_ = XInternAtom(dpy_, "UTF8_STRING", False);
        incr_ = XInternAtom(dpy_, "INCR", False);
        prop_ = XInternAtom(dpy_, "RAW_PASTE", False);
        XSync(dpy_, False);
    }
    ~RawClient() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
        if (dpy_ != nullptr) XCloseDisplay(dpy_);
    }
    RawClient(const RawClient&) = delete;
    RawClient& operator=(const RawClient&) = delete;
    [[nodiscard]] bool ok() const { return dpy_ != nullptr; }

    // Owns CLIPBOARD; `parts` < 0: never answers. Otherwise answers UTF8_STRING
    // with INCR and sends at most `parts` parts of 64 KiB (then the end when all went).
    void own(std::string text, int parts) {
        text_ = std::move(text);
        parts_ = parts;
        XSetSelectionOwner(dpy_, clipboard_, win_, CurrentTime);
        XSync(dpy_, False);
        thread_ = std::thread([this] { serve(); });
    }
    [[nodiscard]] int parts_sent() const { return sent_.load(); }

    struct Paste {
        bool answered = false, incr = false, complete = false;
        std::string bytes;
    };
    // Pastes CLIPBOARD as UTF8_STRING; with `stall`, stops after the INCR header.
    Paste paste(std::chrono::milliseconds limit, bool stall = false) {
        Paste p;
        const auto end = std::chrono::steady_clock::now() + limit;
        XConvertSelection(dpy_, clipboard_, utf8_, prop_, win_, CurrentTime);
        XEvent e;
        if (!next(
                end, [&](const XEvent& ev) { return ev.type == SelectionNotify; }, &e))
            return p;
        p.answered = true;
        if (e.xselection.property == None) return p;
        auto [type, bytes] = take();
        if (type != incr_) {
            p.bytes = bytes;
            p.complete = true;
            return p;
        }
        p.incr = true;
        if (stall) return p;
        for (;;) {
            const auto is_part = [&](const XEvent& ev) {
                return ev.type == PropertyNotify && ev.xproperty.atom == prop_ &&
                       ev.xproperty.state == PropertyNewValue;
            };
            if (!next(end, is_part, &e)) return p;
            auto [t, part] = take();
            if (part.empty()) break;
            p.bytes += part;
        }
        p.complete = true;
        return p;
    }

  private:
    bool next(std::chrono::steady_clock::time_point end,
              const std::function<bool(const XEvent&)>& want, XEvent* out) {
        while (std::chrono::steady_clock::now() < end) {
            while (XPending(dpy_) > 0) {
                XNextEvent(dpy_, out);
                if (want(*out)) return true;
            }
            pollfd p{ConnectionNumber(dpy_), POLLIN, 0};
            ::poll(&p, 1, 20);
        }
        return false;
    }
    std::pair<Atom, std::string> take() {
        Atom type = None;
        int format = 0;
        unsigned long items = 0, after = 0;
        unsigned char* data = nullptr;
        XGetWindowProperty(dpy_, win_, prop_, 0, 1L << 24, True, AnyPropertyType, &type, &format,
                           &items, &after, &data);
        std::string bytes;
        if (data != nullptr) {
            if (format == 8) bytes.assign(reinterpret_cast<const char*>(data), items);
            XFree(data);
        }
        return {type, bytes};
    }
    void serve() {
        Window requestor = None;
        Atom property = None;
        std::size_t offset = 0;
        bool ended = false;
        while (!stop_) {
            while (XPending(dpy_) > 0) {
                XEvent e;
                XNextEvent(dpy_, &e);
                if (e.type == SelectionRequest && parts_ >= 0) {
                    const auto& r = e.xselectionrequest;
                    requestor = r.requestor;
                    property = r.property;
                    offset = 0;
                    ended = false;
                    XSelectInput(dpy_, requestor, PropertyChangeMask);
                    const long size = static_cast<long>(text_.size());
                    XChangeProperty(dpy_, requestor, property, incr_, 32, PropModeReplace,
                                    reinterpret_cast<const unsigned char*>(&size), 1);
                    XSelectionEvent reply{};
                    reply.type = SelectionNotify;
                    reply.requestor = r.requestor;
                    reply.selection = r.selection;
                    reply.target = r.target;
                    reply.property = property;
                    reply.time = r.time;
                    XSendEvent(dpy_, requestor, False, NoEventMask,
                               reinterpret_cast<XEvent*>(&reply));
                } else if (e.type == PropertyNotify && e.xproperty.window == requestor &&
                           e.xproperty.atom == property && e.xproperty.state == PropertyDelete &&
                           !ended && sent_ < parts_) {
                    const std::size_t n = std::min<std::size_t>(64 * 1024, text_.size() - offset);
                    XChangeProperty(dpy_, requestor, property, utf8_, 8, PropModeReplace,
                                    reinterpret_cast<const unsigned char*>(text_.data() + offset),
                                    static_cast<int>(n));
                    offset += n;
                    ended = n == 0;
                    if (n != 0) ++sent_;
                }
            }
            XFlush(dpy_);
            pollfd p{ConnectionNumber(dpy_), POLLIN, 0};
            ::poll(&p, 1, 20);
        }
    }

    Display* dpy_ = nullptr;
    Window win_ = None;
    Atom clipboard_ = None, utf8_ = None, incr_ = None, prop_ = None;
    std::string text_;
    int parts_ = -1;
    std::atomic<int> sent_{0};
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace porthole::testing
