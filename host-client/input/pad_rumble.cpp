#include "input/pad_rumble.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace porthole::client::input {
namespace {

Error sys_error(const std::string& what, int err) {
    return Error::make(what + ": " + std::strerror(err), err);
}

bool test_bit(const unsigned long* bits, unsigned bit) {
    constexpr unsigned kBits = sizeof(unsigned long) * 8;
    return ((bits[bit / kBits] >> (bit % kBits)) & 1UL) != 0;
}

}  // namespace

FfCaps ff_caps(int fd) {
    FfCaps c;
    unsigned long
        bits[(FF_MAX + 1 + sizeof(unsigned long) * 8 - 1) / (sizeof(unsigned long) * 8)]{};
    if (::ioctl(fd, EVIOCGBIT(EV_FF, sizeof(bits)), bits) < 0) return c;
    c.rumble = test_bit(bits, FF_RUMBLE);
    c.gain = test_bit(bits, FF_GAIN);
    int n = 0;
    if (::ioctl(fd, EVIOCGEFFECTS, &n) == 0) c.max_effects = n;
    if (c.max_effects <= 0) c.rumble = false;  // nowhere to upload an effect
    return c;
}

Result<int> EvdevFfDevice::upload(const ff_effect& effect) {
    ff_effect e = effect;
    if (::ioctl(fd_, EVIOCSFF, &e) < 0) return sys_error("EVIOCSFF", errno);
    return static_cast<int>(e.id);
}

Status EvdevFfDevice::erase(int id) {
    if (::ioctl(fd_, EVIOCRMFF, id) < 0) return sys_error("EVIOCRMFF", errno);
    return {};
}

Status EvdevFfDevice::write_ff(std::uint16_t code, std::int32_t value) {
    input_event e{};
    e.type = EV_FF;
    e.code = code;
    e.value = value;
    const ssize_t n = ::write(fd_, &e, sizeof(e));
    if (n < 0) return sys_error("writing EV_FF", errno);
    if (static_cast<std::size_t>(n) != sizeof(e)) return Error::make("short EV_FF write");
    return {};
}

Status EvdevFfDevice::play(int id, int count) {
    return write_ff(static_cast<std::uint16_t>(id), count);
}

Status EvdevFfDevice::set_gain(std::uint16_t gain) {
    return write_ff(FF_GAIN, gain);
}

int PadRumble::uploaded() const {
    int n = 0;
    for (const auto& e : effects_)
        n += e.host_id >= 0 ? 1 : 0;
    return n;
}

Status PadRumble::apply(const protocol::PadFeedbackRecord& r) {
    using protocol::PadFeedbackOp;
    const auto op = static_cast<PadFeedbackOp>(r.op);
    if (op == PadFeedbackOp::gain) {
        if (!caps_.gain) return {};  // the pad plays at its own strength
        ++calls_;
        gain_changed_ = true;
        return device_.set_gain(static_cast<std::uint16_t>(r.value));
    }
    if (r.effect >= effects_.size()) return Error::make("effect id out of range");
    Effect& fx = effects_[r.effect];
    switch (op) {
        case PadFeedbackOp::upload: {
            if (fx.host_id >= 0 && fx.strong == r.strong && fx.weak == r.weak &&
                fx.length_ms == r.length_ms && fx.delay_ms == r.delay_ms)
                return {};  // unchanged: no ioctl
            if (fx.host_id < 0 && uploaded() >= caps_.max_effects)
                return Error::make("the pad holds " + std::to_string(caps_.max_effects) +
                                   " effects, all in use");
            ff_effect e{};
            e.type = FF_RUMBLE;
            e.id = static_cast<std::int16_t>(fx.host_id);  // -1: a new one
            e.replay.length = r.length_ms;
            e.replay.delay = r.delay_ms;
            e.u.rumble.strong_magnitude = r.strong;
            e.u.rumble.weak_magnitude = r.weak;
            ++calls_;
            auto id = device_.upload(e);
            if (!id) return id.error();
            fx = Effect{*id, r.strong, r.weak, r.length_ms, r.delay_ms};
            return {};
        }
        case PadFeedbackOp::play:
            if (fx.host_id < 0) return Error::make("play of an effect never uploaded");
            ++calls_;
            return device_.play(fx.host_id, static_cast<int>(r.value));
        case PadFeedbackOp::stop:
            if (fx.host_id < 0) return {};
            ++calls_;
            return device_.play(fx.host_id, 0);
        case PadFeedbackOp::erase: {
            if (fx.host_id < 0) return {};
            const int id = fx.host_id;
            fx = Effect{};
            ++calls_;
            return device_.erase(id);  // stops it too
        }
        case PadFeedbackOp::gain:
            break;
    }
    return Error::make("unknown feedback op");
}

void PadRumble::reset() {
    for (auto& fx : effects_) {
        if (fx.host_id < 0) continue;
        ++calls_;
        (void)device_.erase(fx.host_id);  // a pad unplugged refuses: nothing left to stop
        fx = Effect{};
    }
    if (gain_changed_ && caps_.gain) {
        ++calls_;
        (void)device_.set_gain(0xffff);
    }
    gain_changed_ = false;
}

}  // namespace porthole::client::input
