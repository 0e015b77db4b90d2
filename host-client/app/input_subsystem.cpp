#include "app/input_subsystem.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <chrono>

#include "input/hotkey.hpp"
#include "render/scaling.hpp"

namespace porthole::client {

namespace {

// The SDL scancode of a one-key hotkey (window mode's capture key).
Result<SDL_Scancode> capture_key(const std::string& spec) {
    auto h = input::parse_hotkey(spec);
    if (!h) return Error{h.error()};
    if (h->groups.size() != 1 || h->groups[0].empty())
        return Error{"--hotkey '" + spec +
                     "': window mode takes a single capture key (e.g. scrolllock, KEY_PAUSE)"};
    for (int s = 0; s < SDL_NUM_SCANCODES; ++s) {
        const auto sc = static_cast<SDL_Scancode>(s);
        if (input::sdl_to_evdev(sc) == h->groups[0][0]) return sc;
    }
    return Error{"--hotkey '" + spec + "': no SDL key for it"};
}

}  // namespace

Result<std::unique_ptr<InputSubsystem>> InputSubsystem::create(const Options& o,
                                                               SdlWindow* window) {
    std::unique_ptr<InputSubsystem> s(new InputSubsystem());
    s->mode_ = o.input;
    s->help_lines_ = input::help_lines();
    auto* self = s.get();
    if (o.input != "none") {
        if (o.input_to == "qmp") {
            auto path = qmp::parse_qmp_address(o.qmp);
            if (!path) return Error{"--qmp: " + path.error().message};
            qmp::QmpConfig qc;
            qc.socket_path = *path;
            qc.notice = [](const std::string& line) { spdlog::warn("input: {}", line); };
            s->qmp_sink_ = std::make_unique<qmp::QmpInputSink>(std::move(qc));
            s->sink_ = s->qmp_sink_.get();
            spdlog::info("input: to QEMU over QMP at {}", *path);
            // The client reconnects quietly: a socket that is not there gets said once, with the
            // fix.
            struct stat st {};
            if (::stat(path->c_str(), &st) != 0) {
                spdlog::warn(
                    "input: QMP socket {} does not exist: start QEMU with -qmp unix:{},server=on,"
                    "wait=off (libvirt: the domain from `porthole-vfio vm define` has it) or pass "
                    "--qmp with the right path; input goes to the guest once it appears",
                    *path, *path);
            } else if (!S_ISSOCK(st.st_mode)) {
                spdlog::warn("input: {} is not a socket: --qmp wants QEMU's -qmp unix:PATH", *path);
            }
        } else {
            s->sink_ = &s->region_sink_;
        }
    }

    if (o.input == "evdev") {
        auto hotkey = input::parse_hotkey(o.hotkey);
        if (!hotkey) return Error{"--hotkey: " + hotkey.error().message};
        input::EvdevConfig ec;
        ec.devices = o.evdev_devices;
        ec.hotkey = *hotkey;
        ec.options.mouse_sensitivity = o.mouse_sensitivity;
        ec.options.ignore_windows_keys = o.ignore_windows_keys;
        // The hotkey held with another key is a binding (input/bindings.hpp), as the
        // capture key is in window mode.
        ec.options.bindings = true;
        auto ev = input::EvdevInput::create(std::move(ec), *self);
        if (!ev) return Error{"evdev input: " + ev.error().message};
        s->evdev_ = std::move(*ev);
        s->evdev_->on_owner_change([self](input::Owner owner) {
            self->owner_.store(owner == input::Owner::guest ? 1 : 0);
            spdlog::info("input: {} owns the keyboard and mouse", input::to_string(owner));
        });
        // While the guest owns the grabbed devices the window sees no keys, so the
        // bindings act from here (the render thread takes them); while the host
        // owns them the focused window sees the same keys and acts itself.
        s->evdev_->router().on_action([self](input::WindowAction a) {
            if (self->owner_.load() != 1) return;
            const std::lock_guard lock(self->window_mutex_);
            self->actions_.push_back(a);
        });
        std::size_t open = 0;
        for (const auto& d : s->evdev_->devices()) {
            if (d.open) {
                ++open;
                spdlog::info("input: {} ({})", d.path, d.name);
            } else {
                spdlog::warn("input: {} not open yet: {}", d.path, d.last_error);
            }
        }
        if (open == 0) spdlog::warn("input: no keyboard or mouse open yet (hot-plug is watched)");
        spdlog::info("input: evdev, {} switches between host and guest", o.hotkey);
        s->evdev_thread_ = std::thread([self] {
            while (!self->stop_.load()) {
                if (auto st = self->evdev_->poll(std::chrono::milliseconds(200)); !st)
                    spdlog::warn("input: {}", st.error().message);
            }
        });
    }
    if (!o.gamepads.empty()) {
        // Pads travel only through the agent's input ring (also with --input none).
        if (o.input_to == "qmp")
            return Error{"--gamepad goes through the agent: not with --input-to qmp"};
        if (s->sink_ == nullptr) s->sink_ = &s->region_sink_;
        auto pads = input::GamepadInput::create(o.gamepads, *self);
        if (!pads) return Error{"--gamepad: " + pads.error().message};
        s->gamepads_ = std::move(*pads);
        s->gamepads_->set_notice([](const std::string& m) { spdlog::warn("input: {}", m); });
        for (const auto& p : s->gamepads_->pads()) {
            if (p.open)
                spdlog::info("input: gamepad {} ({}) to the guest as pad {}{}", p.path, p.name,
                             p.slot, p.rumble ? ", with rumble" : "");
            else
                spdlog::warn("input: gamepad {} not open yet: {}", p.path, p.last_error);
        }
        s->gamepad_thread_ = std::thread([self] {
            while (!self->stop_.load()) {
                if (auto st = self->gamepads_->poll(std::chrono::milliseconds(100)); !st)
                    spdlog::warn("input: {}", st.error().message);
            }
        });
    }
    if (o.input == "window" && window == nullptr)
        return Error{"--input window needs a window (not --headless)"};
    if (window == nullptr) return s;

    // The window's keys: in window mode they go to the guest and the capture
    // key toggles capture; otherwise only the key bindings act (ScrollLock+Q
    // quits whatever the input mode).
    input::WindowInputConfig wc;
    wc.to_guest = o.input == "window";
    if (wc.to_guest) {
        auto key = capture_key(o.hotkey);
        if (!key) return Error{key.error()};
        wc.capture_key = *key;
    }
    wc.mouse = o.mouse == "absolute"   ? input::MouseMode::absolute
               : o.mouse == "relative" ? input::MouseMode::relative
                                       : input::MouseMode::automatic;
    wc.mouse_sensitivity = o.mouse_sensitivity;
    wc.ignore_windows_keys = o.ignore_windows_keys;
    // Only when the client draws the guest's cursor: else no cursor would be left.
    wc.hide_host_cursor = o.hide_cursor && o.renderer.draw_cursor;
    s->sdl_window_ = window->sdl_window();
    s->window_input_ = std::make_unique<input::WindowInput>(
        wc, [self](std::span<const protocol::InputEvent> b) { self->deliver(b); }, s->sdl_window_);
    s->mouse_mode_.store(wc.mouse);
    s->help_lines_ =
        input::help_lines(SDL_GetScancodeName(wc.capture_key), s->window_input_->to_guest());
    const bool capture_on_focus = wc.to_guest && o.capture_on_focus;
    window->set_event_sink([self, capture_on_focus](const SDL_Event& e) {
        self->handle_window_event(e, capture_on_focus);
    });
    if (wc.to_guest) spdlog::info("input: window, {} toggles capture", o.hotkey);
    if (wc.to_guest && o.capture_on_start) {
        s->window_input_->set_captured(true);
        s->owner_.store(1);
        spdlog::info("input: captured at start (--capture-on-start)");
    }
    return s;
}

void InputSubsystem::handle_window_event(const SDL_Event& e, bool capture_on_focus) {
    auto acts = window_input_->handle(e);
    if (capture_on_focus && e.type == SDL_WINDOWEVENT &&
        e.window.event == SDL_WINDOWEVENT_FOCUS_GAINED && !window_input_->captured()) {
        window_input_->set_captured(true);
        acts.push_back(input::WindowAction::capture_on);
        spdlog::info("input: captured on focus (--capture-on-focus)");
    }
    if (evdev_ == nullptr) owner_.store(window_input_->captured() ? 1 : 0);
    escape_held_.store(window_input_->capture_key_held());
    mouse_mode_.store(window_input_->mouse_mode());
    bool resized = false;
    if (e.type == SDL_WINDOWEVENT && e.window.event == SDL_WINDOWEVENT_SIZE_CHANGED) resized = true;
    {
        const std::lock_guard lock(window_mutex_);
        actions_.insert(actions_.end(), acts.begin(), acts.end());
        if (resized && view_) view_changed_ = true;  // the guest image moved in the window
    }
    if (resized) apply_window_state();
}

InputSubsystem::~InputSubsystem() {
    stop_.store(true);
    if (evdev_) evdev_->wake();
    if (evdev_thread_.joinable()) evdev_thread_.join();
    if (gamepad_thread_.joinable()) gamepad_thread_.join();  // polls at most 100 ms
}

void InputSubsystem::deliver(std::span<const protocol::InputEvent> batch) {
    if (sink_ == nullptr) return;
    sink_->deliver(batch);
    events_.fetch_add(batch.size());
}

void InputSubsystem::attach(protocol::HostChannels& channels,
                            const protocol::HostSession& session) {
    if (sink_ != &region_sink_) return;
    if ((session.agent_capabilities() & protocol::cap::input_inject) == 0 || !channels.input) {
        // Once per change, not for every session a restarting agent opens.
        if (!said_cannot_inject_) spdlog::info("input: the agent cannot inject input");
        said_cannot_inject_ = true;
        return;
    }
    said_cannot_inject_ = false;
    if (gamepads_) gamepads_->attach_feedback(std::move(channels.pad_feedback));
    region_sink_.attach(std::move(channels.input));
    channels.input.reset();
}

void InputSubsystem::detach() {
    if (sink_ == &region_sink_) region_sink_.attach(std::nullopt);
    if (gamepads_) gamepads_->attach_feedback(std::nullopt);  // the guest's rumble stops
}

bool InputSubsystem::tick(std::uint64_t /*now_ns*/) {
    return false;  // evdev runs on its thread; window events come through the window's sink
}

std::vector<input::WindowAction> InputSubsystem::take_actions() {
    std::vector<input::WindowAction> out;
    const std::lock_guard lock(window_mutex_);
    out.swap(actions_);
    return out;
}

void InputSubsystem::set_guest_cursor_visible(bool visible) {
    if (!window_input_) return;
    {
        const std::lock_guard lock(window_mutex_);
        // Cursor updates come often: the main thread is woken for a change only.
        if (visible == cursor_visible_asked_) return;
        cursor_visible_asked_ = visible;
        cursor_visible_ = visible;
    }
    wake_main();
}

void InputSubsystem::update_view(ScaleMode scale, std::uint32_t frame_w, std::uint32_t frame_h) {
    if (!window_input_ || sdl_window_ == nullptr || frame_w == 0 || frame_h == 0) return;
    {
        const std::lock_guard lock(window_mutex_);
        view_ = View{scale, frame_w, frame_h};
        view_changed_ = true;
    }
    wake_main();
}

void InputSubsystem::set_wake(std::function<void()> wake) {
    const std::lock_guard lock(window_mutex_);
    wake_ = std::move(wake);
}

void InputSubsystem::wake_main() {
    const std::lock_guard lock(window_mutex_);
    if (wake_) wake_();
}

void InputSubsystem::apply_window_state() {
    if (!window_input_) return;
    std::optional<View> view;
    std::optional<bool> cursor;
    {
        const std::lock_guard lock(window_mutex_);
        if (view_changed_) view = view_;
        view_changed_ = false;
        cursor.swap(cursor_visible_);
    }
    if (cursor) window_input_->set_guest_cursor_visible(*cursor);
    if (!view || sdl_window_ == nullptr) return;
    int ww = 0, wh = 0;
    SDL_GetWindowSize(sdl_window_, &ww, &wh);
    if (ww <= 0 || wh <= 0) return;
    const auto r = place_frame(view->scale, view->w, view->h, static_cast<std::uint32_t>(ww),
                               static_cast<std::uint32_t>(wh));
    window_input_->set_view({r.x, r.y, static_cast<int>(r.w), static_cast<int>(r.h)});
}

InputStats InputSubsystem::stats() const {
    InputStats st;
    st.mode = mode_;
    st.owner = owner_.load() == 1 ? "guest" : "host";
    st.events = events_.load();
    st.overflow = region_sink_.overflow();
    if (qmp_sink_) {
        const auto q = qmp_sink_->client().stats();
        st.qmp = true;
        st.qmp_connected = q.connected;
        st.qmp_sent = q.batches_sent;
        st.qmp_accepted = q.accepted;
        st.qmp_rejected = q.rejected;
        st.qmp_dropped = q.dropped;
    }
    return st;
}

}  // namespace porthole::client
