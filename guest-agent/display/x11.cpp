// RandR 1.2+ mode setting for the X display the agent captures. The output
// changed is the primary one (else the first connected output with a CRTC);
// the screen is resized to hold every active CRTC, as xrandr does.
#include "display/x11.hpp"

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "display/modes.hpp"

// Last: Xlib's macros (Status, None, Bool) would break the headers above.
#include <X11/Xlib.h>
#include <X11/extensions/Xrandr.h>

namespace porthole::agent::display {

namespace {

// Xlib's default error handler exits the process: errors on our connection
// (a mode the server refuses) are recorded, others go to the previous handler
// (the capture's or the clipboard's, which record or ignore them).
std::atomic<Display*> g_ours{nullptr};
XErrorHandler g_previous = nullptr;
thread_local std::string t_error;
extern "C" int display_on_x_error(Display* dpy, XErrorEvent* e) {
    if (dpy == g_ours.load()) {
        char text[256] = {};
        XGetErrorText(dpy, e->error_code, text, sizeof text);
        t_error = std::string(text) + " (request " + std::to_string(e->request_code) + "." +
                  std::to_string(e->minor_code) + ")";
        return 0;
    }
    return g_previous != nullptr ? g_previous(dpy, e) : 0;
}
void install_handler() {
    static std::once_flag once;
    std::call_once(once, [] { g_previous = XSetErrorHandler(display_on_x_error); });
}

struct DisplayCloser {
    void operator()(Display* d) const {
        g_ours.compare_exchange_strong(d, nullptr);
        XCloseDisplay(d);
    }
};
struct ResourcesFree {
    void operator()(XRRScreenResources* r) const { XRRFreeScreenResources(r); }
};
struct OutputFree {
    void operator()(XRROutputInfo* o) const { XRRFreeOutputInfo(o); }
};
struct CrtcFree {
    void operator()(XRRCrtcInfo* c) const { XRRFreeCrtcInfo(c); }
};
using Resources = std::unique_ptr<XRRScreenResources, ResourcesFree>;
using OutputInfo = std::unique_ptr<XRROutputInfo, OutputFree>;
using CrtcInfo = std::unique_ptr<XRRCrtcInfo, CrtcFree>;

std::uint32_t refresh_mhz(const XRRModeInfo& m) {
    const std::uint64_t pixels = std::uint64_t{m.hTotal} * m.vTotal;
    if (pixels == 0) return 0;
    return static_cast<std::uint32_t>(std::uint64_t{m.dotClock} * 1000 / pixels);
}

const XRRModeInfo* find_mode(const XRRScreenResources& res, RRMode id) {
    for (int i = 0; i < res.nmode; ++i)
        if (res.modes[i].id == id) return &res.modes[i];
    return nullptr;
}

class X11Modes final : public DisplayModes {
  public:
    X11Modes(std::unique_ptr<Display, DisplayCloser> dpy, std::string name)
        : dpy_(std::move(dpy)), name_(std::move(name)), root_(DefaultRootWindow(dpy_.get())) {}
    [[nodiscard]] std::string_view name() const override { return "x11"; }

    Result<std::vector<Mode>> modes() override {
        auto t = target();
        if (!t) return t.error();
        std::vector<Mode> out;
        for (int i = 0; i < t->output->nmode; ++i) {
            if (const auto* m = find_mode(*t->res, t->output->modes[i]))
                out.push_back(Mode{m->width, m->height, refresh_mhz(*m)});
        }
        return out;
    }

    Result<Mode> current() override {
        auto t = target();
        if (!t) return t.error();
        const auto* m = find_mode(*t->res, t->crtc->mode);
        if (m == nullptr) return Error::make("x11: the CRTC of " + t->name + " has no mode");
        return Mode{m->width, m->height, refresh_mhz(*m)};
    }

    Result<void> set(const Mode& mode) override {
        Display* d = dpy_.get();
        auto t = target();
        if (!t) return t.error();
        RRMode id = None;
        for (int i = 0; i < t->output->nmode && id == None; ++i) {
            const auto* m = find_mode(*t->res, t->output->modes[i]);
            if (m != nullptr && m->width == mode.width && m->height == mode.height &&
                refresh_mhz(*m) == mode.refresh_mhz)
                id = m->id;
        }
        if (id == None) return Error::make("x11: " + t->name + " does not offer " + describe(mode));
        // The new screen: every active CRTC, ours with the new mode (rotation kept).
        const bool sideways = (t->crtc->rotation & (RR_Rotate_90 | RR_Rotate_270)) != 0;
        const std::uint32_t cw = sideways ? mode.height : mode.width;
        const std::uint32_t ch = sideways ? mode.width : mode.height;
        std::int64_t sw = t->crtc->x + std::int64_t{cw}, sh = t->crtc->y + std::int64_t{ch};
        for (int i = 0; i < t->res->ncrtc; ++i) {
            if (t->res->crtcs[i] == t->crtc_id) continue;
            CrtcInfo c(XRRGetCrtcInfo(d, t->res.get(), t->res->crtcs[i]));
            if (!c || c->mode == None) continue;
            sw = std::max<std::int64_t>(sw, c->x + std::int64_t{c->width});
            sh = std::max<std::int64_t>(sh, c->y + std::int64_t{c->height});
        }
        int min_w = 0, min_h = 0, max_w = 0, max_h = 0;
        XRRGetScreenSizeRange(d, root_, &min_w, &min_h, &max_w, &max_h);
        if (sw > max_w || sh > max_h)
            return Error::make("x11: a " + std::to_string(sw) + "x" + std::to_string(sh) +
                               " screen is larger than the server allows (" +
                               std::to_string(max_w) + "x" + std::to_string(max_h) + ")");
        sw = std::max<std::int64_t>(sw, min_w);
        sh = std::max<std::int64_t>(sh, min_h);
        // Keep the physical size's DPI (some desktops scale by it).
        const int scr = DefaultScreen(d);
        const int old_w = DisplayWidth(d, scr), old_h = DisplayHeight(d, scr);
        const auto mm_w = static_cast<int>(sw * DisplayWidthMM(d, scr) / std::max(old_w, 1));
        const auto mm_h = static_cast<int>(sh * DisplayHeightMM(d, scr) / std::max(old_h, 1));

        t_error.clear();
        XGrabServer(d);
        // The CRTC goes off first: the screen may not shrink below an active CRTC.
        Result<void> result;
        if (XRRSetCrtcConfig(d, t->res.get(), t->crtc_id, CurrentTime, 0, 0, None, RR_Rotate_0,
                             nullptr, 0) != RRSetConfigSuccess) {
            result = Error::make("x11: cannot switch off the CRTC of " + t->name);
        } else {
            XRRSetScreenSize(d, root_, static_cast<int>(sw), static_cast<int>(sh),
                             std::max(mm_w, 1), std::max(mm_h, 1));
            XSync(d, False);
            if (!t_error.empty()) result = Error::make("x11: screen resize refused: " + t_error);
            if (XRRSetCrtcConfig(d, t->res.get(), t->crtc_id, CurrentTime, t->crtc->x, t->crtc->y,
                                 result ? id : t->crtc->mode, t->crtc->rotation, t->crtc->outputs,
                                 t->crtc->noutput) != RRSetConfigSuccess &&
                result) {
                // Put the old mode back rather than leave the display dark.
                result = Error::make("x11: " + t->name + " refused " + describe(mode));
                XRRSetScreenSize(d, root_, old_w, old_h, DisplayWidthMM(d, scr),
                                 DisplayHeightMM(d, scr));
                XRRSetCrtcConfig(d, t->res.get(), t->crtc_id, CurrentTime, t->crtc->x, t->crtc->y,
                                 t->crtc->mode, t->crtc->rotation, t->crtc->outputs,
                                 t->crtc->noutput);
            }
        }
        XUngrabServer(d);
        XSync(d, False);
        return result;
    }

  private:
    struct Target {
        Resources res;
        OutputInfo output;
        RRCrtc crtc_id = None;
        CrtcInfo crtc;
        std::string name;
    };

    static std::string describe(const Mode& m) {
        return std::to_string(m.width) + "x" + std::to_string(m.height) + "@" +
               std::to_string(m.refresh_mhz / 1000) + "." +
               std::to_string(m.refresh_mhz % 1000 / 100) + "Hz";
    }

    // The output whose mode follows the host (fresh each time: outputs come and go).
    Result<Target> target() {
        Display* d = dpy_.get();
        Target t;
        t.res.reset(XRRGetScreenResourcesCurrent(d, root_));
        if (!t.res) return Error::make("x11: RandR gave no screen resources on " + name_);
        const RROutput primary = XRRGetOutputPrimary(d, root_);
        for (int pass = 0; pass < 2 && !t.output; ++pass) {
            for (int i = 0; i < t.res->noutput; ++i) {
                const RROutput id = t.res->outputs[i];
                if (pass == 0 && id != primary) continue;
                OutputInfo o(XRRGetOutputInfo(d, t.res.get(), id));
                if (!o || o->crtc == None || o->connection == RR_Disconnected) continue;
                t.output = std::move(o);
                break;
            }
        }
        if (!t.output) return Error::make("x11: no output of " + name_ + " is switched on");
        t.name = std::string(t.output->name, static_cast<std::size_t>(t.output->nameLen));
        t.crtc_id = t.output->crtc;
        t.crtc.reset(XRRGetCrtcInfo(d, t.res.get(), t.crtc_id));
        if (!t.crtc) return Error::make("x11: cannot read the CRTC of " + t.name);
        return t;
    }

    std::unique_ptr<Display, DisplayCloser> dpy_;
    std::string name_;
    Window root_;
};

}  // namespace

Result<std::unique_ptr<DisplayModes>> open_x11_modes(const std::string& display) {
    install_handler();
    std::unique_ptr<Display, DisplayCloser> dpy(
        XOpenDisplay(display.empty() ? nullptr : display.c_str()));
    const std::string name = display.empty() ? "$DISPLAY" : display;
    if (!dpy) return Error::make("x11: cannot open display " + name);
    int event_base = 0, error_base = 0, major = 0, minor = 0;
    if (!XRRQueryExtension(dpy.get(), &event_base, &error_base) ||
        !XRRQueryVersion(dpy.get(), &major, &minor) || major < 1 || (major == 1 && minor < 2))
        return Error::make("x11: display " + name + " lacks RandR 1.2 (has " +
                           std::to_string(major) + "." + std::to_string(minor) + ")");
    g_ours.store(dpy.get());
    return std::unique_ptr<DisplayModes>(std::make_unique<X11Modes>(std::move(dpy), name));
}

}  // namespace porthole::agent::display
