#pragma once
// Keyboards and mice faked with umockdev: a testbed device whose ioctls
// answer from a generated record (the exact sizes libevdev 1.13 asks) and
// whose event stream the test writes itself, so it can press, release,
// drop events and unplug at will. Needs the umockdev preload library: the
// test program re-runs itself under umockdev-wrapper (see main()).

#include <linux/input.h>
#include <umockdev.h>

#include <cstdint>
#include <string>
#include <vector>

namespace porthole::test {

struct FakeDeviceSpec {
    std::string name;
    int number = 10;       // /dev/input/eventN
    bool keyboard = true;  // else a mouse with wheel and high-resolution wheel
    std::string by_id;     // link name under /dev/input/by-id ("" for none)
    // A gamepad instead (keyboard ignored): BTN_SOUTH..BTN_THUMBR, sticks and
    // triggers 0..255 and a hat -1..1, as hid-sony declares a DualShock 4.
    bool gamepad = false;
};

class FakeEvdevBed {
  public:
    FakeEvdevBed();
    ~FakeEvdevBed();
    FakeEvdevBed(const FakeEvdevBed&) = delete;
    FakeEvdevBed& operator=(const FakeEvdevBed&) = delete;

    // Adds a device; returns its /dev path. umockdev cannot bring back a
    // removed node under the same name: a returning device gets a new eventN
    // (as after a KVM switch) and keeps its by-id link.
    std::string add(const FakeDeviceSpec& spec);
    // Unplugs it: the node and sysfs entry vanish.
    void remove(const FakeDeviceSpec& spec);
    // Writes events into the device as the kernel would deliver them.
    void emit(const FakeDeviceSpec& spec, std::uint16_t type, std::uint16_t code,
              std::int32_t value);
    void syn(const FakeDeviceSpec& spec) { emit(spec, 0, 0, 0); }
    // What the program wrote to the device since the last call (LED events).
    std::vector<input_event> written(const FakeDeviceSpec& spec);
    [[nodiscard]] std::string dir() const { return dir_; }
    // Sets the mode of the device's node, as udev does once its rules ran;
    // the testbed's folders (and umockdev's ioctl socket) become usable by
    // every user, so that the node's mode alone decides.
    void set_mode(const FakeDeviceSpec& spec, unsigned mode);

  private:
    UMockdevTestbed* bed_ = nullptr;
    std::string dir_;  // holds the generated ioctl records
};

}  // namespace porthole::test
