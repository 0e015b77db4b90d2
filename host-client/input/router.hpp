#pragma once
// Who owns the keyboard and mouse, and what reaches the guest. Pure logic, no
// devices: the evdev and window front ends feed it events and act on owner
// changes (grab, ungrab, LEDs).
//
// Promises (no stuck keys): the owner changes only while no key or button is
// held on any device; the guest never gets a release or repeat for a key it
// did not see pressed; when the guest loses input (switch, force, device
// gone) every key it holds is released first. Guest events leave in batches,
// one per SYN_REPORT of the device they came from.
//
// The one core for both front ends: evdev devices feed it directly, and the
// SDL window (window_input.hpp) is one more device whose owner is capture.
// With bindings on, a key pressed while the hotkey is held is a key binding
// (bindings.hpp): it never reaches the guest, bound or not, and it cancels
// the switch the hotkey asked for (a combination is not a toggle).

#include <bitset>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "input/bindings.hpp"
#include "input/hotkey.hpp"
#include "input/motion_scaler.hpp"
#include "porthole/protocol/region.hpp"

namespace porthole::client::input {

enum class Owner : std::uint8_t { host, guest };
constexpr Owner other(Owner o) {
    return o == Owner::host ? Owner::guest : Owner::host;
}
const char* to_string(Owner o);

using DeviceId = std::uint32_t;
// Receives one batch of events for the guest, ending with SYN_REPORT.
using BatchFn = std::function<void(std::span<const protocol::InputEvent>)>;
using OwnerFn = std::function<void(Owner)>;
using ActionFn = std::function<void(WindowAction)>;

inline constexpr std::size_t kKeyCount = 0x300;  // KEY_CNT
using KeySet = std::bitset<kKeyCount>;

// LED bits as evdev numbers them (LED_NUML, LED_CAPSL, LED_SCROLLL).
inline constexpr std::uint8_t kLedNum = 1, kLedCaps = 2, kLedScroll = 4;

// What reaches the guest, as the client's options say (same meaning as in window mode).
struct RouterOptions {
    // REL_X/REL_Y scaled by (10 + N) / 10, each device's remainder carried (MotionScaler).
    int mouse_sensitivity = 0;
    // KEY_LEFTMETA/KEY_RIGHTMETA never reach the guest, press nor release (they
    // still count as held, so a switch still waits for them).
    bool ignore_windows_keys = false;
    // Window mode: events reach the guest whoever owns; the owner is capture
    // (keyboard grab, relative mouse), which switches by the same rules.
    bool host_passes_to_guest = false;
    // false: the hotkey never switches, it only takes bindings (a window beside
    // evdev or no input).
    bool hotkey_switches = true;
    // Keys pressed while the hotkey is held are bindings (see above).
    bool bindings = false;
};

class InputRouter {
  public:
    InputRouter(Hotkey hotkey, BatchFn emit, Owner initial = Owner::host,
                RouterOptions options = {});

    // Called after every owner change, with the new owner.
    void on_owner_change(OwnerFn f) { owner_fn_ = std::move(f); }
    // Called for every binding fired, after the core's own part of it
    // (release_input gives input to the host, send_ctrl_alt_del sends the chord).
    void on_action(ActionFn f) { action_fn_ = std::move(f); }
    // One event from device `dev` (ABS already normalised to 0..32767).
    void feed(DeviceId dev, const protocol::InputEvent& e);
    // Asks for `target` (keybinding, command); happens once no key is held.
    void request_switch(Owner target);
    // Gives input to the host now; the guest first gets releases for all it holds.
    void force_host();
    // A device vanished: its keys count as released; the guest's copies are released.
    void device_gone(DeviceId dev);
    // Presses `keys` in order in one batch, then releases them in reverse in
    // another, whoever owns (keys the guest already holds stay held).
    void send_chord(std::span<const std::uint16_t> keys);

    [[nodiscard]] Owner owner() const { return owner_; }
    [[nodiscard]] std::optional<Owner> pending() const { return pending_; }
    [[nodiscard]] bool any_key_held() const;
    [[nodiscard]] const KeySet& guest_held() const { return guest_pressed_; }
    // Lock LEDs as the guest's own key presses toggled them (kLed* bits).
    [[nodiscard]] std::uint8_t guest_leds() const { return guest_leds_; }
    void set_guest_leds(std::uint8_t leds) { guest_leds_ = leds; }
    [[nodiscard]] std::uint64_t switches() const { return switches_; }

  private:
    struct Device {
        DeviceId id;
        KeySet held;
        std::vector<protocol::InputEvent> batch;
        MotionScaler scale_x, scale_y;
    };
    Device& device(DeviceId id);
    void route_to_guest(Device& d, const protocol::InputEvent& e);
    void flush(Device& d);
    void flush_all();
    void release_guest_keys(const KeySet& keys);
    void maybe_switch();
    bool hotkey_complete() const;
    [[nodiscard]] bool to_guest() const {
        return owner_ == Owner::guest || options_.host_passes_to_guest;
    }
    void binding(std::uint16_t code);

    Hotkey hotkey_;
    RouterOptions options_;
    BatchFn emit_;
    OwnerFn owner_fn_;
    ActionFn action_fn_;
    Owner owner_;
    std::optional<Owner> pending_;
    bool pending_from_hotkey_ = false;  // a binding cancels only the hotkey's own request
    std::vector<Device> devices_;
    KeySet guest_pressed_;
    KeySet swallowed_;  // hotkey triggers kept from the guest
    std::uint8_t guest_leds_ = 0;
    std::uint64_t switches_ = 0;
};

}  // namespace porthole::client::input
