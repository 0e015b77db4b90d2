#include "input/evdev_input.hpp"

#include "input/evdev_device.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <libevdev/libevdev.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>

#include "porthole/util/adaptive_wait.hpp"
#include "porthole/util/unique_fd.hpp"

namespace porthole::client::input {

std::int32_t normalise_abs(std::int32_t value, std::int32_t min, std::int32_t max) {
    if (max <= min) return 0;
    const std::int64_t v = std::clamp<std::int64_t>(value, min, max) - min;
    return static_cast<std::int32_t>(v * protocol::ev::abs_max / (std::int64_t{max} - min));
}

namespace {

// Follows udev's links (by-id/by-path -> ../eventN) to the node itself, so
// logs and the hot-plug watch name the real device.
std::string resolve_node(const std::string& path) {
    std::filesystem::path p = path;
    // Stop at eventN: what sits behind the node itself is no concern of ours.
    for (int i = 0; i < 8 && !p.filename().string().starts_with("event"); ++i) {
        char buf[4096];
        const ssize_t n = ::readlink(p.c_str(), buf, sizeof buf - 1);
        if (n <= 0) break;
        const std::filesystem::path target(std::string(buf, static_cast<std::size_t>(n)));
        p = (target.is_absolute() ? target : p.parent_path() / target).lexically_normal();
    }
    return p.string();
}

using Clock = std::chrono::steady_clock;

bool is_keyboard(const libevdev* d) {
    return libevdev_has_event_code(d, EV_KEY, KEY_A) &&
           libevdev_has_event_code(d, EV_KEY, KEY_SPACE);
}
bool is_pointer(const libevdev* d) {
    return libevdev_has_event_code(d, EV_KEY, BTN_LEFT) &&
           (libevdev_has_event_code(d, EV_REL, REL_X) || libevdev_has_event_code(d, EV_ABS, ABS_X));
}

struct Device {
    std::string path;  // as configured
    std::string node;  // what it resolved to at the last open
    DeviceId id = 0;
    bool required = false;  // named in the config: keep retrying
    UniqueFd fd;
    LibevdevPtr dev;
    std::string name;
    bool grabbed = false;
    int host_leds = -1;  // LED bits before the grab, restored after
    std::string last_error;
    Clock::time_point next_retry{};
    std::chrono::milliseconds backoff{0};
};

}  // namespace

std::string resolve_input_node(const std::string& path) {
    return resolve_node(path);
}

struct EvdevInput::Impl {
    Impl(EvdevConfig c, InputSink& s)
        : config(std::move(c)),
          sink(s),
          router(
              config.hotkey, [this](std::span<const protocol::InputEvent> b) { sink.deliver(b); },
              Owner::host, config.options) {
        router.on_owner_change([this](Owner o) {
            apply_grabs();
            if (owner_fn) owner_fn(o);
        });
    }

    EvdevConfig config;
    InputSink& sink;
    InputRouter router;
    OwnerFn owner_fn;
    std::vector<Device> devices;
    DeviceId next_id = 1;
    int shown_leds = -1;
    // Requests from other threads: -1 none, else an Owner; force: release now.
    std::atomic<int> requested{-1};
    std::atomic<bool> force{false};  // guest LED bits last written to grabbed keyboards
    UniqueFd inotify;
    UniqueFd wake_fd;

    Status open(Device& d) {
        d.node = resolve_node(d.path);
        auto o = open_evdev(d.path, d.node, "input device");
        if (!o) return o.error();
        d.fd = std::move(o->fd);
        d.dev = std::move(o->dev);
        d.name = std::move(o->name);
        d.last_error.clear();
        d.backoff = std::chrono::milliseconds{0};
        return {};
    }

    // Starts routing a freshly opened device's events.
    void activate(Device& d) {
        libevdev* raw = d.dev.get();
        d.id = next_id++;
        // Keys already down at open were pressed before we watched: count them
        // held so a switch waits for their release.
        for (unsigned c = 0; c < kKeyCount; ++c) {
            if (libevdev_has_event_code(raw, EV_KEY, c) &&
                libevdev_get_event_value(raw, EV_KEY, c) == 1) {
                router.feed(
                    d.id, {monotonic_ns(), protocol::ev::key, static_cast<std::uint16_t>(c), 1, 0});
            }
        }
        router.feed(d.id, {monotonic_ns(), protocol::ev::syn, protocol::ev::syn_report, 0, 0});
        grab(d, router.owner() == Owner::guest);
    }

    void close(Device& d, std::string why) {
        if (!d.dev) return;
        router.device_gone(d.id);
        d.dev.reset();
        d.fd.reset();
        d.grabbed = false;
        d.last_error = std::move(why);
        d.next_retry = Clock::now();
    }

    int led_bits(const libevdev* dev) const {
        int bits = 0;
        if (libevdev_get_event_value(dev, EV_LED, LED_NUML)) bits |= kLedNum;
        if (libevdev_get_event_value(dev, EV_LED, LED_CAPSL)) bits |= kLedCaps;
        if (libevdev_get_event_value(dev, EV_LED, LED_SCROLLL)) bits |= kLedScroll;
        return bits;
    }

    void set_leds(Device& d, int bits) {
        if (!libevdev_has_event_type(d.dev.get(), EV_LED)) return;
        libevdev_kernel_set_led_values(
            d.dev.get(), LED_NUML, (bits & kLedNum) ? LIBEVDEV_LED_ON : LIBEVDEV_LED_OFF, LED_CAPSL,
            (bits & kLedCaps) ? LIBEVDEV_LED_ON : LIBEVDEV_LED_OFF, LED_SCROLLL,
            (bits & kLedScroll) ? LIBEVDEV_LED_ON : LIBEVDEV_LED_OFF, -1);
    }

    void grab(Device& d, bool on) {
        if (!d.dev || d.grabbed == on) return;
        const int rc = libevdev_grab(d.dev.get(), on ? LIBEVDEV_GRAB : LIBEVDEV_UNGRAB);
        if (rc < 0) {
            d.last_error = std::string("cannot ") + (on ? "grab " : "release ") + d.path + ": " +
                           std::strerror(-rc) + (on ? " (another program holds it grabbed)" : "");
            return;
        }
        d.grabbed = on;
        if (on) {
            d.host_leds = led_bits(d.dev.get());
            shown_leds = router.guest_leds();
            set_leds(d, shown_leds);
        } else if (d.host_leds >= 0) {
            set_leds(d, d.host_leds);
        }
    }

    void apply_grabs() {
        for (auto& d : devices)
            grab(d, router.owner() == Owner::guest);
    }

    void read(Device& d) {
        if (const int rc = drain_events(d.dev.get(), [&](const input_event& e) { feed(d, e); }))
            close(d, "input device " + d.path + " went away: " + std::strerror(-rc));
    }

    void feed(Device& d, const input_event& e) {
        if (e.type == EV_SYN && e.code != SYN_REPORT) return;
        protocol::InputEvent out{};
        out.time_ns = monotonic_ns();
        out.type = e.type;
        out.code = e.code;
        out.value = e.value;
        if (e.type == EV_ABS) {
            const input_absinfo* info = libevdev_get_abs_info(d.dev.get(), e.code);
            if (!info) return;
            out.value = normalise_abs(e.value, info->minimum, info->maximum);
        }
        router.feed(d.id, out);
        // The guest toggled a lock key: its keyboards show it at once.
        if (router.owner() == Owner::guest && router.guest_leds() != shown_leds) {
            shown_leds = router.guest_leds();
            for (auto& other : devices) {
                if (other.grabbed) set_leds(other, shown_leds);
            }
        }
    }

    void scan_dir() {
        if (!config.devices.empty()) return;
        DIR* dir = ::opendir(config.input_dir.c_str());
        if (!dir) return;
        while (const dirent* ent = ::readdir(dir)) {
            const std::string name = ent->d_name;
            if (!name.starts_with("event")) continue;
            const std::string path = config.input_dir + "/" + name;
            if (std::any_of(devices.begin(), devices.end(),
                            [&](const Device& d) { return d.path == path; }))
                continue;
            Device d;
            d.path = path;
            if (!open(d)) continue;  // not for us (permissions are reported for named devices)
            if (!is_keyboard(d.dev.get()) && !is_pointer(d.dev.get())) continue;
            activate(d);
            devices.push_back(std::move(d));
        }
        ::closedir(dir);
    }

    void retry_missing(bool now) {
        const auto t = Clock::now();
        for (auto& d : devices) {
            if (d.dev || (!now && t < d.next_retry)) continue;
            if (auto s = open(d); !s) {
                d.last_error = s.error().message;
                d.backoff = std::clamp(d.backoff * 2, config.retry_min, config.retry_max);
                d.next_retry = t + d.backoff;
            } else {
                activate(d);
            }
        }
        // Auto mode forgets vanished devices: a returning one is found by the scan.
        if (config.devices.empty()) {
            std::erase_if(devices, [](const Device& d) { return !d.dev; });
            scan_dir();
        }
    }

    void drain_inotify() {
        alignas(inotify_event) char buf[4096];
        bool changed = false;
        for (;;) {
            const ssize_t n = ::read(inotify.get(), buf, sizeof buf);
            if (n <= 0) break;
            for (ssize_t off = 0; off < n;) {
                const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
                if (ev->mask & IN_DELETE) {
                    const std::string gone = config.input_dir + "/" + (ev->len ? ev->name : "");
                    for (auto& d : devices) {
                        if (d.dev && (d.path == gone || d.node == gone))
                            close(d, "input device " + d.path + " was removed");
                    }
                }
                changed = true;
                off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
            }
        }
        if (changed) retry_missing(true);
    }

    std::chrono::milliseconds next_timeout(std::chrono::milliseconds limit) const {
        const auto t = Clock::now();
        auto out = limit;
        for (const auto& d : devices) {
            if (d.dev) continue;
            const auto wait =
                std::chrono::duration_cast<std::chrono::milliseconds>(d.next_retry - t);
            out = std::min(out, std::max(wait, std::chrono::milliseconds{0}));
        }
        return out;
    }
};

EvdevInput::EvdevInput(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EvdevInput::~EvdevInput() {
    for (auto& d : impl_->devices)
        impl_->grab(d, false);
}

Result<std::unique_ptr<EvdevInput>> EvdevInput::create(EvdevConfig config, InputSink& sink) {
    if (config.hotkey.groups.empty()) {
        auto h = parse_hotkey("ctrl-ctrl");
        if (!h) return h.error();
        config.hotkey = std::move(*h);
    }
    auto impl = std::make_unique<Impl>(std::move(config), sink);
    impl->wake_fd.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (!impl->wake_fd)
        return Error::make(std::string("eventfd failed: ") + std::strerror(errno), errno);
    impl->inotify.reset(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
    if (impl->inotify) {
        // The folder of every named device (by-id links live apart from the nodes) and /dev/input.
        std::vector<std::string> dirs{impl->config.input_dir};
        for (const auto& p : impl->config.devices)
            dirs.push_back(p.substr(0, p.find_last_of('/')));
        for (const auto& dir : dirs) {
            ::inotify_add_watch(impl->inotify.get(), dir.c_str(),
                                IN_CREATE | IN_DELETE | IN_ATTRIB | IN_MOVED_TO);
        }
    }
    for (const auto& p : impl->config.devices) {
        Device d;
        d.path = p;
        d.required = true;
        impl->devices.push_back(std::move(d));
    }
    impl->retry_missing(true);
    if (impl->config.devices.empty() && impl->devices.empty()) {
        return Error::make("no keyboard or mouse found in " + impl->config.input_dir +
                           ": name devices with --evdev-device, or join the 'input' group");
    }
    return std::unique_ptr<EvdevInput>(new EvdevInput(std::move(impl)));
}

Status EvdevInput::poll(std::chrono::milliseconds timeout) {
    auto& m = *impl_;
    std::vector<pollfd> fds;
    std::vector<Device*> owners;
    fds.push_back({m.wake_fd.get(), POLLIN, 0});
    owners.push_back(nullptr);
    if (m.inotify) {
        fds.push_back({m.inotify.get(), POLLIN, 0});
        owners.push_back(nullptr);
    }
    for (auto& d : m.devices) {
        if (!d.dev) continue;
        fds.push_back({d.fd.get(), POLLIN, 0});
        owners.push_back(&d);
    }
    const int n = ::poll(fds.data(), fds.size(), static_cast<int>(m.next_timeout(timeout).count()));
    if (n < 0 && errno != EINTR)
        return Error::make(std::string("poll on input devices failed: ") + std::strerror(errno),
                           errno);
    if (fds[0].revents & POLLIN) {
        std::uint64_t v = 0;
        [[maybe_unused]] const auto r = ::read(m.wake_fd.get(), &v, sizeof v);
    }
    for (std::size_t i = 1; i < fds.size(); ++i) {
        if (!fds[i].revents) continue;
        if (!owners[i]) {
            m.drain_inotify();
        } else if (owners[i]->dev) {
            if (fds[i].revents & (POLLERR | POLLHUP | POLLNVAL)) {
                m.read(*owners[i]);  // drains what is left, then reports the loss
                if (owners[i]->dev)
                    m.close(*owners[i], "input device " + owners[i]->path + " hung up");
            } else {
                m.read(*owners[i]);
            }
        }
    }
    m.retry_missing(false);
    if (m.force.exchange(false)) m.router.force_host();
    if (const int r = m.requested.exchange(-1); r >= 0)
        m.router.request_switch(static_cast<Owner>(r));
    return {};
}

void EvdevInput::request_switch(Owner target) {
    impl_->requested = static_cast<int>(target);
    wake();
}

void EvdevInput::release_to_host() {
    impl_->force = true;
    wake();
}

void EvdevInput::wake() {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto r = ::write(impl_->wake_fd.get(), &one, sizeof one);
}

InputRouter& EvdevInput::router() {
    return impl_->router;
}
void EvdevInput::on_owner_change(OwnerFn f) {
    impl_->owner_fn = std::move(f);
}

std::vector<EvdevDeviceInfo> EvdevInput::devices() const {
    std::vector<EvdevDeviceInfo> out;
    for (const auto& d : impl_->devices)
        out.push_back({d.path, d.name, d.dev != nullptr, d.grabbed, d.last_error});
    return out;
}

}  // namespace porthole::client::input
