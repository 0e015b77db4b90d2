#include "clipboard/x11.hpp"

#include <X11/Xatom.h>
#include <X11/Xlib.h>
#include <X11/extensions/Xfixes.h>
#include <poll.h>
#include <spdlog/spdlog.h>

#include <cstdlib>

namespace porthole::agent::clipboard {
namespace {

// UTF-8 to Latin-1 for the STRING target; what Latin-1 lacks becomes '?'.
std::string to_latin1(std::string_view utf8) {
    std::string out;
    for (std::size_t i = 0; i < utf8.size();) {
        const auto b = static_cast<unsigned char>(utf8[i]);
        if (b < 0x80) {
            out += static_cast<char>(b);
            ++i;
        } else if ((b == 0xC2 || b == 0xC3) && i + 1 < utf8.size()) {
            out += static_cast<char>(((b & 0x03U) << 6) |
                                     (static_cast<unsigned char>(utf8[i + 1]) & 0x3FU));
            i += 2;
        } else {
            out += '?';
            ++i;
            while (i < utf8.size() && (static_cast<unsigned char>(utf8[i]) & 0xC0U) == 0x80U)
                ++i;
        }
    }
    return out;
}

// Latin-1 (a STRING reply from an old client) to UTF-8.
std::string from_latin1(std::string_view latin1) {
    std::string out;
    for (const char c : latin1) {
        const auto b = static_cast<unsigned char>(c);
        if (b < 0x80) {
            out += c;
        } else {
            out += static_cast<char>(0xC0U | (b >> 6));
            out += static_cast<char>(0x80U | (b & 0x3FU));
        }
    }
    return out;
}

class X11Clipboard final : public ClipboardBackend {
  public:
    X11Clipboard(Display* dpy, int fixes_event_base) : dpy_(dpy), fixes_base_(fixes_event_base) {
        window_ = XCreateSimpleWindow(dpy_, DefaultRootWindow(dpy_), 0, 0, 1, 1, 0, 0, 0);
        clipboard_ = XInternAtom(dpy_, "CLIPBOARD", False);
        utf8_ = XInternAtom(dpy_, "UTF8_STRING", False);
        text_ = XInternAtom(dpy_, "TEXT", False);
        targets_ = XInternAtom(dpy_, "TARGETS", False);
        incr_ = XInternAtom(dpy_, "INCR", False);
        property_ = XInternAtom(dpy_, "PORTHOLE_CLIPBOARD", False);
        XFixesSelectSelectionInput(dpy_, window_, clipboard_, XFixesSetSelectionOwnerNotifyMask);
        // Text copied before the agent started is offered too.
        if (const Window owner = XGetSelectionOwner(dpy_, clipboard_); owner != None)
            request(utf8_, CurrentTime);
        XFlush(dpy_);
    }
    ~X11Clipboard() override {
        XDestroyWindow(dpy_, window_);
        XCloseDisplay(dpy_);
    }
    X11Clipboard(const X11Clipboard&) = delete;
    X11Clipboard& operator=(const X11Clipboard&) = delete;

    [[nodiscard]] std::string_view name() const override { return "x11"; }

    Result<void> set_text(std::string text) override {  // Xlib #defines Status
        owned_ = std::move(text);
        XSetSelectionOwner(dpy_, clipboard_, window_, CurrentTime);
        if (XGetSelectionOwner(dpy_, clipboard_) != window_) {
            owned_.reset();
            return Error::make("could not own the X clipboard (another client took it at once)");
        }
        XFlush(dpy_);
        return {};
    }

    std::optional<std::string> wait(std::chrono::milliseconds timeout) override {
        if (XPending(dpy_) == 0) {
            pollfd p{ConnectionNumber(dpy_), POLLIN, 0};
            ::poll(&p, 1, static_cast<int>(timeout.count()));
        }
        std::optional<std::string> copied;
        while (XPending(dpy_) > 0) {
            XEvent e;
            XNextEvent(dpy_, &e);
            if (e.type == fixes_base_ + XFixesSelectionNotify) {
                const auto& n = reinterpret_cast<const XFixesSelectionNotifyEvent&>(e);
                // Our own ownership (the host's text) is never read back: no echo.
                if (n.owner != None && n.owner != window_) request(utf8_, n.selection_timestamp);
            } else if (e.type == SelectionNotify) {
                if (auto t = receive(e.xselection)) copied = std::move(t);
            } else if (e.type == SelectionRequest) {
                answer(e.xselectionrequest);
            } else if (e.type == SelectionClear) {
                owned_.reset();  // another program copied: XFixes tells us who
            }
        }
        XFlush(dpy_);
        return copied;
    }

  private:
    void request(Atom target, Time when) {
        asked_ = target;
        asked_time_ = when;
        XConvertSelection(dpy_, clipboard_, target, property_, window_, when);
    }

    std::optional<std::string> receive(const XSelectionEvent& ev) {
        if (ev.property == None) {
            // Old clients know only STRING: ask once more for that.
            if (ev.target == utf8_) request(XA_STRING, asked_time_);
            return std::nullopt;
        }
        Atom type = None;
        int format = 0;
        unsigned long items = 0, after = 0;
        unsigned char* data = nullptr;
        // 64 MiB at most (the host refuses more than its limit anyway).
        if (XGetWindowProperty(dpy_, window_, property_, 0, 16L << 20, True, AnyPropertyType, &type,
                               &format, &items, &after, &data) != Success) {
            return std::nullopt;
        }
        std::optional<std::string> out;
        if (type == incr_) {
            spdlog::warn(
                "clipboard: the copied text is sent in parts (INCR), which is not "
                "supported yet: not offered to the host");
        } else if (format == 8 && data != nullptr && after == 0) {
            std::string bytes(reinterpret_cast<const char*>(data), items);
            out = type == XA_STRING ? from_latin1(bytes) : std::move(bytes);
        }
        if (data != nullptr) XFree(data);
        return out;
    }

    void answer(const XSelectionRequestEvent& r) {
        XSelectionEvent reply{};
        reply.type = SelectionNotify;
        reply.display = r.display;
        reply.requestor = r.requestor;
        reply.selection = r.selection;
        reply.target = r.target;
        reply.time = r.time;
        // Obsolete clients pass no property: the target names it.
        const Atom property = r.property == None ? r.target : r.property;
        reply.property = None;
        if (owned_ && r.selection == clipboard_) {
            if (r.target == targets_) {
                const Atom list[] = {targets_, utf8_, text_, XA_STRING};
                XChangeProperty(dpy_, r.requestor, property, XA_ATOM, 32, PropModeReplace,
                                reinterpret_cast<const unsigned char*>(list), 4);
                reply.property = property;
            } else if (r.target == utf8_ || r.target == text_) {
                XChangeProperty(dpy_, r.requestor, property, utf8_, 8, PropModeReplace,
                                reinterpret_cast<const unsigned char*>(owned_->data()),
                                static_cast<int>(owned_->size()));
                reply.property = property;
            } else if (r.target == XA_STRING) {
                const std::string latin1 = to_latin1(*owned_);
                XChangeProperty(dpy_, r.requestor, property, XA_STRING, 8, PropModeReplace,
                                reinterpret_cast<const unsigned char*>(latin1.data()),
                                static_cast<int>(latin1.size()));
                reply.property = property;
            }
        }
        XSendEvent(dpy_, r.requestor, False, NoEventMask, reinterpret_cast<XEvent*>(&reply));
    }

    Display* dpy_;
    int fixes_base_;
    Window window_ = None;
    Atom clipboard_ = None, utf8_ = None, text_ = None, targets_ = None, incr_ = None,
         property_ = None;
    Atom asked_ = None;
    Time asked_time_ = CurrentTime;
    std::optional<std::string> owned_;  // the host's text while we own CLIPBOARD
};

}  // namespace

Result<std::unique_ptr<ClipboardBackend>> open_x11_clipboard(const std::string& display) {
    const char* name = display.empty() ? std::getenv("DISPLAY") : display.c_str();
    const std::string shown = name != nullptr ? name : "(no $DISPLAY)";
    if (name == nullptr)
        return Error::make("x11 clipboard: no X display: set $DISPLAY or --display");
    Display* dpy = XOpenDisplay(name);
    if (dpy == nullptr) return Error::make("x11 clipboard: cannot open X display " + shown);
    int event_base = 0, error_base = 0;
    if (XFixesQueryExtension(dpy, &event_base, &error_base) == 0) {
        XCloseDisplay(dpy);
        return Error::make("x11 clipboard: the X server " + shown +
                           " has no XFixes extension (needed to see copies)");
    }
    return std::unique_ptr<ClipboardBackend>(new X11Clipboard(dpy, event_base));
}

}  // namespace porthole::agent::clipboard
