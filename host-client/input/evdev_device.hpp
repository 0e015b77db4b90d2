#pragma once
// What both evdev front ends (keyboards and mice, gamepads) do with a device
// node: open it, and drain its events through a SYN_DROPPED resync.

#include <libevdev/libevdev.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "porthole/util/result.hpp"
#include "porthole/util/unique_fd.hpp"

namespace porthole::client::input {

struct LibevdevFree {
    void operator()(libevdev* d) const { libevdev_free(d); }
};
using LibevdevPtr = std::unique_ptr<libevdev, LibevdevFree>;

struct OpenEvdev {
    UniqueFd fd;
    LibevdevPtr dev;
    std::string name;  // the device's own name
};

// Opens `node`, the event node behind the configured `path`
// (resolve_input_node), read-write where allowed (LEDs), else read-only.
// `what` names the device in errors ("input device", "gamepad"), which quote
// `path`; the error code is the errno.
Result<OpenEvdev> open_evdev(const std::string& path, const std::string& node,
                             std::string_view what);

// Hands `on_event` every event pending on `dev`, and after a SYN_DROPPED the
// state delta libevdev computes. 0 once drained; a negative errno when the
// device failed (gone).
int drain_events(libevdev* dev, const std::function<void(const input_event&)>& on_event);

}  // namespace porthole::client::input
