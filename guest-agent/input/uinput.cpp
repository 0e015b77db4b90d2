#include "input/uinput.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "porthole/protocol/input_ring.hpp"
#include "porthole/util/unique_fd.hpp"

namespace porthole::agent {
namespace {

namespace ev = protocol::ev;

Error sys_error(const std::string& what, int err) {
    return Error::make(what + ": " + std::strerror(err), err);
}

class UinputFd final : public UinputKernel {
  public:
    UinputFd(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
    ~UinputFd() override {
        if (created_) ::ioctl(fd_.get(), UI_DEV_DESTROY);
    }
    Status set_bit(unsigned long request, int code) override {
        if (::ioctl(fd_.get(), request, code) < 0)
            return sys_error("uinput ioctl on " + path_, errno);
        return {};
    }
    Status abs_setup(const uinput_abs_setup& abs) override {
        if (::ioctl(fd_.get(), UI_ABS_SETUP, &abs) < 0)
            return sys_error("UI_ABS_SETUP on " + path_, errno);
        return {};
    }
    Status setup(const uinput_setup& s) override {
        if (::ioctl(fd_.get(), UI_DEV_SETUP, &s) < 0)
            return sys_error("UI_DEV_SETUP on " + path_, errno);
        return {};
    }
    Status create() override {
        if (::ioctl(fd_.get(), UI_DEV_CREATE) < 0)
            return sys_error("UI_DEV_CREATE on " + path_, errno);
        created_ = true;
        return {};
    }
    Status write(std::span<const input_event> events) override {
        const auto bytes = events.size_bytes();
        const ssize_t n = ::write(fd_.get(), events.data(), bytes);
        if (n < 0) return sys_error("writing events to " + path_, errno);
        if (static_cast<std::size_t>(n) != bytes) return Error::make("short write to " + path_);
        return {};
    }
    Result<std::size_t> read(std::span<input_event> out) override {
        const ssize_t n = ::read(fd_.get(), out.data(), out.size_bytes());
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) return std::size_t{0};
            return sys_error("reading " + path_, errno);
        }
        return static_cast<std::size_t>(n) / sizeof(input_event);
    }
    Status begin_ff_upload(uinput_ff_upload& u) override {
        return ff_ioctl(UI_BEGIN_FF_UPLOAD, &u, "UI_BEGIN_FF_UPLOAD");
    }
    Status end_ff_upload(const uinput_ff_upload& u) override {
        return ff_ioctl(UI_END_FF_UPLOAD, const_cast<uinput_ff_upload*>(&u), "UI_END_FF_UPLOAD");
    }
    Status begin_ff_erase(uinput_ff_erase& e) override {
        return ff_ioctl(UI_BEGIN_FF_ERASE, &e, "UI_BEGIN_FF_ERASE");
    }
    Status end_ff_erase(const uinput_ff_erase& e) override {
        return ff_ioctl(UI_END_FF_ERASE, const_cast<uinput_ff_erase*>(&e), "UI_END_FF_ERASE");
    }

  private:
    Status ff_ioctl(unsigned long request, void* arg, const char* what) {
        if (::ioctl(fd_.get(), request, arg) < 0)
            return sys_error(std::string(what) + " on " + path_, errno);
        return {};
    }
    UniqueFd fd_;
    std::string path_;
    bool created_ = false;
};

input_event make(std::uint16_t type, std::uint16_t code, std::int32_t value) {
    input_event e{};
    e.type = type;
    e.code = code;
    e.value = value;
    return e;
}

Status setup_device(UinputKernel& k, const char* name, std::uint16_t product, bool absolute) {
    auto check = [](Status s) { return s; };
    if (auto s = check(k.set_bit(UI_SET_EVBIT, EV_KEY)); !s) return s;
    if (absolute) {
        for (int b : {BTN_LEFT, BTN_RIGHT, BTN_MIDDLE, BTN_SIDE, BTN_EXTRA}) {
            if (auto s = k.set_bit(UI_SET_KEYBIT, b); !s) return s;
        }
        if (auto s = k.set_bit(UI_SET_EVBIT, EV_ABS); !s) return s;
        for (std::uint16_t axis : {ev::abs_x, ev::abs_y}) {
            if (auto s = k.set_bit(UI_SET_ABSBIT, axis); !s) return s;
            uinput_abs_setup a{};
            a.code = axis;
            a.absinfo.minimum = 0;
            a.absinfo.maximum = ev::abs_max;
            if (auto s = k.abs_setup(a); !s) return s;
        }
        if (auto s = k.set_bit(UI_SET_PROPBIT, INPUT_PROP_DIRECT); !s) return s;
    } else {
        for (int c = 1; c < KEY_MAX; ++c) {
            if (c == BTN_MISC) c = BTN_MOUSE;  // skip joystick/gamepad/digitiser ranges
            if (c == BTN_JOYSTICK) c = KEY_OK;
            if (auto s = k.set_bit(UI_SET_KEYBIT, c); !s) return s;
        }
        if (auto s = k.set_bit(UI_SET_EVBIT, EV_REL); !s) return s;
        for (int r : {REL_X, REL_Y, REL_WHEEL, REL_HWHEEL, REL_WHEEL_HI_RES, REL_HWHEEL_HI_RES}) {
            if (auto s = k.set_bit(UI_SET_RELBIT, r); !s) return s;
        }
    }
    uinput_setup s{};
    s.id.bustype = BUS_VIRTUAL;
    s.id.vendor = 0x1af4;  // the IVSHMEM vendor: says "virtual" to anyone looking
    s.id.product = product;
    std::strncpy(s.name, name, UINPUT_MAX_NAME_SIZE - 1);
    if (auto st = k.setup(s); !st) return st;
    return k.create();
}

}  // namespace

Status setup_gamepad(UinputKernel& k, std::uint32_t slot) {
    namespace pad = protocol::pad;
    if (auto s = k.set_bit(UI_SET_EVBIT, EV_KEY); !s) return s;
    for (int b = pad::btn_first; b <= pad::btn_last; ++b)
        if (auto s = k.set_bit(UI_SET_KEYBIT, b); !s) return s;
    for (int b = pad::dpad_first; b <= pad::dpad_last; ++b)
        if (auto s = k.set_bit(UI_SET_KEYBIT, b); !s) return s;
    if (auto s = k.set_bit(UI_SET_EVBIT, EV_ABS); !s) return s;
    for (std::uint16_t axis : pad::kAxes) {
        if (auto s = k.set_bit(UI_SET_ABSBIT, axis); !s) return s;
        const auto range = *pad::axis_range(axis);
        uinput_abs_setup a{};
        a.code = axis;
        a.absinfo.minimum = range.min;
        a.absinfo.maximum = range.max;
        if (range.max == pad::stick.max) {  // as xpad declares its sticks
            a.absinfo.fuzz = 16;
            a.absinfo.flat = 128;
        }
        if (auto s = k.abs_setup(a); !s) return s;
    }
    // Rumble as xpad offers it through ff-memless: FF_RUMBLE, FF_PERIODIC
    // (its waveforms are played as rumble of the magnitude) and FF_GAIN.
    if (auto s = k.set_bit(UI_SET_EVBIT, EV_FF); !s) return s;
    for (int f :
         {FF_RUMBLE, FF_PERIODIC, FF_SQUARE, FF_TRIANGLE, FF_SINE, FF_SAW_UP, FF_SAW_DOWN, FF_GAIN})
        if (auto s = k.set_bit(UI_SET_FFBIT, f); !s) return s;
    uinput_setup s{};
    s.ff_effects_max = protocol::kPadEffectsMax;
    // The Xbox 360 controller's ids, the layout this is: SDL and games apply
    // their mapping for it instead of guessing one for an unknown pad.
    s.id.bustype = BUS_USB;
    s.id.vendor = 0x045e;
    s.id.product = 0x028e;
    s.id.version = 0x0110;
    const std::string name = "Porthole gamepad " + std::to_string(slot);
    std::strncpy(s.name, name.c_str(), UINPUT_MAX_NAME_SIZE - 1);
    if (auto st = k.setup(s); !st) return st;
    return k.create();
}

std::optional<protocol::PadFeedbackRecord> rumble_upload(const ff_effect& effect,
                                                         std::uint32_t slot) {
    if (effect.id < 0 || static_cast<std::uint32_t>(effect.id) >= protocol::kPadEffectsMax)
        return std::nullopt;
    protocol::PadFeedbackRecord r{};
    r.op = static_cast<std::uint8_t>(protocol::PadFeedbackOp::upload);
    r.device = static_cast<std::uint8_t>(slot);
    r.effect = static_cast<std::uint16_t>(effect.id);
    r.length_ms = effect.replay.length;
    r.delay_ms = effect.replay.delay;
    switch (effect.type) {
        case FF_RUMBLE:
            r.strong = effect.u.rumble.strong_magnitude;
            r.weak = effect.u.rumble.weak_magnitude;
            return r;
        case FF_PERIODIC: {
            // As ff-memless: the magnitude (0..0x7fff) scaled to 0..0xffff on both motors.
            const int m = std::abs(static_cast<int>(effect.u.periodic.magnitude));
            r.strong = r.weak = static_cast<std::uint16_t>(std::min(m * 2, 0xffff));
            return r;
        }
        default:
            return std::nullopt;
    }
}

Status service_pad_ff(UinputKernel& k, std::uint32_t slot,
                      std::vector<protocol::PadFeedbackRecord>& out) {
    using protocol::PadFeedbackOp;
    auto record = [&](PadFeedbackOp op, std::uint32_t effect, std::uint32_t value) {
        protocol::PadFeedbackRecord r{};
        r.op = static_cast<std::uint8_t>(op);
        r.device = static_cast<std::uint8_t>(slot);
        r.effect = static_cast<std::uint16_t>(effect);
        r.value = value;
        out.push_back(r);
    };
    std::array<input_event, 32> buf{};
    // Bounded: a game that floods its pad is served on the next call.
    for (int round = 0; round < 4; ++round) {
        auto n = k.read(buf);
        if (!n) return n.error();
        if (*n == 0) return {};
        for (std::size_t i = 0; i < *n; ++i) {
            const input_event& e = buf[i];
            if (e.type == EV_UINPUT && e.code == UI_FF_UPLOAD) {
                uinput_ff_upload u{};
                u.request_id = static_cast<std::uint32_t>(e.value);
                if (auto s = k.begin_ff_upload(u); !s) return s;
                const auto r = rumble_upload(u.effect, slot);
                u.retval = r ? 0 : -EINVAL;
                if (auto s = k.end_ff_upload(u); !s) return s;
                if (r) out.push_back(*r);
            } else if (e.type == EV_UINPUT && e.code == UI_FF_ERASE) {
                uinput_ff_erase er{};
                er.request_id = static_cast<std::uint32_t>(e.value);
                if (auto s = k.begin_ff_erase(er); !s) return s;
                er.retval = 0;
                if (auto s = k.end_ff_erase(er); !s) return s;
                if (er.effect_id < protocol::kPadEffectsMax)
                    record(PadFeedbackOp::erase, er.effect_id, 0);
            } else if (e.type == EV_FF && e.code == FF_GAIN) {
                record(PadFeedbackOp::gain, 0,
                       static_cast<std::uint32_t>(std::clamp(e.value, 0, 0xffff)));
            } else if (e.type == EV_FF && e.code < protocol::kPadEffectsMax) {
                if (e.value <= 0)
                    record(PadFeedbackOp::stop, e.code, 0);
                else
                    record(PadFeedbackOp::play, e.code,
                           static_cast<std::uint32_t>(
                               std::min<std::int64_t>(e.value, protocol::kMaxPadPlayCount)));
            }
        }
    }
    return {};
}

Status UinputInjector::take_feedback(std::vector<protocol::PadFeedbackRecord>& out) {
    Status result;
    for (std::size_t slot = 0; slot < pads_.size(); ++slot) {
        if (!pads_[slot]) continue;
        if (auto s = service_pad_ff(*pads_[slot], static_cast<std::uint32_t>(slot + 1), out);
            !s && result)
            result = s;
    }
    return result;
}

Result<std::unique_ptr<UinputKernel>> open_uinput(const std::string& path) {
    // Read-write: a pad reads its force-feedback requests from the same fd.
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
    if (!fd) {
        const int err = errno;
        return Error::make(
            "cannot open " + path + ": " + std::strerror(err) +
                (err == ENOENT ? " (load the uinput module: modprobe uinput)"
                               : " (run the agent as root or give it access to uinput)"),
            err);
    }
    return std::unique_ptr<UinputKernel>(std::make_unique<UinputFd>(std::move(fd), path));
}

UinputRouting route_uinput(std::span<const protocol::InputEvent> batch,
                           bool& last_motion_absolute) {
    UinputRouting r;
    // Each device gets a SYN_REPORT wherever the host had one and the device
    // got events since its last: several batches popped at once stay apart.
    bool pointer_open = false, tablet_open = false;
    auto close_frames = [&] {
        if (pointer_open) r.pointer.push_back(make(EV_SYN, SYN_REPORT, 0));
        if (tablet_open) r.tablet.push_back(make(EV_SYN, SYN_REPORT, 0));
        pointer_open = tablet_open = false;
    };
    auto to_pointer = [&](const protocol::InputEvent& e) {
        r.pointer.push_back(make(e.type, e.code, e.value));
        pointer_open = true;
    };
    auto to_tablet = [&](const protocol::InputEvent& e) {
        r.tablet.push_back(make(e.type, e.code, e.value));
        tablet_open = true;
    };
    for (const auto& e : batch) {
        if (e.device != 0) {
            // Validated already (is_valid_input_event); a slot past the last is ignored.
            if (e.device > protocol::pad::kMaxGamepads) continue;
            const std::size_t slot = e.device - 1;
            if (e.type == ev::syn && e.code == protocol::pad::syn_gone) {
                r.pad_gone[slot] = true;
            } else if (e.type == ev::syn) {
                if (!r.pads[slot].empty() && r.pads[slot].back().type != EV_SYN)
                    r.pads[slot].push_back(make(EV_SYN, SYN_REPORT, 0));
            } else if (!r.pad_gone[slot]) {
                r.pads[slot].push_back(make(e.type, e.code, e.value));
            }
            continue;
        }
        switch (e.type) {
            case ev::syn:
                close_frames();
                break;
            case ev::abs:
                last_motion_absolute = true;
                to_tablet(e);
                break;
            case ev::rel:
                if (e.code == REL_X || e.code == REL_Y) last_motion_absolute = false;
                to_pointer(e);
                break;
            case ev::key:
                if (last_motion_absolute && e.code >= BTN_LEFT && e.code <= BTN_EXTRA) {
                    to_tablet(e);
                } else {
                    to_pointer(e);
                }
                break;
            default:
                break;
        }
    }
    close_frames();
    for (auto& p : r.pads)  // a pad's events without their SYN_REPORT still form a frame
        if (!p.empty() && p.back().type != EV_SYN) p.push_back(make(EV_SYN, SYN_REPORT, 0));
    return r;
}

Result<std::unique_ptr<UinputInjector>> UinputInjector::create(
    std::unique_ptr<UinputKernel> pointer, std::unique_ptr<UinputKernel> tablet,
    UinputOpener open_pad) {
    if (auto s = setup_device(*pointer, "Porthole keyboard and mouse", 0x0001, false); !s)
        return s.error();
    if (auto s = setup_device(*tablet, "Porthole tablet", 0x0002, true); !s) return s.error();
    return std::unique_ptr<UinputInjector>(
        new UinputInjector(std::move(pointer), std::move(tablet), std::move(open_pad)));
}

Status UinputInjector::inject_pad(std::size_t slot, std::span<const input_event> events,
                                  bool gone) {
    const auto count = static_cast<std::uint64_t>(std::count_if(
        events.begin(), events.end(), [](const input_event& e) { return e.type != EV_SYN; }));
    Status result;
    if (count > 0 && !pads_[slot] && !pad_failed_[slot]) {
        auto k = open_pad_ ? open_pad_()
                           : Result<std::unique_ptr<UinputKernel>>(
                                 Error::make("this agent creates no gamepads"));
        if (k) {
            if (auto s = setup_gamepad(**k, static_cast<std::uint32_t>(slot + 1)); s)
                pads_[slot] = std::move(*k);
            else
                result = s;
        } else {
            result = k.error();
        }
        pad_failed_[slot] = !pads_[slot];
    }
    if (count > 0) {
        if (!pads_[slot]) {
            stats_.unmapped += count;
        } else if (auto s = pads_[slot]->write(events); !s) {
            stats_.failed += count;
            result = s;
        } else {
            stats_.events += count;
        }
    }
    if (gone) {  // the device goes (UI_DEV_DESTROY); a pad in the slot later is a new one
        pads_[slot].reset();
        pad_failed_[slot] = false;
    }
    return result;
}

Status UinputInjector::inject(std::span<const protocol::InputEvent> events) {
    const auto r = route_uinput(events, last_absolute_);
    for (auto [k, list] :
         {std::pair{pointer_.get(), &r.pointer}, std::pair{tablet_.get(), &r.tablet}}) {
        if (list->empty()) continue;
        const auto count = static_cast<std::uint64_t>(std::count_if(
            list->begin(), list->end(), [](const input_event& e) { return e.type != EV_SYN; }));
        if (auto s = k->write(*list); !s) {
            stats_.failed += count;
            return s;
        }
        stats_.events += count;
    }
    Status result;
    for (std::size_t slot = 0; slot < r.pads.size(); ++slot) {
        if (r.pads[slot].empty() && !r.pad_gone[slot]) continue;
        if (auto s = inject_pad(slot, r.pads[slot], r.pad_gone[slot]); !s && result) result = s;
    }
    return result;
}

}  // namespace porthole::agent
