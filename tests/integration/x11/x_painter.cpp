#include "x_painter.hpp"

#include <utility>

#include <X11/Xlib.h>
#include <X11/Xutil.h>
#ifdef PORTHOLE_TEST_HAVE_XRANDR
#include <X11/extensions/Xrandr.h>
#endif

namespace porthole::testing {

struct XPainter::Impl {
    Display* dpy = nullptr;
    Window root = 0;
    GC gc = nullptr;
    Cursor cursor = 0;
    std::uint32_t width = 0, height = 0;
    ~Impl() {
        if (dpy == nullptr) return;
        if (cursor != 0) XFreeCursor(dpy, cursor);
        if (gc != nullptr) XFreeGC(dpy, gc);
        XCloseDisplay(dpy);
    }
};

Result<XPainter> XPainter::open(const std::string& display) {
    auto impl = std::make_unique<Impl>();
    impl->dpy = XOpenDisplay(display.c_str());
    if (impl->dpy == nullptr) return Error::make("test painter: cannot open display " + display);
    impl->root = DefaultRootWindow(impl->dpy);
    impl->gc = XCreateGC(impl->dpy, impl->root, 0, nullptr);
    XSetSubwindowMode(impl->dpy, impl->gc, IncludeInferiors);
    const int screen = DefaultScreen(impl->dpy);
    impl->width = static_cast<std::uint32_t>(DisplayWidth(impl->dpy, screen));
    impl->height = static_cast<std::uint32_t>(DisplayHeight(impl->dpy, screen));
    return XPainter(std::move(impl));
}

XPainter::XPainter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
XPainter::XPainter(XPainter&&) noexcept = default;
XPainter& XPainter::operator=(XPainter&&) noexcept = default;
XPainter::~XPainter() = default;

void XPainter::fill(const protocol::Rect& r, std::uint32_t rgb) {
    XSetForeground(impl_->dpy, impl_->gc, rgb);
    XFillRectangle(impl_->dpy, impl_->root, impl_->gc, static_cast<int>(r.x), static_cast<int>(r.y),
                   r.w, r.h);
}

void XPainter::put(const protocol::Rect& r, std::span<const std::byte> image,
                   std::uint32_t stride) {
    Display* d = impl_->dpy;
    const int screen = DefaultScreen(d);
    // XCreateImage wants a mutable pointer but XPutImage only reads it.
    XImage* img =
        XCreateImage(d, DefaultVisual(d, screen), static_cast<unsigned>(DefaultDepth(d, screen)),
                     ZPixmap, 0, const_cast<char*>(reinterpret_cast<const char*>(image.data())),
                     impl_->width, impl_->height, 32, static_cast<int>(stride));
    if (img == nullptr) return;
    img->byte_order = LSBFirst;
    XPutImage(d, impl_->root, impl_->gc, img, static_cast<int>(r.x), static_cast<int>(r.y),
              static_cast<int>(r.x), static_cast<int>(r.y), r.w, r.h);
    img->data = nullptr;  // ours: XDestroyImage must not free it
    XDestroyImage(img);
}

void XPainter::warp_pointer(int x, int y) {
    XWarpPointer(impl_->dpy, None, impl_->root, 0, 0, 0, 0, x, y);
}

void XPainter::set_font_cursor(unsigned shape) {
    if (impl_->cursor != 0) XFreeCursor(impl_->dpy, impl_->cursor);
    impl_->cursor = XCreateFontCursor(impl_->dpy, shape);
    XDefineCursor(impl_->dpy, impl_->root, impl_->cursor);
}

bool XPainter::resize_screen(std::uint32_t width, std::uint32_t height) {
#ifdef PORTHOLE_TEST_HAVE_XRANDR
    Display* d = impl_->dpy;
    XRRScreenResources* res = XRRGetScreenResources(d, impl_->root);
    if (res == nullptr) return false;
    for (int i = 0; i < res->ncrtc; ++i) {
        XRRSetCrtcConfig(d, res, res->crtcs[i], CurrentTime, 0, 0, None, RR_Rotate_0, nullptr, 0);
    }
    XRRFreeScreenResources(res);
    XRRSetScreenSize(d, impl_->root, static_cast<int>(width), static_cast<int>(height),
                     static_cast<int>(width / 4), static_cast<int>(height / 4));
    XSync(d, False);
    XWindowAttributes wa;
    XGetWindowAttributes(d, impl_->root, &wa);
    impl_->width = static_cast<std::uint32_t>(wa.width);
    impl_->height = static_cast<std::uint32_t>(wa.height);
    return impl_->width == width && impl_->height == height;
#else
    (void)width;
    (void)height;
    return false;
#endif
}

bool XPainter::add_mode(std::uint32_t width, std::uint32_t height) {
#ifdef PORTHOLE_TEST_HAVE_XRANDR
    Display* d = impl_->dpy;
    XRRScreenResources* res = XRRGetScreenResources(d, impl_->root);
    if (res == nullptr) return false;
    if (res->noutput < 1) {
        XRRFreeScreenResources(res);
        return false;
    }
    std::string name = std::to_string(width) + "x" + std::to_string(height) + "_test";
    XRRModeInfo mi{};
    mi.width = width;
    mi.height = height;
    mi.hTotal = width;  // no blanking: Xvfb ignores timings; the rate comes out at 60 Hz
    mi.vTotal = height;
    mi.dotClock = static_cast<unsigned long>(width) * height * 60;
    mi.name = name.data();
    mi.nameLength = static_cast<unsigned>(name.size());
    const RRMode mode = XRRCreateMode(d, impl_->root, &mi);
    if (mode != None) XRRAddOutputMode(d, res->outputs[0], mode);
    XRRFreeScreenResources(res);
    XSync(d, False);
    return mode != None;
#else
    (void)width;
    (void)height;
    return false;
#endif
}

std::pair<std::uint32_t, std::uint32_t> XPainter::screen_size() {
    XWindowAttributes wa;
    XGetWindowAttributes(impl_->dpy, impl_->root, &wa);
    return {static_cast<std::uint32_t>(wa.width), static_cast<std::uint32_t>(wa.height)};
}

void XPainter::sync() {
    XSync(impl_->dpy, False);
}
std::uint32_t XPainter::width() const {
    return impl_->width;
}
std::uint32_t XPainter::height() const {
    return impl_->height;
}

}  // namespace porthole::testing
