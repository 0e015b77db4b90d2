#include "input/gamepad.hpp"

#include <fcntl.h>
#include <libevdev/libevdev.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "input/evdev_device.hpp"
#include "input/evdev_input.hpp"
#include "input/pad_rumble.hpp"
#include "porthole/util/adaptive_wait.hpp"
#include "porthole/util/unique_fd.hpp"

namespace porthole::client::input {

namespace pad = protocol::pad;

bool is_gamepad(const libevdev* dev) {
    return libevdev_has_event_code(dev, EV_KEY, BTN_SOUTH) &&
           libevdev_has_event_code(dev, EV_ABS, ABS_X) &&
           libevdev_has_event_code(dev, EV_ABS, ABS_Y);
}

PadAxes PadAxes::of(const libevdev* dev) {
    PadAxes a;
    for (std::size_t i = 0; i < std::size(pad::kAxes); ++i) {
        if (!libevdev_has_event_code(dev, EV_ABS, pad::kAxes[i])) continue;
        const input_absinfo* info = libevdev_get_abs_info(dev, pad::kAxes[i]);
        if (info == nullptr || info->minimum >= info->maximum) continue;  // nothing to map from
        a.from[i] = pad::AxisRange{info->minimum, info->maximum};
    }
    return a;
}

std::int32_t map_axis_range(std::int32_t value, pad::AxisRange from, pad::AxisRange to) {
    if (from.min >= from.max) return to.min;
    const std::int64_t v = std::clamp<std::int64_t>(value, from.min, from.max) - from.min;
    const std::int64_t span = std::int64_t{from.max} - from.min;
    const std::int64_t out_span = std::int64_t{to.max} - to.min;
    // Rounded to nearest, so a centred stick (or hat) lands on the centre.
    const std::int64_t scaled = (v * out_span * 2 + span) / (span * 2);
    return static_cast<std::int32_t>(to.min + scaled);
}

std::optional<protocol::InputEvent> PadMapper::map(const input_event& e) {
    protocol::InputEvent out{};
    out.time_ns = monotonic_ns();
    out.device = slot_;
    out.type = e.type;
    out.code = e.code;
    switch (e.type) {
        case EV_SYN:
            if (e.code != SYN_REPORT) return std::nullopt;
            return out;
        case EV_KEY:
            if (!pad::is_button(e.code)) break;
            if (e.value == 2) return std::nullopt;  // autorepeat: the press is held already
            out.value = e.value != 0 ? 1 : 0;
            return out;
        case EV_ABS: {
            const auto* it = std::find(std::begin(pad::kAxes), std::end(pad::kAxes), e.code);
            if (it == std::end(pad::kAxes)) break;
            const auto& from = axes_.from[static_cast<std::size_t>(it - std::begin(pad::kAxes))];
            if (!from) break;
            out.value = map_axis_range(e.value, *from, *pad::axis_range(e.code));
            return out;
        }
        default:
            break;
    }
    ++dropped_;
    return std::nullopt;
}

struct GamepadInput::Impl {
    struct Pad {
        GamepadInfo info;
        UniqueFd fd;
        LibevdevPtr dev;
        std::optional<PadMapper> mapper;
        std::vector<protocol::InputEvent> batch;
        std::uint64_t dropped_before = 0;  // by earlier mappers of this slot
        std::string node;                  // the eventN behind the path while open
        // Declared after fd: destroyed first, erasing the guest's effects on the open fd.
        std::unique_ptr<EvdevFfDevice> ff;
        std::unique_ptr<PadRumble> rumble;
    };
    InputSink* sink = nullptr;
    std::function<void(const std::string&)> notice;
    bool said_read_only = false, said_refused = false, said_rejected = false, said_lost = false;
    // Handed over by attach_feedback (any thread), taken by poll.
    mutable std::mutex feedback_mutex;
    std::optional<protocol::PadFeedbackReader> feedback;
    bool feedback_reset = false;
    PadFeedbackStats feedback_stats;
    std::uint64_t lost_before = 0, rejected_before = 0;  // by earlier sessions' readers

    std::vector<std::string> unsaid;  // said before set_notice (pads opened by create)
    std::atomic<bool> feedback_attached{false};

    void say(const std::string& m) {
        if (notice)
            notice(m);
        else
            unsaid.push_back(m);
    }

    void setup_rumble(Pad& p) {
        const FfCaps caps = ff_caps(p.fd.get());
        if (!caps.rumble) return;
        if ((::fcntl(p.fd.get(), F_GETFL) & O_ACCMODE) != O_RDWR) {
            if (!said_read_only)
                say("gamepad " + p.info.path +
                    " can rumble but is open read-only: rumble is off "
                    "(give write access to " +
                    p.node + ")");
            said_read_only = true;
            return;
        }
        p.ff = std::make_unique<EvdevFfDevice>(p.fd.get());
        p.rumble = std::make_unique<PadRumble>(*p.ff, caps);
        p.info.rumble = true;
    }

    void stop_rumble(Pad& p) {
        p.rumble.reset();  // erases what the guest uploaded
        p.ff.reset();
        p.info.rumble = false;
    }

    void apply_feedback(const protocol::PadFeedbackRecord& r, PadFeedbackStats& delta) {
        // Validated by the reader: the slot is 1..kMaxGamepads, maybe not one of ours.
        Pad* p = r.device <= pads.size() ? &pads[r.device - 1] : nullptr;
        if (p == nullptr || !p->rumble) {
            ++delta.no_rumble;
            return;
        }
        if (auto s = p->rumble->apply(r); !s) {
            ++delta.refused;
            if (!said_refused)
                say("gamepad " + p->info.path + " rumble: " + s.error().message +
                    " (said once; counted from now on)");
            said_refused = true;
            return;
        }
        ++delta.applied;
    }

    void poll_feedback() {
        std::array<protocol::PadFeedbackRecord, kFeedbackPerPoll> recs{};
        std::size_t n = 0;
        bool reset = false;
        std::uint64_t lost = 0, rejected = 0;
        {
            std::lock_guard lock(feedback_mutex);
            reset = std::exchange(feedback_reset, false);
            if (feedback) {
                n = feedback->pop(recs);
                feedback_stats.lost = lost_before + feedback->lost();
                feedback_stats.rejected = rejected_before + feedback->rejected();
            }
            lost = feedback_stats.lost;
            rejected = feedback_stats.rejected;
        }
        if (reset)
            for (auto& p : pads)
                if (p.rumble) p.rumble->reset();
        if (rejected > 0 && !said_rejected) {
            say("the agent sent invalid gamepad feedback records: ignored (said once; counted)");
            said_rejected = true;
        }
        if (lost > 0 && !said_lost) {
            say("gamepad feedback records were lost: the host fell behind the agent (said once)");
            said_lost = true;
        }
        PadFeedbackStats delta;
        for (std::size_t i = 0; i < n; ++i)
            apply_feedback(recs[i], delta);
        std::lock_guard lock(feedback_mutex);
        feedback_stats.applied += delta.applied;
        feedback_stats.no_rumble += delta.no_rumble;
        feedback_stats.refused += delta.refused;
    }
    std::vector<Pad> pads;
    std::chrono::steady_clock::time_point next_retry{};
    static constexpr std::chrono::milliseconds kRetry{500};

    Status open(Pad& p) {
        const std::string node = resolve_input_node(p.info.path);
        auto o = open_evdev(p.info.path, node, "gamepad");
        if (!o) return o.error();
        libevdev* raw = o->dev.get();
        const std::string name = o->name;
        if (!is_gamepad(raw))
            return Error::make(p.info.path + " (" + name +
                               ") is not a gamepad: it has no BTN_SOUTH or no stick (ABS_X, "
                               "ABS_Y); give keyboards and mice to --evdev-device");
        // The guest's from now on: the host's own programs stop seeing it.
        libevdev_grab(raw, LIBEVDEV_GRAB);
        p.mapper.emplace(PadAxes::of(raw), p.info.slot);
        p.fd = std::move(o->fd);
        p.dev = std::move(o->dev);
        p.info.name = name;
        p.node = node;
        p.info.open = true;
        p.info.last_error.clear();
        p.batch.clear();
        setup_rumble(p);
        return {};
    }

    void close(Pad& p, std::string why) {
        stop_rumble(p);
        if (p.mapper) p.dropped_before += p.mapper->dropped();
        p.mapper.reset();
        p.dev.reset();
        p.fd.reset();
        p.info.open = false;
        p.info.last_error = std::move(why);
        // The guest's pad goes too: nothing stays held on it.
        protocol::InputEvent gone{};
        gone.time_ns = monotonic_ns();
        gone.type = protocol::ev::syn;
        gone.code = pad::syn_gone;
        gone.device = p.info.slot;
        sink->deliver(std::span(&gone, 1));
    }

    void feed(Pad& p, const input_event& e) {
        const auto out = p.mapper->map(e);
        if (!out) return;
        p.batch.push_back(*out);
        if (out->type == protocol::ev::syn) {
            if (p.batch.size() > 1) sink->deliver(p.batch);
            p.batch.clear();
        }
    }

    void read(Pad& p) {
        if (const int rc = drain_events(p.dev.get(), [&](const input_event& e) { feed(p, e); }))
            close(p, "gamepad " + p.info.path + " went away: " + std::strerror(-rc));
    }
};

GamepadInput::GamepadInput(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GamepadInput::~GamepadInput() {
    // The guest's pads go with porthole: nothing stays held there.
    for (auto& p : impl_->pads)
        if (p.info.open) impl_->close(p, "porthole stopped");
}

Result<std::unique_ptr<GamepadInput>> GamepadInput::create(std::vector<std::string> paths,
                                                           InputSink& sink) {
    if (paths.size() > pad::kMaxGamepads)
        return Error::make("at most " + std::to_string(pad::kMaxGamepads) + " gamepads (" +
                           std::to_string(paths.size()) + " given)");
    auto impl = std::make_unique<Impl>();
    impl->sink = &sink;
    for (std::size_t i = 0; i < paths.size(); ++i) {
        Impl::Pad p;
        p.info.path = paths[i];
        p.info.slot = static_cast<std::uint32_t>(i + 1);
        impl->pads.push_back(std::move(p));
    }
    for (auto& p : impl->pads) {
        if (auto s = impl->open(p); !s) {
            // A pad named but not a pad is a mistake to say now; one unplugged comes later.
            if (s.error().code == 0) return s.error();
            p.info.last_error = s.error().message;
        }
    }
    return std::unique_ptr<GamepadInput>(new GamepadInput(std::move(impl)));
}

Status GamepadInput::poll(std::chrono::milliseconds timeout) {
    auto& im = *impl_;
    const auto now = std::chrono::steady_clock::now();
    if (now >= im.next_retry) {
        im.next_retry = now + Impl::kRetry;
        for (auto& p : im.pads) {
            // A node that vanished is a pad unplugged, even if no read failed yet.
            if (p.info.open && !std::filesystem::exists(p.node))
                im.close(p, "gamepad " + p.info.path + " was unplugged");
            if (!p.info.open)
                if (auto s = im.open(p); !s) p.info.last_error = s.error().message;
        }
    }
    im.poll_feedback();
    std::vector<pollfd> fds;
    std::vector<Impl::Pad*> which;
    for (auto& p : im.pads) {
        if (!p.info.open) continue;
        fds.push_back({p.fd.get(), POLLIN, 0});
        which.push_back(&p);
        // The agent's ring has no wakeup: rumble is read at least this often.
        if (p.rumble && im.feedback_attached.load()) timeout = std::min(timeout, kFeedbackPeriod);
    }
    if (fds.empty()) {
        ::poll(nullptr, 0, static_cast<int>(std::min(timeout, Impl::kRetry).count()));
        return {};
    }
    const int n = ::poll(fds.data(), fds.size(), static_cast<int>(timeout.count()));
    if (n < 0 && errno != EINTR) return Error::make(std::string("poll: ") + std::strerror(errno));
    for (std::size_t i = 0; i < fds.size(); ++i) {
        if (fds[i].revents & (POLLERR | POLLHUP | POLLNVAL)) {
            im.close(*which[i], "gamepad " + which[i]->info.path + " went away");
        } else if (fds[i].revents & POLLIN) {
            im.read(*which[i]);
        }
    }
    return {};
}

void GamepadInput::attach_feedback(std::optional<protocol::PadFeedbackReader> reader) {
    std::lock_guard lock(impl_->feedback_mutex);
    if (impl_->feedback) {
        impl_->lost_before += impl_->feedback->lost();
        impl_->rejected_before += impl_->feedback->rejected();
    }
    impl_->feedback = std::move(reader);
    impl_->feedback_attached.store(impl_->feedback.has_value());
    impl_->feedback_reset = true;  // the last session's effects are the last guest's
}

PadFeedbackStats GamepadInput::feedback_stats() const {
    std::lock_guard lock(impl_->feedback_mutex);
    return impl_->feedback_stats;
}

void GamepadInput::set_notice(std::function<void(const std::string&)> notice) {
    impl_->notice = std::move(notice);
    for (const auto& m : std::exchange(impl_->unsaid, {}))
        impl_->say(m);
}

std::vector<GamepadInfo> GamepadInput::pads() const {
    std::vector<GamepadInfo> out;
    for (const auto& p : impl_->pads)
        out.push_back(p.info);
    return out;
}

std::uint64_t GamepadInput::dropped() const {
    std::uint64_t n = 0;
    for (const auto& p : impl_->pads)
        n += p.dropped_before + (p.mapper ? p.mapper->dropped() : 0);
    return n;
}

}  // namespace porthole::client::input
