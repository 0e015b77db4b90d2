#pragma once
// Linux guests: two uinput devices, a keyboard+mouse (keys, buttons, relative
// axes incl. high-resolution wheels) and a tablet (absolute 0..32767, so the
// desktop maps it onto the screen), plus one gamepad per pad slot the host
// uses, created at the slot's first event and destroyed when the host says
// the pad is gone. The kernel side sits behind UinputKernel
// so the device setup and the event stream are testable without /dev/uinput
// (only the VM test has a real one).

#ifndef _WIN32
#include <linux/uinput.h>

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "input/injector.hpp"
#include "porthole/protocol/input_ring.hpp"
#include "porthole/protocol/pad_feedback.hpp"

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
    // Force feedback (a pad declares EV_FF): what the kernel queued for the
    // device (EV_UINPUT requests, EV_FF play/stop/gain; 0 when none), and
    // the upload and erase handshakes (UI_BEGIN/END_FF_UPLOAD/ERASE). A
    // device without force feedback has none of them.
    virtual Result<std::size_t> read(std::span<input_event> /*out*/) { return std::size_t{0}; }
    virtual Status begin_ff_upload(uinput_ff_upload& /*u*/) { return no_ff(); }
    virtual Status end_ff_upload(const uinput_ff_upload& /*u*/) { return no_ff(); }
    virtual Status begin_ff_erase(uinput_ff_erase& /*e*/) { return no_ff(); }
    virtual Status end_ff_erase(const uinput_ff_erase& /*e*/) { return no_ff(); }

  private:
    static Status no_ff() { return Error::make("this device has no force feedback"); }
};

// Opens /dev/uinput (or `path`) for one device.
Result<std::unique_ptr<UinputKernel>> open_uinput(const std::string& path = "/dev/uinput");

// Which device an event goes to, and the evdev events it becomes there.
struct UinputRouting {
    std::vector<input_event> pointer;  // keyboard + relative mouse device
    std::vector<input_event> tablet;   // absolute device
    // Per pad slot (InputEvent::device - 1): its events, and whether the
    // host said it is gone (after any events of it in this batch).
    std::array<std::vector<input_event>, protocol::pad::kMaxGamepads> pads;
    std::array<bool, protocol::pad::kMaxGamepads> pad_gone{};
};
// Splits events between the two devices; buttons follow the last pointer
// motion's kind so a tablet click lands where the tablet points. Every
// SYN_REPORT of the host ends a frame on each device that got events in it.
UinputRouting route_uinput(std::span<const protocol::InputEvent> batch, bool& last_motion_absolute);

// Sets up and creates a gamepad of the protocol's fixed layout (pad::) on `k`,
// with rumble (FF_RUMBLE, and FF_PERIODIC played as rumble as ff-memless
// does, FF_GAIN; protocol::kPadEffectsMax effects).
Status setup_gamepad(UinputKernel& k, std::uint32_t slot);

// The record telling the host about an effect uploaded on pad `slot`
// (1-based); nullopt for an effect it cannot play as rumble.
std::optional<protocol::PadFeedbackRecord> rumble_upload(const ff_effect& effect,
                                                         std::uint32_t slot);

// Answers the force-feedback requests the kernel queued on one pad and says
// what the host's pad should do (appended to `out`). Upload and erase are
// answered at once (the game's EVIOCSFF waits for it); what cannot be
// rumble is refused (EINVAL).
Status service_pad_ff(UinputKernel& k, std::uint32_t slot,
                      std::vector<protocol::PadFeedbackRecord>& out);

// Opens the kernel interface for one more device (a gamepad, when a slot is first used).
using UinputOpener = std::function<Result<std::unique_ptr<UinputKernel>>()>;

class UinputInjector final : public InputInjector {
  public:
    // Sets up and creates both devices on the given kernel interfaces;
    // gamepads come from `open_pad` when the host first uses a slot (none:
    // pad events are counted as unmapped).
    static Result<std::unique_ptr<UinputInjector>> create(std::unique_ptr<UinputKernel> pointer,
                                                          std::unique_ptr<UinputKernel> tablet,
                                                          UinputOpener open_pad = nullptr);
    [[nodiscard]] std::string_view name() const override { return "uinput"; }
    Status inject(std::span<const protocol::InputEvent> events) override;
    [[nodiscard]] InjectorStats stats() const override { return stats_; }
    // Services every pad's force-feedback requests (same thread as inject).
    Status take_feedback(std::vector<protocol::PadFeedbackRecord>& out) override;

  private:
    UinputInjector(std::unique_ptr<UinputKernel> p, std::unique_ptr<UinputKernel> t,
                   UinputOpener open_pad)
        : pointer_(std::move(p)), tablet_(std::move(t)), open_pad_(std::move(open_pad)) {}
    Status inject_pad(std::size_t slot, std::span<const input_event> events, bool gone);
    std::unique_ptr<UinputKernel> pointer_;
    std::unique_ptr<UinputKernel> tablet_;
    UinputOpener open_pad_;
    std::array<std::unique_ptr<UinputKernel>, protocol::pad::kMaxGamepads> pads_;
    // A slot whose device could not be created: not retried until the pad is gone.
    std::array<bool, protocol::pad::kMaxGamepads> pad_failed_{};
    bool last_absolute_ = false;
    InjectorStats stats_;
};

}  // namespace porthole::agent
#endif
