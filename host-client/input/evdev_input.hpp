#pragma once
// evdev mode: physical keyboards and mice read with libevdev, grabbed
// (EVIOCGRAB) while the guest owns input so nothing reaches the host
// desktop. Devices come from the config (/dev/input/by-id/... paths) or, if
// none are named, every keyboard and mouse under /dev/input. A device that
// disappears is reopened when it returns (inotify on the folder, and retries
// with backoff so a transient EACCES while udev sets permissions passes).
// SYN_DROPPED is resynced by libevdev and the state delta fed through the
// router, so held-key state stays right. Lock LEDs show the owner's state.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "input/hotkey.hpp"
#include "input/router.hpp"
#include "input/sink.hpp"
#include "porthole/util/result.hpp"

namespace porthole::client::input {

struct EvdevConfig {
    std::vector<std::string> devices;  // explicit paths; empty: every keyboard and mouse
    std::string input_dir = "/dev/input";
    Hotkey hotkey;
    RouterOptions options;  // --mouse-sensitivity, --ignore-windows-keys
    std::chrono::milliseconds retry_min{100};
    std::chrono::milliseconds retry_max{5000};
};

struct EvdevDeviceInfo {
    std::string path;
    std::string name;
    bool open = false;
    bool grabbed = false;
    std::string last_error;
};

class EvdevInput {
  public:
    // Opens what can be opened now; named devices missing now are retried later.
    static Result<std::unique_ptr<EvdevInput>> create(EvdevConfig config, InputSink& sink);
    ~EvdevInput();
    EvdevInput(const EvdevInput&) = delete;
    EvdevInput& operator=(const EvdevInput&) = delete;

    // Waits up to `timeout` for device events, hot-plug or wake(), and handles them.
    Status poll(std::chrono::milliseconds timeout);
    // Makes a blocked poll() return (any thread).
    void wake();
    // From any thread: asks for an owner (applied by poll(), once no key is held).
    void request_switch(Owner target);
    // From any thread: gives input back to the host at the next poll(), keys released.
    void release_to_host();
    // The ownership logic itself; use only on the polling thread.
    [[nodiscard]] InputRouter& router();
    // Called on the polling thread after each owner change (overlay, logging).
    void on_owner_change(OwnerFn f);
    [[nodiscard]] std::vector<EvdevDeviceInfo> devices() const;

  private:
    struct Impl;
    explicit EvdevInput(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// The event node behind a udev link (by-id/by-path -> ../eventN).
std::string resolve_input_node(const std::string& path);

// Normalises an absolute axis value to the protocol's 0..32767.
std::int32_t normalise_abs(std::int32_t value, std::int32_t min, std::int32_t max);

}  // namespace porthole::client::input
