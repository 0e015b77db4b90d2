#include "porthole/x11/selection.hpp"

#include <X11/Xatom.h>
#include <X11/Xlib.h>
#include <X11/extensions/Xfixes.h>
#include <poll.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace porthole::x11 {

std::string utf8_to_latin1(std::string_view utf8) {
    std::string out;
    out.reserve(utf8.size());
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

std::string latin1_to_utf8(std::string_view latin1) {
    std::string out;
    out.reserve(latin1.size());
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

namespace {

using Clock = std::chrono::steady_clock;

// Xlib's default error handler exits the process. A requestor's window may be
// gone before we write to it (BadWindow): on our connections an error is
// ignored (the transfer then times out); on others the previous handler decides.
std::mutex g_displays_mutex;
std::vector<Display*> g_displays;  // the bridges' connections
XErrorHandler g_previous_handler = nullptr;

extern "C" int selection_on_x_error(Display* dpy, XErrorEvent* e) {
    {
        const std::lock_guard lock(g_displays_mutex);
        if (std::find(g_displays.begin(), g_displays.end(), dpy) != g_displays.end()) return 0;
    }
    return g_previous_handler != nullptr ? g_previous_handler(dpy, e) : 0;
}
// Xlib's default I/O error handler exits; this one returns, so that each
// display's exit handler decides (ours: the bridge reports a lost connection).
extern "C" int selection_return_from_io_error(Display*) {
    return 0;
}
extern "C" void selection_on_x_io_exit(Display*, void* broken) {
    *static_cast<bool*>(broken) = true;
}

void install_handlers() {
    static std::once_flag once;
    std::call_once(once, [] {
        g_previous_handler = XSetErrorHandler(selection_on_x_error);
        XSetIOErrorHandler(selection_return_from_io_error);
    });
}

std::string hex(unsigned long v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "0x%lx", v);
    return buf;
}

}  // namespace

struct SelectionBridge::State {
    // A text being read from another program's selection.
    struct Incoming {
        Atom selection = None;
        Window owner = None;
        Atom target = None;
        Atom property = None;
        Time time = CurrentTime;
        bool incr = false;
        Atom type = None;  // of the INCR parts
        std::string data;
        Clock::time_point deadline;
        std::size_t limit = 0;
        bool png_too = false;  // the owner's TARGETS list image/png
    };
    // A paste of our image waiting for provide_png.
    struct Deferred {
        XSelectionRequestEvent request;
        Atom property = None;
        Clock::time_point deadline;
    };
    // Our text being served in parts (INCR) to one requestor.
    struct Outgoing {
        Window requestor = None;
        Atom property = None;
        Atom type = None;
        std::shared_ptr<const std::string> data;
        std::size_t offset = 0;
        bool ended = false;  // the empty part that ends it is written
        Clock::time_point deadline;
    };

    SelectionOptions opt;
    std::string shown;  // the display's name
    Display* dpy = nullptr;
    int fixes_base = 0;
    bool broken = false;
    bool broken_said = false;
    Window window = None;
    Atom clipboard = None, primary = XA_PRIMARY, utf8 = None, text = None, targets = None,
         incr = None, png = None;
    Atom props[4] = {};      // one property per read in turn: a late part of an abandoned read
    unsigned next_prop = 0;  // never lands in the next one
    std::size_t incr_threshold = 0;
    std::size_t chunk = 0;
    std::optional<Incoming> in;
    std::vector<Outgoing> serving;                // INCR answers under way
    std::shared_ptr<const std::string> owned;     // CLIPBOARD's text while we own it
    bool owning = false;                          // CLIPBOARD is ours
    bool owned_png = false;                       // ... with an image
    std::shared_ptr<const std::string> png_data;  // its bytes once provided
    std::vector<Deferred> deferred;               // pastes of it waiting for them

    ~State() {
        if (dpy == nullptr) return;
        {
            const std::lock_guard lock(g_displays_mutex);
            std::erase(g_displays, dpy);
        }
        if (!broken && window != None) XDestroyWindow(dpy, window);
        XCloseDisplay(dpy);
    }

    [[nodiscard]] std::string name_of(Atom selection) const {
        return selection == clipboard ? "CLIPBOARD" : "PRIMARY";
    }
    [[nodiscard]] Clock::time_point give_up_at() const { return Clock::now() + opt.timeout; }

    void request(Atom selection, Window owner, Atom target, Time when, bool png_too = false) {
        Incoming i;
        i.limit = target == png ? opt.image_limit : opt.limit;
        i.png_too = png_too;
        i.selection = selection;
        i.owner = owner;
        i.target = target;
        i.property = props[next_prop++ % 4];
        i.time = when;
        i.deadline = give_up_at();
        XDeleteProperty(dpy, window, i.property);
        XConvertSelection(dpy, selection, target, i.property, window, when);
        in = std::move(i);
    }

    // The next target to ask for after `target` was refused; None after STRING.
    [[nodiscard]] Atom fallback(Atom target) const {
        if (target == targets) return utf8;
        if (target == utf8) return text;
        if (target == text) return XA_STRING;
        return None;
    }

    void on_owner_change(const XFixesSelectionNotifyEvent& n, SelectionStep& step) {
        // A read from the previous owner is moot: its late parts land in its
        // own property and are ignored. One read at a time: with PRIMARY
        // watched too, the last copy wins (a new request replaces `in`).
        if (in && in->selection == n.selection) drop_in(step);
        // Our own ownership (the other side's text) is never read back: no echo.
        if (n.owner == None || n.owner == window) return;
        // Its TARGETS first: an image is only announced, the text read at once.
        request(n.selection, n.owner, targets, n.selection_timestamp);
    }

    // Reads the whole of `property` on our window (deleting it when `del`) when
    // it holds at most `limit` bytes; nullopt and `*over` (deleted) when more.
    std::optional<std::string> read_property(Atom property, Atom* type, bool* over,
                                             std::size_t limit, bool del = true) {
        int format = 0;
        unsigned long items = 0, after = 0;
        unsigned char* data = nullptr;
        const long longs = static_cast<long>(limit / 4 + 1);
        *over = false;
        if (XGetWindowProperty(dpy, window, property, 0, longs, del ? True : False, AnyPropertyType,
                               type, &format, &items, &after, &data) != Success) {
            *type = None;
            return std::nullopt;
        }
        std::optional<std::string> out;
        const std::size_t unit = format == 32 ? sizeof(long) : static_cast<std::size_t>(format) / 8;
        if (after != 0 || items * unit > limit) {
            *over = true;
            XDeleteProperty(dpy, window, property);  // not deleted by a partial read
        } else if (*type != None && data != nullptr) {
            out.emplace(reinterpret_cast<const char*>(data), items * unit);
        } else if (*type != None) {
            out.emplace();
        }
        if (data != nullptr) XFree(data);
        return out;
    }

    [[nodiscard]] std::string decode(Atom type, std::string bytes) const {
        return type == XA_STRING ? latin1_to_utf8(bytes) : std::move(bytes);
    }
    [[nodiscard]] bool is_text(Atom type) const { return type == utf8 || type == XA_STRING; }

    std::string over_limit(std::size_t at_least) const {
        return std::string("x11 clipboard: the ") + (in->target == png ? "image" : "text") +
               " copied to " + name_of(in->selection) +
               (at_least != 0 ? " (" + std::to_string(at_least) + " bytes)" : std::string()) +
               " is over the limit of " + std::to_string(in->limit) + " bytes: not read";
    }
    // Ends the read under way (a failed image read is reported as such).
    void drop_in(SelectionStep& step) {
        if (in && in->target == png) step.png_failed = true;
        in.reset();
    }
    // The owner's TARGETS: ask for its text (when it has some), note its image.
    void on_targets(const std::string& bytes, SelectionStep& step) {
        bool has_png = false, has_text = false;
        const std::size_t n = bytes.size() / sizeof(long);  // format 32: longs
        for (std::size_t i = 0; i < n; ++i) {
            long a = 0;
            std::copy_n(bytes.data() + i * sizeof(long), sizeof a, reinterpret_cast<char*>(&a));
            const auto atom = static_cast<Atom>(a);
            has_png = has_png || atom == png;
            has_text = has_text || atom == utf8 || atom == text || atom == XA_STRING;
        }
        const Incoming was = *in;
        in.reset();
        if (has_text || !has_png) {
            request(was.selection, was.owner, utf8, was.time, has_png);
        } else if (was.selection == clipboard) {
            step.copied_png = true;  // an image alone
        }
    }

    void on_selection_notify(const XSelectionEvent& ev, SelectionStep& step) {
        if (!in || ev.selection != in->selection) return;
        if (ev.property == None) {
            if (ev.target != in->target) return;  // a refusal of an earlier request
            if (in->target == png) return drop_in(step);
            const Atom next = fallback(in->target);
            const Incoming was = *in;
            in.reset();
            if (next != None) request(was.selection, was.owner, next, was.time, was.png_too);
            return;  // no text (an image, say): nothing to offer, and no error
        }
        if (ev.property != in->property) return;  // an abandoned read's reply
        Atom type = None;
        bool over = false;
        // Not deleted yet: deleting an INCR announcement asks for the first part.
        auto bytes = read_property(in->property, &type, &over, in->limit, false);
        if (over) {
            step.errors.push_back(over_limit(0));
            return drop_in(step);
        }
        if (!bytes) return drop_in(step);
        if (type == incr) {
            // The owner sends parts, each after we delete the previous one.
            std::size_t hint = 0;
            if (bytes->size() >= sizeof(long)) {
                long v = 0;
                std::copy_n(bytes->data(), sizeof v, reinterpret_cast<char*>(&v));
                hint = static_cast<std::size_t>(v);
            }
            if (hint > in->limit) {
                step.errors.push_back(over_limit(hint));
                return drop_in(step);  // the announcement stays: the owner sends nothing
            }
            XDeleteProperty(dpy, window, in->property);
            in->incr = true;
            in->deadline = give_up_at();
            return;
        }
        XDeleteProperty(dpy, window, in->property);
        if (in->target == targets && type == XA_ATOM) return on_targets(*bytes, step);
        if (in->target == png) {
            if (type != png) return drop_in(step);
            step.png = std::move(*bytes);
            in.reset();
            return;
        }
        if (!is_text(type)) {
            // TEXT answered with COMPOUND_TEXT, say: ask for plain STRING.
            const Atom next = fallback(in->target);
            const Incoming was = *in;
            in.reset();
            if (next != None) request(was.selection, was.owner, next, was.time, was.png_too);
            return;
        }
        step.copied = decode(type, std::move(*bytes));
        step.copied_png = in->png_too && in->selection == clipboard;
        in.reset();
    }

    void on_property(const XPropertyEvent& ev, SelectionStep& step) {
        if (ev.window == window) {
            if (!in || !in->incr || ev.atom != in->property || ev.state != PropertyNewValue) return;
            Atom type = None;
            bool over = false;
            auto part = read_property(in->property, &type, &over, in->limit);
            if (over || (part && in->data.size() + part->size() > in->limit)) {
                step.errors.push_back(over_limit(in->data.size() + (part ? part->size() : 0)));
                return drop_in(step);
            }
            if (!part || type == None) return;  // deleted meanwhile: not a part
            in->deadline = give_up_at();
            if (in->type == None) in->type = type;
            if (!part->empty()) {
                in->data += *part;
                return;
            }
            // The empty part ends the transfer.
            if (in->target == png) {
                if (in->type != png) return drop_in(step);
                step.png = std::move(in->data);
            } else if (is_text(in->type)) {
                step.copied = decode(in->type, std::move(in->data));
                step.copied_png = in->png_too && in->selection == clipboard;
            }
            in.reset();
            return;
        }
        if (ev.state != PropertyDelete) return;
        for (auto it = serving.begin(); it != serving.end(); ++it) {
            if (it->requestor != ev.window || it->property != ev.atom) continue;
            if (it->ended) {
                finish_outgoing(it);
                return;
            }
            send_part(*it);
            return;
        }
    }

    void send_part(Outgoing& o) {
        const std::size_t n = std::min(chunk, o.data->size() - o.offset);
        XChangeProperty(dpy, o.requestor, o.property, o.type, 8, PropModeReplace,
                        reinterpret_cast<const unsigned char*>(o.data->data() + o.offset),
                        static_cast<int>(n));
        o.offset += n;
        o.ended = n == 0;
        o.deadline = give_up_at();
    }

    void finish_outgoing(std::vector<Outgoing>::iterator it) {
        const Window w = it->requestor;
        serving.erase(it);
        const bool more = std::any_of(serving.begin(), serving.end(),
                                      [w](const Outgoing& o) { return o.requestor == w; });
        if (!more) XSelectInput(dpy, w, NoEventMask);
    }

    enum class Answer { refused, served, deferred };
    // Writes the answer to one request in `property`.
    Answer serve(const XSelectionRequestEvent& r, Atom property, SelectionStep& step) {
        if (!owning || r.selection != clipboard) return Answer::refused;
        if (r.target == targets) {
            Atom list[5] = {targets};
            int n = 1;
            if (owned) {
                list[n++] = utf8;
                list[n++] = text;
                list[n++] = XA_STRING;
            }
            if (owned_png) list[n++] = png;
            XChangeProperty(dpy, r.requestor, property, XA_ATOM, 32, PropModeReplace,
                            reinterpret_cast<const unsigned char*>(list), n);
            return Answer::served;
        }
        if (r.target == png && owned_png) {
            if (png_data) return write_answer(r.requestor, property, png, png_data);
            deferred.push_back(Deferred{r, property, give_up_at()});
            step.png_wanted = true;
            return Answer::deferred;
        }
        if (!owned) return Answer::refused;
        std::shared_ptr<const std::string> data;
        Atom type = None;
        if (r.target == utf8 || r.target == text) {
            data = owned;
            type = utf8;
        } else if (r.target == XA_STRING) {
            data = std::make_shared<const std::string>(utf8_to_latin1(*owned));
            type = XA_STRING;
        } else {
            return Answer::refused;
        }
        return write_answer(r.requestor, property, type, std::move(data));
    }

    Answer write_answer(Window requestor, Atom property, Atom type,
                        std::shared_ptr<const std::string> data) {
        if (data->size() <= incr_threshold) {
            XChangeProperty(dpy, requestor, property, type, 8, PropModeReplace,
                            reinterpret_cast<const unsigned char*>(data->data()),
                            static_cast<int>(data->size()));
            return Answer::served;
        }
        // Too large for one request: announce INCR, then a part after each
        // deletion by the requestor (PropertyNotify on its window).
        XSelectInput(dpy, requestor, PropertyChangeMask);
        const long size = static_cast<long>(data->size());
        XChangeProperty(dpy, requestor, property, incr, 32, PropModeReplace,
                        reinterpret_cast<const unsigned char*>(&size), 1);
        serving.push_back(
            Outgoing{requestor, property, type, std::move(data), 0, false, give_up_at()});
        return Answer::served;
    }

    void notify(const XSelectionRequestEvent& r, Atom property) {
        XSelectionEvent reply{};
        reply.type = SelectionNotify;
        reply.display = r.display;
        reply.requestor = r.requestor;
        reply.selection = r.selection;
        reply.target = r.target;
        reply.time = r.time;
        reply.property = property;
        XSendEvent(dpy, r.requestor, False, NoEventMask, reinterpret_cast<XEvent*>(&reply));
    }

    // The deferred pastes of our image, answered with `data` (null: refused).
    void answer_deferred(const std::shared_ptr<const std::string>& data) {
        for (const auto& d : deferred) {
            const bool ok =
                data && write_answer(d.request.requestor, d.property, png, data) == Answer::served;
            notify(d.request, ok ? d.property : None);
        }
        deferred.clear();
    }

    void disown() {
        owning = false;
        owned.reset();
        owned_png = false;
        png_data.reset();
        answer_deferred(nullptr);
    }

    void on_request(const XSelectionRequestEvent& r, SelectionStep& step) {
        // Obsolete clients pass no property: the target names it.
        const Atom property = r.property == None ? r.target : r.property;
        const Answer a = serve(r, property, step);
        if (a == Answer::deferred) return;  // answered by provide_png or the timeout
        notify(r, a == Answer::served ? property : None);
    }

    void handle(XEvent& e, SelectionStep& step) {
        if (e.type == fixes_base + XFixesSelectionNotify) {
            on_owner_change(reinterpret_cast<const XFixesSelectionNotifyEvent&>(e), step);
        } else if (e.type == SelectionNotify) {
            on_selection_notify(e.xselection, step);
        } else if (e.type == SelectionRequest) {
            on_request(e.xselectionrequest, step);
        } else if (e.type == SelectionClear) {
            if (e.xselectionclear.selection == clipboard) disown();
        } else if (e.type == PropertyNotify) {
            on_property(e.xproperty, step);
        }
    }

    void expire(SelectionStep& step) {
        const auto now = Clock::now();
        if (in && now >= in->deadline) {
            step.errors.push_back("x11 clipboard: the program owning " + name_of(in->selection) +
                                  " (window " + hex(in->owner) + ") did not answer within " +
                                  std::to_string(opt.timeout.count()) + " ms" +
                                  (in->incr ? " while sending its text in parts" : "") +
                                  ": its text is not read");
            XDeleteProperty(dpy, window, in->property);
            drop_in(step);
        }
        if (!deferred.empty() && now >= deferred.front().deadline) {
            step.errors.push_back(
                "x11 clipboard: the image pasted did not come from the other "
                "side within " +
                std::to_string(opt.timeout.count()) + " ms: paste refused");
            std::erase_if(deferred, [&](const Deferred& d) {
                if (now < d.deadline) return false;
                notify(d.request, None);
                return true;
            });
        }
        for (auto it = serving.begin(); it != serving.end();) {
            if (now < it->deadline) {
                ++it;
                continue;
            }
            step.errors.push_back("x11 clipboard: the program pasting (window " +
                                  hex(it->requestor) + ") stopped reading the text after " +
                                  std::to_string(it->offset) + " of " +
                                  std::to_string(it->data->size()) + " bytes: given up");
            const auto at = it - serving.begin();
            finish_outgoing(it);
            it = serving.begin() + at;
        }
    }

    [[nodiscard]] std::optional<Clock::time_point> next_deadline() const {
        std::optional<Clock::time_point> t;
        if (in) t = in->deadline;
        if (!deferred.empty() && (!t || deferred.front().deadline < *t))
            t = deferred.front().deadline;
        for (const auto& o : serving)
            if (!t || o.deadline < *t) t = o.deadline;
        return t;
    }
};

SelectionBridge::SelectionBridge(std::unique_ptr<State> state) : s_(std::move(state)) {}
SelectionBridge::~SelectionBridge() = default;

const std::string& SelectionBridge::display_name() const {
    return s_->shown;
}

Result<std::unique_ptr<SelectionBridge>> SelectionBridge::open(const SelectionOptions& options) {
    const char* name = options.display.empty() ? std::getenv("DISPLAY") : options.display.c_str();
    if (name == nullptr)
        return Error::make("x11 clipboard: no X display: set $DISPLAY or --display");
    install_handlers();
    auto s = std::make_unique<State>();
    s->opt = options;
    s->shown = name;
    s->dpy = XOpenDisplay(name);
    if (s->dpy == nullptr) return Error::make("x11 clipboard: cannot open X display " + s->shown);
    {
        const std::lock_guard lock(g_displays_mutex);
        g_displays.push_back(s->dpy);
    }
    XSetIOErrorExitHandler(s->dpy, selection_on_x_io_exit, &s->broken);
    int error_base = 0;
    if (XFixesQueryExtension(s->dpy, &s->fixes_base, &error_base) == 0) {
        return Error::make("x11 clipboard: the X server " + s->shown +
                           " has no XFixes extension (needed to see copies)");
    }
    Display* dpy = s->dpy;
    s->window = XCreateSimpleWindow(dpy, DefaultRootWindow(dpy), 0, 0, 1, 1, 0, 0, 0);
    XSelectInput(dpy, s->window, PropertyChangeMask);  // the parts of INCR reads
    s->clipboard = XInternAtom(dpy, "CLIPBOARD", False);
    s->utf8 = XInternAtom(dpy, "UTF8_STRING", False);
    s->text = XInternAtom(dpy, "TEXT", False);
    s->targets = XInternAtom(dpy, "TARGETS", False);
    s->incr = XInternAtom(dpy, "INCR", False);
    s->png = XInternAtom(dpy, "image/png", False);
    for (unsigned i = 0; i < 4; ++i)
        s->props[i] = XInternAtom(dpy, ("PORTHOLE_SELECTION_" + std::to_string(i)).c_str(), False);
    // The request's own header and the property's name and type take the rest.
    const auto max_request = static_cast<std::size_t>(XMaxRequestSize(dpy)) * 4 - 64;
    s->incr_threshold = options.incr_threshold != 0 ? options.incr_threshold : max_request;
    s->chunk = std::min<std::size_t>(s->incr_threshold, std::size_t{64} * 1024);
    const unsigned long mask = XFixesSetSelectionOwnerNotifyMask |
                               XFixesSelectionWindowDestroyNotifyMask |
                               XFixesSelectionClientCloseNotifyMask;
    if (options.watch) {
        XFixesSelectSelectionInput(dpy, s->window, s->clipboard, mask);
        if (options.watch_primary) XFixesSelectSelectionInput(dpy, s->window, XA_PRIMARY, mask);
        // Text copied before we started is read too.
        if (const Window owner = XGetSelectionOwner(dpy, s->clipboard); owner != None)
            s->request(s->clipboard, owner, s->targets, CurrentTime);
    }
    XFlush(dpy);
    return std::unique_ptr<SelectionBridge>(new SelectionBridge(std::move(s)));
}

Result<void> SelectionBridge::own(std::string text) {
    return own_formats(std::move(text), false);
}

Result<void> SelectionBridge::own_formats(std::optional<std::string> text, bool png) {
    if (s_->broken)
        return Error::make("x11 clipboard: the connection to " + s_->shown + " is lost");
    s_->disown();  // pastes of a previous image are refused: it is gone
    if (text) s_->owned = std::make_shared<const std::string>(std::move(*text));
    s_->owned_png = png;
    s_->owning = true;
    XSetSelectionOwner(s_->dpy, s_->clipboard, s_->window, CurrentTime);
    if (XGetSelectionOwner(s_->dpy, s_->clipboard) != s_->window) {
        s_->disown();
        return Error::make(
            "x11 clipboard: could not own CLIPBOARD (another program took it at once)");
    }
    XFlush(s_->dpy);
    return {};
}

void SelectionBridge::provide_png(std::optional<std::string> png) {
    if (s_->broken) return;
    if (png && s_->owned_png) s_->png_data = std::make_shared<const std::string>(std::move(*png));
    s_->answer_deferred(png ? s_->png_data : nullptr);
    XFlush(s_->dpy);
}

void SelectionBridge::fetch_png() {
    if (s_->broken) return;
    const Window owner = XGetSelectionOwner(s_->dpy, s_->clipboard);
    s_->request(s_->clipboard, owner, s_->png, CurrentTime);
    XFlush(s_->dpy);
}

SelectionStep SelectionBridge::wait(std::chrono::milliseconds timeout, int wake_fd) {
    SelectionStep step;
    State& s = *s_;
    if (s.broken) {
        if (!s.broken_said) {
            step.errors.push_back("x11 clipboard: the connection to " + s.shown +
                                  " is lost: the clipboard no longer follows it");
            s.broken_said = true;
        }
        pollfd p{wake_fd, POLLIN, 0};
        ::poll(&p, wake_fd >= 0 ? 1 : 0, static_cast<int>(timeout.count()));
        return step;
    }
    if (XPending(s.dpy) == 0) {
        auto until = Clock::now() + timeout;
        if (auto d = s.next_deadline(); d && *d < until) until = *d;
        const auto ms = std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now());
        pollfd p[2] = {{ConnectionNumber(s.dpy), POLLIN, 0}, {wake_fd, POLLIN, 0}};
        ::poll(p, wake_fd >= 0 ? 2 : 1, static_cast<int>(std::max<std::int64_t>(0, ms.count())));
    }
    while (!s.broken && XPending(s.dpy) > 0) {
        XEvent e;
        XNextEvent(s.dpy, &e);
        s.handle(e, step);
    }
    if (!s.broken) {
        s.expire(step);
        XFlush(s.dpy);
    }
    return step;
}

}  // namespace porthole::x11
