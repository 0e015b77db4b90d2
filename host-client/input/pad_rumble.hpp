#pragma once
// Force feedback from the guest's pads replayed on the host's: the agent's
// records (protocol/pad_feedback.hpp) become EVIOCSFF uploads, EV_FF writes
// and EVIOCRMFF erases on the real pad. The device calls sit behind FfDevice
// (the pad's fd; a fake in the unit tests, since neither umockdev nor this
// machine's missing /dev/uinput take EVIOCSFF).
//
// Nothing the guest sends is trusted: records are validated by the reader,
// every guest effect id maps to at most one host effect, no more effects
// than the device holds are uploaded, an unchanged upload costs no ioctl,
// and the caller bounds the records taken per poll.

#include <linux/input.h>

#include <array>
#include <cstdint>

#include "porthole/protocol/region.hpp"
#include "porthole/util/result.hpp"

namespace porthole::client::input {

class FfDevice {
  public:
    virtual ~FfDevice() = default;
    // EVIOCSFF: a new effect (effect.id -1) or an update of one; the device's id for it.
    virtual Result<int> upload(const ff_effect& effect) = 0;
    virtual Status erase(int id) = 0;                 // EVIOCRMFF
    virtual Status play(int id, int count) = 0;       // EV_FF id, count (0 stops)
    virtual Status set_gain(std::uint16_t gain) = 0;  // EV_FF FF_GAIN
};

// The pad's force feedback as the fd declares it (EVIOCGBIT(EV_FF), EVIOCGEFFECTS).
struct FfCaps {
    bool rumble = false;
    bool gain = false;
    int max_effects = 0;
};
FfCaps ff_caps(int fd);

// FfDevice on an open evdev fd (not owned; it must be open read-write to play).
class EvdevFfDevice final : public FfDevice {
  public:
    explicit EvdevFfDevice(int fd) : fd_(fd) {}
    Result<int> upload(const ff_effect& effect) override;
    Status erase(int id) override;
    Status play(int id, int count) override;
    Status set_gain(std::uint16_t gain) override;

  private:
    Status write_ff(std::uint16_t code, std::int32_t value);
    int fd_;
};

// The rumble of one host pad: the guest's effects (ids 0..kPadEffectsMax-1)
// and the host ids they were uploaded as.
class PadRumble {
  public:
    PadRumble(FfDevice& device, FfCaps caps) : device_(device), caps_(caps) {}
    // Stops and erases what the guest uploaded.
    ~PadRumble() { reset(); }
    PadRumble(const PadRumble&) = delete;
    PadRumble& operator=(const PadRumble&) = delete;

    // Acts on one record of this pad (validated: is_valid_pad_feedback). An
    // error says what the device refused or what the guest got wrong (a play
    // of an effect never uploaded, more effects than the pad holds).
    Status apply(const protocol::PadFeedbackRecord& r);
    // Erases every uploaded effect (which stops it) and restores full gain.
    void reset();
    [[nodiscard]] int uploaded() const;
    // The ioctls and writes made so far (for tests and stats).
    [[nodiscard]] std::uint64_t device_calls() const { return calls_; }

  private:
    struct Effect {
        int host_id = -1;
        std::uint16_t strong = 0, weak = 0, length_ms = 0, delay_ms = 0;
    };
    FfDevice& device_;
    FfCaps caps_;
    std::array<Effect, protocol::kPadEffectsMax> effects_{};
    bool gain_changed_ = false;
    std::uint64_t calls_ = 0;
};

}  // namespace porthole::client::input
