#pragma once
// Linux guests: two uinput devices, a keyboard+mouse (keys, buttons, relative
// axes incl. high-resolution wheels) and a tablet (absolute 0..32767, so the
// desktop maps it onto the screen). The kernel side sits behind UinputKernel
// so the device setup and the event stream are testable without /dev/uinput
// (only the VM test has a real one).

#ifndef _WIN32
#include <linux/uinput.h>

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "input/injector.hpp"

namespace porthole::agent {

// One uinput device's kernel calls.
class UinputKernel {
  public:
    virtual ~UinputKernel() = default;
    virtual Status set_bit(unsigned long request,
                           int code) = 0;                       // UI_SET_EVBIT, UI_SET_KEYBIT, ...
    virtual Status abs_setup(const uinput_abs_setup& abs) = 0;  // UI_ABS_SETUP
    virtual Status setup(const uinput_setup& s) = 0;            // UI_DEV_SETUP
    virtual Status create() = 0;                                // UI_DEV_CREATE
    virtual Status write(std::span<const input_event> events) = 0;
};

// Opens /dev/uinput (or `path`) for one device.
Result<std::unique_ptr<UinputKernel>> open_uinput(const std::string& path = "/dev/uinput");

// Which device an event goes to, and the evdev events it becomes there.
struct UinputRouting {
    std::vector<input_event> pointer;  // keyboard + relative mouse device
    std::vector<input_event> tablet;   // absolute device
};
// Splits events between the two devices; buttons follow the last pointer
// motion's kind so a tablet click lands where the tablet points. Every
// SYN_REPORT of the host ends a frame on each device that got events in it.
UinputRouting route_uinput(std::span<const protocol::InputEvent> batch, bool& last_motion_absolute);

class UinputInjector final : public InputInjector {
  public:
    // Sets up and creates both devices on the given kernel interfaces.
    static Result<std::unique_ptr<UinputInjector>> create(std::unique_ptr<UinputKernel> pointer,
                                                          std::unique_ptr<UinputKernel> tablet);
    [[nodiscard]] std::string_view name() const override { return "uinput"; }
    Status inject(std::span<const protocol::InputEvent> events) override;
    [[nodiscard]] InjectorStats stats() const override { return stats_; }

  private:
    UinputInjector(std::unique_ptr<UinputKernel> p, std::unique_ptr<UinputKernel> t)
        : pointer_(std::move(p)), tablet_(std::move(t)) {}
    std::unique_ptr<UinputKernel> pointer_;
    std::unique_ptr<UinputKernel> tablet_;
    bool last_absolute_ = false;
    InjectorStats stats_;
};

}  // namespace porthole::agent
#endif
