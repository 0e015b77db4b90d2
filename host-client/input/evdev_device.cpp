#include "input/evdev_device.hpp"

#include <fcntl.h>

#include <cerrno>
#include <cstring>

namespace porthole::client::input {

Result<OpenEvdev> open_evdev(const std::string& path, const std::string& node,
                             std::string_view what) {
    OpenEvdev d;
    d.fd.reset(::open(node.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
    if (!d.fd) d.fd.reset(::open(node.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!d.fd) {
        const int err = errno;
        return Error::make("cannot open " + std::string(what) + " " + path + ": " +
                               std::strerror(err) +
                               (err == EACCES ? " (add yourself to the 'input' group)" : ""),
                           err);
    }
    libevdev* raw = nullptr;
    if (const int rc = libevdev_new_from_fd(d.fd.get(), &raw); rc < 0)
        return Error::make("libevdev cannot use " + path + ": " + std::strerror(-rc), -rc);
    d.dev.reset(raw);
    d.name = libevdev_get_name(raw) != nullptr ? libevdev_get_name(raw) : "";
    return d;
}

int drain_events(libevdev* dev, const std::function<void(const input_event&)>& on_event) {
    input_event e{};
    unsigned flag = LIBEVDEV_READ_FLAG_NORMAL;
    for (;;) {
        const int rc = libevdev_next_event(dev, flag, &e);
        if (rc == -EAGAIN) {
            if (flag == LIBEVDEV_READ_FLAG_NORMAL) return 0;
            flag = LIBEVDEV_READ_FLAG_NORMAL;  // resync done, back to the live stream
            continue;
        }
        if (rc < 0) return rc;
        if (rc == LIBEVDEV_READ_STATUS_SYNC && flag == LIBEVDEV_READ_FLAG_NORMAL) {
            flag = LIBEVDEV_READ_FLAG_SYNC;  // SYN_DROPPED: the state delta follows
            continue;
        }
        on_event(e);
    }
}

}  // namespace porthole::client::input
