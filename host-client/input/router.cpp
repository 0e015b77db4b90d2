#include "input/router.hpp"

#include <linux/input-event-codes.h>

#include <algorithm>
#include <array>

#include "porthole/protocol/input_ring.hpp"
#include "porthole/util/adaptive_wait.hpp"

namespace porthole::client::input {

namespace ev = protocol::ev;

const char* to_string(Owner o) {
    return o == Owner::host ? "host" : "guest";
}

InputRouter::InputRouter(Hotkey hotkey, BatchFn emit, Owner initial, RouterOptions options)
    : hotkey_(std::move(hotkey)), options_(options), emit_(std::move(emit)), owner_(initial) {}

InputRouter::Device& InputRouter::device(DeviceId id) {
    for (auto& d : devices_) {
        if (d.id == id) return d;
    }
    return devices_.emplace_back(Device{id,
                                        {},
                                        {},
                                        MotionScaler(options_.mouse_sensitivity),
                                        MotionScaler(options_.mouse_sensitivity)});
}

bool InputRouter::any_key_held() const {
    return std::any_of(devices_.begin(), devices_.end(),
                       [](const Device& d) { return d.held.any(); });
}

bool InputRouter::hotkey_complete() const {
    KeySet held;
    for (const auto& d : devices_)
        held |= d.held;
    return std::all_of(hotkey_.groups.begin(), hotkey_.groups.end(), [&](const auto& g) {
        return std::any_of(g.begin(), g.end(), [&](std::uint16_t c) { return held.test(c); });
    });
}

void InputRouter::feed(DeviceId dev, const protocol::InputEvent& e) {
    Device& d = device(dev);
    if (e.type == ev::syn) {
        if (e.code == ev::syn_report) flush(d);
        maybe_switch();
        return;
    }
    bool trigger = false;
    bool bound = false;
    if (e.type == ev::key && e.code < kKeyCount) {
        if (e.value == 1) {
            // Keyboard keys only: a click with the capture key held is still a click.
            const bool hotkey_held = options_.bindings && e.code < BTN_MISC &&
                                     !hotkey_uses(hotkey_, e.code) && !hotkey_.groups.empty() &&
                                     hotkey_complete();
            d.held.set(e.code);
            if (hotkey_uses(hotkey_, e.code) && hotkey_complete()) trigger = true;
            bound = hotkey_held;
        } else if (e.value == 0) {
            d.held.reset(e.code);
        }
    }
    if (trigger) {
        // The trigger key itself never reaches the guest (its release is
        // dropped too, as the guest never saw it pressed).
        swallowed_.set(e.code);
        if (options_.hotkey_switches) {
            const Owner target = other(owner_);
            pending_ = pending_ ? std::nullopt : std::optional<Owner>(target);
            pending_from_hotkey_ = pending_.has_value();
        }
    } else if (bound) {
        binding(e.code);
    } else if (to_guest()) {
        route_to_guest(d, e);
    }
    if (e.type == ev::key && e.value == 0) swallowed_.reset(e.code);
    // A release may complete a deferred switch; wait for the batch's end so
    // the release travels in it.
}

void InputRouter::binding(std::uint16_t code) {
    // Bound or not, the key is the host's: its repeats and release stay here too.
    swallowed_.set(code);
    if (pending_from_hotkey_) {
        pending_.reset();
        pending_from_hotkey_ = false;
    }
    const KeyBinding* b = find_binding(code);
    if (b == nullptr) return;
    switch (b->action) {
        case WindowAction::release_input:
            force_host();
            break;
        case WindowAction::send_ctrl_alt_del: {
            static constexpr std::array<std::uint16_t, 3> cad{KEY_LEFTCTRL, KEY_LEFTALT,
                                                              KEY_DELETE};
            send_chord(cad);
            break;
        }
        default:
            break;
    }
    if (action_fn_) action_fn_(b->action);
}

void InputRouter::send_chord(std::span<const std::uint16_t> keys) {
    // Asked for by the user, so whoever owns (a window beside evdev sends it too).
    flush_all();
    const std::uint64_t now = monotonic_ns();
    std::vector<protocol::InputEvent> down, up;
    for (const auto c : keys) {
        if (c >= kKeyCount || guest_pressed_.test(c)) continue;
        down.push_back({now, ev::key, c, 1, 0});
    }
    for (auto it = down.rbegin(); it != down.rend(); ++it)
        up.push_back({now, ev::key, it->code, 0, 0});
    if (down.empty() || !emit_) return;
    down.push_back({now, ev::syn, ev::syn_report, 0, 0});
    up.push_back({now, ev::syn, ev::syn_report, 0, 0});
    emit_(down);
    emit_(up);
}

void InputRouter::route_to_guest(Device& d, const protocol::InputEvent& e) {
    switch (e.type) {
        case ev::key: {
            if (e.code >= kKeyCount || swallowed_.test(e.code)) return;
            // Never pressed on the guest, so its release and repeats are dropped too.
            if (options_.ignore_windows_keys && (e.code == KEY_LEFTMETA || e.code == KEY_RIGHTMETA))
                return;
            if (e.value == 1) {
                if (guest_pressed_.test(e.code)) return;  // already down (second keyboard)
                guest_pressed_.set(e.code);
                if (e.code == KEY_NUMLOCK) guest_leds_ ^= kLedNum;
                if (e.code == KEY_CAPSLOCK) guest_leds_ ^= kLedCaps;
                if (e.code == KEY_SCROLLLOCK) guest_leds_ ^= kLedScroll;
            } else {
                if (!guest_pressed_.test(e.code)) return;  // never seen pressed
                // Another device still holds the same key: keep it down.
                if (e.value == 0) {
                    const bool elsewhere =
                        std::any_of(devices_.begin(), devices_.end(),
                                    [&](const Device& o) { return o.held.test(e.code); });
                    if (elsewhere) return;
                    guest_pressed_.reset(e.code);
                }
            }
            d.batch.push_back(e);
            return;
        }
        case ev::rel: {
            if (!protocol::is_valid_input_event(e)) return;
            protocol::InputEvent out = e;
            if (e.code == REL_X) out.value = d.scale_x.scale(e.value);
            if (e.code == REL_Y) out.value = d.scale_y.scale(e.value);
            if (out.value != 0) d.batch.push_back(out);  // below a whole count: carried
            return;
        }
        case ev::abs:
            if (protocol::is_valid_input_event(e)) d.batch.push_back(e);
            return;
        default:
            return;  // EV_MSC, EV_LED, ...: the guest has no use for them
    }
}

void InputRouter::flush(Device& d) {
    if (d.batch.empty()) return;
    protocol::InputEvent syn{};
    syn.time_ns = d.batch.back().time_ns;
    syn.type = ev::syn;
    syn.code = ev::syn_report;
    d.batch.push_back(syn);
    if (emit_) emit_(d.batch);
    d.batch.clear();
}

void InputRouter::flush_all() {
    for (auto& d : devices_)
        flush(d);
}

void InputRouter::release_guest_keys(const KeySet& keys) {
    std::vector<protocol::InputEvent> batch;
    const std::uint64_t now = monotonic_ns();
    for (std::size_t c = 0; c < kKeyCount; ++c) {
        if (!keys.test(c) || !guest_pressed_.test(c)) continue;
        guest_pressed_.reset(c);
        batch.push_back({now, ev::key, static_cast<std::uint16_t>(c), 0, 0});
    }
    if (batch.empty()) return;
    batch.push_back({now, ev::syn, ev::syn_report, 0, 0});
    if (emit_) emit_(batch);
}

void InputRouter::maybe_switch() {
    if (!pending_ || any_key_held()) return;
    const Owner target = *pending_;
    pending_.reset();
    pending_from_hotkey_ = false;
    if (target == owner_) return;
    flush_all();
    release_guest_keys(KeySet{}.set());  // every switch (nothing, if nothing is held)
    owner_ = target;
    // A new stretch with the guest starts without an old remainder (as a new capture).
    for (auto& d : devices_) {
        d.scale_x.reset();
        d.scale_y.reset();
    }
    ++switches_;
    if (owner_fn_) owner_fn_(owner_);
}

void InputRouter::request_switch(Owner target) {
    pending_ = target == owner_ ? std::nullopt : std::optional<Owner>(target);
    pending_from_hotkey_ = false;
    maybe_switch();
}

void InputRouter::force_host() {
    flush_all();
    release_guest_keys(KeySet{}.set());
    pending_.reset();
    pending_from_hotkey_ = false;
    if (owner_ == Owner::host) return;
    owner_ = Owner::host;
    ++switches_;
    if (owner_fn_) owner_fn_(owner_);
}

void InputRouter::device_gone(DeviceId dev) {
    const auto it = std::find_if(devices_.begin(), devices_.end(),
                                 [dev](const Device& d) { return d.id == dev; });
    if (it == devices_.end()) return;
    flush(*it);
    KeySet gone = it->held;
    devices_.erase(it);
    KeySet still;
    for (const auto& d : devices_)
        still |= d.held;
    gone &= ~still;  // still held elsewhere
    // Its releases will not come: a key swallowed on it is free again.
    swallowed_ &= still;
    release_guest_keys(gone);
    maybe_switch();
}

}  // namespace porthole::client::input
