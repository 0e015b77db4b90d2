#include "capture/x11.hpp"

#include <poll.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <utility>
#include <vector>

// Xlib defines macros (Status, Bool, None): include it after our headers.
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <X11/extensions/XShm.h>
#include <X11/extensions/Xdamage.h>
#include <X11/extensions/Xfixes.h>

namespace porthole::agent {

namespace {

std::uint64_t steady_ns() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::steady_clock::now().time_since_epoch())
                                          .count());
}

// Xlib's default error handler exits the process; ours records the error so
// that the failing call (XShmGetImage returns 0) can report it.
thread_local std::string t_last_x_error;
extern "C" int record_x_error(Display* dpy, XErrorEvent* e) {
    char text[256] = {};
    XGetErrorText(dpy, e->error_code, text, sizeof text);
    t_last_x_error = std::string(text) + " (request " + std::to_string(e->request_code) + "." +
                     std::to_string(e->minor_code) + ")";
    return 0;
}
// Xlib's default I/O error handler exits; this one returns, so that each
// display's exit handler decides (ours: report an error; others: exit as before).
extern "C" int return_from_io_error(Display*) {
    return 0;
}
void install_error_handlers() {
    static std::once_flag once;
    std::call_once(once, [] {
        XSetErrorHandler(record_x_error);
        XSetIOErrorHandler(return_from_io_error);
    });
}

// Xlib calls exit() when the connection breaks unless an exit handler
// returns; ours marks the source so that next_frame reports an error.
extern "C" void on_x_io_error(Display*, void* user_data) {
    *static_cast<bool*>(user_data) = true;
}

struct DisplayCloser {
    void operator()(Display* d) const { XCloseDisplay(d); }
};
struct XImageDestroyer {
    void operator()(XImage* i) const { XDestroyImage(i); }
};
using XImagePtr = std::unique_ptr<XImage, XImageDestroyer>;
struct XFreeDeleter {
    void operator()(void* p) const { XFree(p); }
};

// A SysV shared-memory segment attached here and by the X server:
// [current image: stride * height][staging: same size]. Sub-rectangles are
// grabbed packed into staging, then copied to their place in the image.
class ShmImage {
  public:
    static Result<std::unique_ptr<ShmImage>> create(Display* dpy, std::uint32_t width,
                                                    std::uint32_t height) {
        auto s = std::make_unique<ShmImage>(dpy, width, height);
        const std::size_t bytes = s->image_bytes() * 2;
        s->info_.shmid = shmget(IPC_PRIVATE, bytes, IPC_CREAT | 0600);
        if (s->info_.shmid < 0) {
            return Error::make("x11: shmget of " + std::to_string(bytes) + " bytes failed: " +
                                   std::strerror(errno) + " (raise kernel.shmmax / shmall)",
                               errno);
        }
        void* addr = shmat(s->info_.shmid, nullptr, 0);
        if (addr == reinterpret_cast<void*>(-1)) {  // NOLINT: shmat's error value
            const int err = errno;
            shmctl(s->info_.shmid, IPC_RMID, nullptr);
            return Error::make(std::string("x11: shmat failed: ") + std::strerror(err), err);
        }
        s->info_.shmaddr = static_cast<char*>(addr);
        s->info_.readOnly = False;
        t_last_x_error.clear();
        const bool attached = XShmAttach(dpy, &s->info_) != 0;
        XSync(dpy, False);
        // Marked for removal now: it disappears when both sides detach or die.
        shmctl(s->info_.shmid, IPC_RMID, nullptr);
        if (!attached || !t_last_x_error.empty()) {
            return Error::make(
                "x11: the X server cannot attach our shared memory (XShmAttach: " + t_last_x_error +
                "); XShm needs a local server on the same machine and IPC namespace");
        }
        s->attached_ = true;
        return s;
    }
    // The server is gone: release our side only.
    void forget_server() { attached_ = false; }
    ~ShmImage() {
        if (attached_) {
            XShmDetach(dpy_, &info_);
            XSync(dpy_, False);
        }
        if (info_.shmaddr != nullptr) shmdt(info_.shmaddr);
    }
    ShmImage(const ShmImage&) = delete;
    ShmImage& operator=(const ShmImage&) = delete;

    [[nodiscard]] std::size_t image_bytes() const { return std::size_t{stride_} * height_; }
    [[nodiscard]] std::byte* image() const { return reinterpret_cast<std::byte*>(info_.shmaddr); }
    [[nodiscard]] std::uint32_t stride() const { return stride_; }
    [[nodiscard]] std::uint32_t width() const { return width_; }
    [[nodiscard]] std::uint32_t height() const { return height_; }

    // Copies rect r of the root window into the image, padding byte set to 255.
    bool grab(Window root, Visual* visual, int depth, const protocol::Rect& r) {
        const bool full_rows = r.x == 0 && r.w == width_;
        // Full-width bands land in place (same stride); others go via staging.
        char* dst = info_.shmaddr + (full_rows ? std::size_t{r.y} * stride_ : image_bytes());
        XImagePtr img(XShmCreateImage(dpy_, visual, static_cast<unsigned>(depth), ZPixmap, dst,
                                      &info_, r.w, r.h));
        if (!img) return false;
        if (XShmGetImage(dpy_, root, img.get(), static_cast<int>(r.x), static_cast<int>(r.y),
                         AllPlanes) == 0) {
            return false;
        }
        const std::size_t src_stride = static_cast<std::size_t>(img->bytes_per_line);
        for (std::uint32_t row = 0; row < r.h; ++row) {
            // The segment is raw shmat memory: no objects of another type live there.
            const auto* s = reinterpret_cast<const std::uint32_t*>(dst + row * src_stride);
            auto* d = reinterpret_cast<std::uint32_t*>(
                info_.shmaddr + std::size_t{r.y + row} * stride_ + std::size_t{r.x} * 4);
            for (std::uint32_t i = 0; i < r.w; ++i)
                d[i] = s[i] | 0xFF000000u;
        }
        return true;
    }

    // Use create(); this only records the geometry.
    ShmImage(Display* dpy, std::uint32_t width, std::uint32_t height)
        : dpy_(dpy), width_(width), height_(height), stride_(width * 4) {
        info_.shmid = -1;
        info_.shmaddr = nullptr;
    }

  private:
    Display* dpy_;
    std::uint32_t width_, height_, stride_;
    XShmSegmentInfo info_{};
    bool attached_ = false;
};

}  // namespace

struct X11Source::Impl {
    std::unique_ptr<Display, DisplayCloser> dpy;
    Window root = 0;
    Visual* visual = nullptr;
    int depth = 0;
    int damage_event_base = 0;
    int fixes_event_base = 0;
    Damage damage = 0;
    XserverRegion region = 0;
    std::unique_ptr<ShmImage> image;
    std::uint32_t screen_w = 0, screen_h = 0;  // latest size the server told us
    bool full = true;                          // next frame grabs everything
    bool damaged = false;                      // a DamageNotify is pending
    bool cursor_changed = true;                // XFixes said the shape changed
    std::optional<CursorUpdate> last_cursor;
    std::string error;
    bool connection_lost = false;  // set by on_x_io_error; no Xlib calls after it

    ~Impl() {
        if (connection_lost && image) image->forget_server();
        image.reset();  // detaches while the display is still open
        if (dpy && !connection_lost) {
            if (region != 0) XFixesDestroyRegion(dpy.get(), region);
            if (damage != 0) XDamageDestroy(dpy.get(), damage);
        }
    }

    void drain_events() {
        Display* d = dpy.get();
        while (XPending(d) > 0) {
            XEvent ev;
            XNextEvent(d, &ev);
            if (ev.type == damage_event_base + XDamageNotify) {
                damaged = true;
            } else if (ev.type == fixes_event_base + XFixesCursorNotify) {
                cursor_changed = true;
            } else if (ev.type == ConfigureNotify && ev.xconfigure.window == root) {
                screen_w = static_cast<std::uint32_t>(ev.xconfigure.width);
                screen_h = static_cast<std::uint32_t>(ev.xconfigure.height);
            }
        }
    }

    CaptureStatus fail(std::string message) {
        error = std::move(message);
        return CaptureStatus::error;
    }

    // Each XShmGetImage is a round trip (~20-50 us, the cost of copying
    // tens of KiB), so neighbouring rectangles (a line of glyphs) are grabbed
    // as their bounding box when that adds at most kMergeSlackPixels.
    static constexpr std::uint64_t kMergeSlackPixels = std::uint64_t{16} * 1024;
    static std::vector<protocol::Rect> grab_plan(const protocol::DamageList& damage) {
        std::vector<protocol::Rect> plan;
        std::uint64_t covered = 0;  // damaged pixels inside plan.back()
        for (const auto& r : damage.rects()) {
            if (!plan.empty()) {
                const auto box = protocol::bounding_box(plan.back(), r);
                if (box.area() <= covered + r.area() + kMergeSlackPixels) {
                    plan.back() = box;
                    covered += r.area();
                    continue;
                }
            }
            plan.push_back(r);
            covered = r.area();
        }
        return plan;
    }

    bool grab_all(const protocol::DamageList& list) {
        t_last_x_error.clear();
        for (const auto& r : grab_plan(list)) {
            if (!image->grab(root, visual, depth, r)) {
                error = "x11: XShmGetImage of " + std::to_string(r.w) + "x" + std::to_string(r.h) +
                        "+" + std::to_string(r.x) + "+" + std::to_string(r.y) +
                        " failed: " + (t_last_x_error.empty() ? "no reason given" : t_last_x_error);
                return false;
            }
        }
        return true;
    }

    CaptureStatus next_frame(std::chrono::milliseconds timeout, CapturedFrame& out) {
        if (connection_lost) return fail("x11: the connection to the X server was lost");
        const auto status = next_frame_connected(timeout, out);
        if (connection_lost) return fail("x11: the connection to the X server was lost");
        return status;
    }

    CaptureStatus next_frame_connected(std::chrono::milliseconds timeout, CapturedFrame& out) {
        Display* d = dpy.get();
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            drain_events();
            if (!image || screen_w != image->width() || screen_h != image->height()) {
                image.reset();
                auto created = ShmImage::create(d, screen_w, screen_h);
                if (!created) return fail(created.error().message);
                image = std::move(*created);
                full = true;
            }
            protocol::DamageList list;
            if (full) {
                // Forget pending damage first: anything drawn after this is reported next time.
                XDamageSubtract(d, damage, 0, 0);
                damaged = false;
                list.set_full(image->width(), image->height());
            } else if (damaged) {
                damaged = false;
                XDamageSubtract(d, damage, 0, region);
                int n = 0;
                std::unique_ptr<XRectangle, XFreeDeleter> rects(XFixesFetchRegion(d, region, &n));
                for (int i = 0; i < n; ++i) {
                    const XRectangle& xr = rects.get()[i];
                    // Clip to the screen: damage may outlive a shrink.
                    const std::int64_t x0 = std::max<std::int64_t>(xr.x, 0);
                    const std::int64_t y0 = std::max<std::int64_t>(xr.y, 0);
                    const std::int64_t x1 = std::min<std::int64_t>(xr.x + xr.width, image->width());
                    const std::int64_t y1 =
                        std::min<std::int64_t>(xr.y + xr.height, image->height());
                    if (x1 <= x0 || y1 <= y0) continue;
                    list.add(protocol::Rect{
                        static_cast<std::uint32_t>(x0), static_cast<std::uint32_t>(y0),
                        static_cast<std::uint32_t>(x1 - x0), static_cast<std::uint32_t>(y1 - y0)});
                }
            }
            if (!list.empty()) {
                if (!grab_all(list)) {
                    // The screen may have shrunk under us: re-check its size first.
                    XWindowAttributes wa;
                    if (XGetWindowAttributes(d, root, &wa) != 0 &&
                        (static_cast<std::uint32_t>(wa.width) != image->width() ||
                         static_cast<std::uint32_t>(wa.height) != image->height())) {
                        screen_w = static_cast<std::uint32_t>(wa.width);
                        screen_h = static_cast<std::uint32_t>(wa.height);
                        continue;
                    }
                    return CaptureStatus::error;
                }
                full = false;
                out.image = protocol::FrameSource{image->width(), image->height(), image->stride(),
                                                  protocol::PixelFormat::bgra8, image->image()};
                out.damage = list;
                out.capture_time_ns = steady_ns();
                return CaptureStatus::ok;
            }
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) return CaptureStatus::timeout;
            XFlush(d);
            pollfd p{ConnectionNumber(d), POLLIN, 0};
            const int rc =
                ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count() + 1, 60'000)));
            if (rc < 0 && errno == EINTR) return CaptureStatus::interrupted;
            if (rc < 0)
                return fail(std::string("x11: poll on the X connection: ") + std::strerror(errno));
            if ((p.revents & (POLLHUP | POLLERR)) != 0) {
                return fail("x11: the X server closed the connection");
            }
        }
    }

    std::optional<CursorShapeUpdate> cursor_shape() {
        std::unique_ptr<XFixesCursorImage, XFreeDeleter> ci(XFixesGetCursorImage(dpy.get()));
        if (!ci || ci->width == 0 || ci->height == 0 || ci->width > protocol::kMaxCursorSize ||
            ci->height > protocol::kMaxCursorSize) {
            return std::nullopt;
        }
        CursorShapeUpdate s;
        s.type = protocol::CursorType::color;
        s.width = ci->width;
        s.height = ci->height;
        s.pitch = s.width * 4;
        s.hotspot_x = ci->xhot;
        s.hotspot_y = ci->yhot;
        s.data.resize(std::size_t{s.pitch} * s.height);
        const std::size_t count = std::size_t{s.width} * s.height;
        for (std::size_t i = 0; i < count; ++i) {
            // 'unsigned long' holding premultiplied ARGB in its low 32 bits.
            const auto argb = static_cast<std::uint32_t>(ci->pixels[i]);
            const std::uint32_t a = argb >> 24;
            auto un = [a](std::uint32_t c) {
                return a == 0 ? 0u : std::min<std::uint32_t>(255u, (c * 255u + a / 2) / a);
            };
            std::byte* p = s.data.data() + i * 4;
            p[0] = static_cast<std::byte>(un(argb & 0xFFu));
            p[1] = static_cast<std::byte>(un((argb >> 8) & 0xFFu));
            p[2] = static_cast<std::byte>(un((argb >> 16) & 0xFFu));
            p[3] = static_cast<std::byte>(a);
        }
        return s;
    }

    std::optional<CursorUpdate> cursor() {
        if (connection_lost) return std::nullopt;
        drain_events();
        Window root_ret = 0, child = 0;
        int rx = 0, ry = 0, wx = 0, wy = 0;
        unsigned mask = 0;
        const bool on_screen =
            XQueryPointer(dpy.get(), root, &root_ret, &child, &rx, &ry, &wx, &wy, &mask) != 0;
        if (connection_lost) return std::nullopt;
        // Events the server sent before its reply (a cursor change) were queued while
        // XQueryPointer waited: take them now, so this call reports all that came before it.
        drain_events();
        if (connection_lost) return std::nullopt;
        CursorUpdate u;
        u.x = rx;
        u.y = ry;
        u.visible = on_screen;
        if (cursor_changed) {
            cursor_changed = false;
            u.shape = cursor_shape();
        }
        if (!u.shape && last_cursor && last_cursor->x == u.x && last_cursor->y == u.y &&
            last_cursor->visible == u.visible) {
            return std::nullopt;
        }
        last_cursor = CursorUpdate{std::nullopt, u.x, u.y, u.visible};
        return u;
    }
};

Result<std::unique_ptr<X11Source>> X11Source::open(const CaptureOptions& options) {
    install_error_handlers();
    auto impl = std::make_unique<Impl>();
    const char* name = options.display.empty() ? nullptr : options.display.c_str();
    impl->dpy.reset(XOpenDisplay(name));
    const std::string shown = name != nullptr ? name : "$DISPLAY";
    if (!impl->dpy) {
        return Error::make("x11: cannot open display '" + shown +
                           "' (is the X server running, DISPLAY set, access allowed?)");
    }
    Display* d = impl->dpy.get();
    XSetIOErrorExitHandler(d, on_x_io_error, &impl->connection_lost);
    const int screen = DefaultScreen(d);
    impl->root = RootWindow(d, screen);

    int major = 0, minor = 0, event_base = 0, error_base = 0;
    Bool pixmaps = False;
    if (XShmQueryVersion(d, &major, &minor, &pixmaps) == 0) {
        return Error::make("x11: display '" + shown + "' has no MIT-SHM extension (XShm)");
    }
    if (XDamageQueryExtension(d, &impl->damage_event_base, &error_base) == 0) {
        return Error::make("x11: display '" + shown + "' has no DAMAGE extension");
    }
    if (XFixesQueryExtension(d, &impl->fixes_event_base, &error_base) == 0 ||
        XFixesQueryVersion(d, &major, &minor) == 0 || major < 2) {
        return Error::make("x11: display '" + shown + "' has no XFIXES 2.0 extension");
    }
    (void)event_base;

    XWindowAttributes wa;
    if (XGetWindowAttributes(d, impl->root, &wa) == 0) {
        return Error::make("x11: cannot read the root window's attributes on '" + shown + "'");
    }
    const Visual* v = wa.visual;
    XVisualInfo tmpl{};
    tmpl.visualid = XVisualIDFromVisual(wa.visual);
    int nvis = 0;
    std::unique_ptr<XVisualInfo, XFreeDeleter> vi(XGetVisualInfo(d, VisualIDMask, &tmpl, &nvis));
    const int bits = [&] {
        int count = 0;
        std::unique_ptr<XPixmapFormatValues, XFreeDeleter> f(XListPixmapFormats(d, &count));
        for (int i = 0; i < count; ++i) {
            if (f.get()[i].depth == wa.depth) return f.get()[i].bits_per_pixel;
        }
        return 0;
    }();
    const bool truecolor = vi && nvis > 0 && vi->c_class == TrueColor;
    if ((wa.depth != 24 && wa.depth != 32) || !truecolor || bits != 32 || v->red_mask != 0xFF0000 ||
        v->green_mask != 0xFF00 || v->blue_mask != 0xFF || ImageByteOrder(d) != LSBFirst) {
        return Error::make("x11: the root window of '" + shown + "' has depth " +
                           std::to_string(wa.depth) + ", " + std::to_string(bits) +
                           " bits per pixel" + (truecolor ? "" : ", not TrueColor") +
                           "; only depth 24/32 TrueColor with 8-bit BGRX pixels is supported "
                           "(start the X server with 24-bit colour, e.g. Xvfb -screen 0 "
                           "1920x1080x24)");
    }
    impl->visual = wa.visual;
    impl->depth = wa.depth;
    impl->screen_w = static_cast<std::uint32_t>(wa.width);
    impl->screen_h = static_cast<std::uint32_t>(wa.height);

    auto image = ShmImage::create(d, impl->screen_w, impl->screen_h);
    if (!image) return image.error();
    impl->image = std::move(*image);

    XSelectInput(d, impl->root, StructureNotifyMask);
    impl->damage = XDamageCreate(d, impl->root, XDamageReportNonEmpty);
    impl->region = XFixesCreateRegion(d, nullptr, 0);
    XFixesSelectCursorInput(d, impl->root, XFixesDisplayCursorNotifyMask);
    XSync(d, False);
    return std::make_unique<X11Source>(std::move(impl));
}

X11Source::X11Source(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
X11Source::~X11Source() = default;

CaptureStatus X11Source::next_frame(std::chrono::milliseconds timeout, CapturedFrame& out) {
    return impl_->next_frame(timeout, out);
}
std::optional<CursorUpdate> X11Source::cursor() {
    return impl_->cursor();
}
std::string X11Source::last_error() const {
    return impl_->error;
}
std::uint32_t X11Source::width() const {
    return impl_->image->width();
}
std::uint32_t X11Source::height() const {
    return impl_->image->height();
}

}  // namespace porthole::agent
