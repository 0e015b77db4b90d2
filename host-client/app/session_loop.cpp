#include "app/session_loop.hpp"

#include <sys/stat.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <thread>

#include "app/screenshot_path.hpp"
#include "porthole/util/adaptive_wait.hpp"
#include "render/png_file.hpp"

namespace porthole::client {

namespace {
constexpr std::uint64_t kSecond = 1'000'000'000;
// Guest text in log lines: region validation messages quote guest values.
constexpr std::size_t kMaxGuestText = 160;

// A vsynced window paces new frames to its display's refresh; offscreen,
// mailbox and immediate draw them as they arrive.
FramePacer make_pacer(const Renderer& renderer, const SdlWindow* window) {
    const bool vsync = window != nullptr && renderer.present_mode() == PresentMode::fifo;
    const int hz = window != nullptr ? window->refresh_hz() : 0;
    return FramePacer(vsync,
                      hz > 0 ? std::uint64_t{1'000'000'000} / static_cast<std::uint64_t>(hz) : 0);
}
}  // namespace

SessionLoop::SessionLoop(const Options& options, std::span<std::byte> region, Renderer& renderer,
                         SdlWindow* window)
    : o_(options),
      session_(region, 0, "porthole 0.1"),
      renderer_(renderer),
      window_(window),
      pacer_(make_pacer(renderer, window)),
      overlay_(options.overlay) {
    if (const char* stall = std::getenv("PORTHOLE_TEST_DRAW_STALL_MS"); stall != nullptr)
        draw_stall_ms_ = std::strtoull(stall, nullptr, 10);
    if (draw_stall_ms_ != 0) {
        spdlog::warn("PORTHOLE_TEST_DRAW_STALL_MS: each draw is held {} ms (a test hook)",
                     draw_stall_ms_);
    }
    connect_doorbell();
}

void SessionLoop::connect_doorbell() {
    if (o_.doorbell == "off") return;
    const bool automatic = o_.doorbell == "auto";
    const std::string path = automatic ? ivshmem::kDefaultDoorbellSocket : o_.doorbell;
    struct stat st {};
    if (automatic && ::stat(path.c_str(), &st) != 0) return;  // no server: poll, as always
    auto peer = ivshmem::DoorbellPeer::connect(path, std::chrono::seconds(2));
    if (!peer) {
        // Polling still works: the doorbell only makes the notice sooner.
        spdlog::warn("doorbell off: {}", peer.error().message);
        return;
    }
    if (!peer->serves(o_.shm)) {
        spdlog::warn(
            "doorbell off: the server at {} serves another file than --shm {} (start it "
            "with --shm {})",
            path, o_.shm, o_.shm);
        return;
    }
    spdlog::info("doorbell: peer {} of the ivshmem server at {}", peer->id(), path);
    session_.set_doorbell(peer->id());
    doorbell_.emplace(std::move(*peer));
}

void SessionLoop::follow_session(std::uint64_t now) {
    auto poll = session_.poll(now);
    const bool changed = poll.state != link_.state || poll.message != link_.message || !announced_;
    if (changed) {
        if (poll.state == protocol::LinkState::connected) {
            glog_.log(spdlog::level::info, "agent connected", now,
                      "agent connected: {} (session {:016x})", printable(session_.agent_name()),
                      session_.agent_session());
        } else {
            glog_.log(spdlog::level::warn, "link state changes", now, "{}{}{}",
                      protocol::to_string(poll.state), poll.message.empty() ? "" : ": ",
                      printable(poll.message, kMaxGuestText));
        }
        announced_ = true;
    }
    const bool lost = poll.state != protocol::LinkState::connected &&
                      link_.state == protocol::LinkState::connected;
    if (lost) {
        // Heartbeat stopped (agent gone or VM paused): show the state but keep
        // the channels; the same session may come back, a new one resets below.
        renderer_.forget_frame();
        needs_draw_ = true;
    }
    if (poll.new_session) {
        doorbell_new_session_ = true;
        for (auto* s : subsystems_)
            s->detach();
        if (channels_) {
            frames_torn_ += channels_->frames.stats().torn;
            frames_skipped_ += channels_->frames.stats().skipped;
            frames_invalid_ += channels_->frames.stats().invalid;
        }
        channels_.reset();
        renderer_.forget_frame();
        for (auto* o : observers_)
            o->on_new_session();
        needs_draw_ = true;
    }
    if (poll.new_session) {
        auto c = session_.attach_channels();
        if (!c) {
            glog_.log(spdlog::level::err, "channel errors", now,
                      "cannot attach to the agent's channels: {}",
                      printable(c.error().message, kMaxGuestText));
        } else {
            channels_.emplace(std::move(*c));
            for (auto* s : subsystems_)
                s->attach(*channels_, session_);
        }
    }
    link_ = std::move(poll);
    bool status_changed = false;
    if (link_.state == protocol::LinkState::connected) {
        if (auto st = session_.agent_status(); st && *st != agent_status_) {
            if (st->code != protocol::AgentStatusCode::ok)
                spdlog::warn("guest agent: {}", st->text);
            agent_status_ = std::move(*st);
            status_changed = true;
        }
    } else if (agent_status_.code != protocol::AgentStatusCode::ok) {
        agent_status_ = {};
        status_changed = true;
    }
    if (changed || status_changed) update_message();
}

std::vector<std::string> agent_status_lines(const protocol::AgentStatusView& status,
                                            std::size_t width) {
    std::vector<std::string> lines;
    if (status.code == protocol::AgentStatusCode::ok) return lines;
    lines.emplace_back("Guest agent:");
    std::string line;
    std::size_t pos = 0;
    const std::string& t = status.text;
    while (pos < t.size()) {
        std::size_t end = t.find(' ', pos);
        if (end == std::string::npos) end = t.size();
        const std::string word = t.substr(pos, std::min(end - pos, width));
        if (!line.empty() && line.size() + 1 + word.size() > width) {
            lines.push_back(line);
            line.clear();
        }
        line += (line.empty() ? "" : " ") + word;
        pos = end + 1;
    }
    if (!line.empty()) lines.push_back(line);
    return lines;
}

void SessionLoop::update_message() {
    std::vector<std::string> lines;
    switch (link_.state) {
        case protocol::LinkState::connected:
            lines = agent_status_lines(agent_status_, 60);
            break;
        case protocol::LinkState::waiting:
            lines = {"Waiting for the guest agent"};
            break;
        case protocol::LinkState::disconnected:
            lines = {"Agent disconnected"};
            break;
        case protocol::LinkState::incompatible:
            lines = {"Agent protocol version unsupported", link_.message.substr(0, 60)};
            break;
        case protocol::LinkState::invalid:
            lines = {"Invalid region", link_.message.substr(0, 60)};
            break;
    }
    if (!notice_.empty()) {
        if (!lines.empty()) lines.emplace_back();
        lines.insert(lines.end(), notice_.begin(), notice_.end());
    }
    if (lines == message_) return;  // text is rasterised and uploaded: only on a change
    message_ = lines;
    renderer_.set_message(lines);
    needs_draw_ = true;
}

bool SessionLoop::take_frame() {
    if (link_.state != protocol::LinkState::connected || !channels_) return false;
    auto& frames = channels_->frames;
    const auto now = monotonic_ns();
    if (renderer_.upload_pending()) {
        // The GPU is copying a frame from the region, or a progressive frame's
        // rows are landing; neither waits, and a torn, abandoned or stalled
        // frame is dropped by the renderer.
        const auto copied = renderer_.cpu_bytes_copied() + renderer_.gpu_bytes_copied();
        const auto state = renderer_.finish_upload(frames);
        if (state == UploadState::accepted) frame_accepted(pending_meta_);
        // Rows that landed count as activity: the loop keeps spinning while a frame streams in.
        return state != UploadState::pending ||
               renderer_.cpu_bytes_copied() + renderer_.gpu_bytes_copied() != copied;
    }
    // Progressive frames are offered while the guest still writes them: the
    // renderer copies their rows as they land (pending until all are in).
    auto polled = frames.poll_progressive(now);
    if (!polled) {
        glog_.log(spdlog::level::err, "frame errors", now, "bad frame from the agent: {}",
                  printable(polled.error().message, kMaxGuestText));
        return false;
    }
    if (!*polled) return false;
    const auto& view = **polled;
    auto up = renderer_.upload_frame(view, frames);
    if (!up) {
        glog_.log(spdlog::level::err, "frame errors", now, "{}",
                  printable(up.error().message, kMaxGuestText));
        return false;
    }
    if (*up == UploadState::accepted) frame_accepted(view.meta);
    if (*up == UploadState::pending) pending_meta_ = view.meta;
    return true;  // accepted, pending, or torn: poll again soon
}

void SessionLoop::frame_accepted(const protocol::FrameMeta& meta) {
    pacer_.frame_complete(monotonic_ns());
    new_frame_ = true;
    needs_draw_ = true;
    frame_capture_ns_ = meta.capture_time_ns;
    if (meta.width != frame_w_ || meta.height != frame_h_) {
        frame_w_ = meta.width;
        frame_h_ = meta.height;
        glog_.log(spdlog::level::info, "frame size", monotonic_ns(), "guest frames are {}x{}",
                  meta.width, meta.height);
        update_input_view();
    }
}

bool SessionLoop::take_cursor() {
    if (link_.state != protocol::LinkState::connected || !channels_ || !channels_->cursor)
        return false;
    bool any = false;
    auto shape = channels_->cursor->poll_shape();
    if (!shape) {
        glog_.log(spdlog::level::warn, "cursor errors", monotonic_ns(), "bad cursor shape: {}",
                  printable(shape.error().message, kMaxGuestText));
    } else if (*shape) {
        renderer_.set_cursor_shape(**shape);
        any = true;
    }
    if (auto pos = channels_->cursor->poll_position()) {
        renderer_.set_cursor_state(*pos);
        if (input_ != nullptr) input_->set_guest_cursor_visible(pos->visible);
        any = true;
    }
    if (any && o_.renderer.draw_cursor) needs_draw_ = true;
    return any;
}

void SessionLoop::handle_window(bool& quit) {
    if (pump_ != nullptr) {
        for (auto e : pump_->take_events())
            window_event(e, quit);
    }
    if (input_ == nullptr) return;
    for (auto a : input_->take_actions()) {
        switch (a) {
            case input::WindowAction::toggle_fullscreen:
                window_event(WindowEvent::toggle_fullscreen, quit);
                break;
            case input::WindowAction::toggle_overlay:
                window_event(WindowEvent::toggle_overlay, quit);
                break;
            case input::WindowAction::screenshot:
                window_event(WindowEvent::screenshot, quit);
                break;
            case input::WindowAction::quit:
                spdlog::info("input: quit key");
                quit = true;
                break;
            case input::WindowAction::toggle_usb:
                if (usb_ != nullptr) {
                    usb_->toggle();
                } else {
                    spdlog::info(
                        "input: the USB key does nothing without --usb devices (and --qmp)");
                    show_notice({"No USB devices given", "See --usb and --qmp"});
                }
                break;
            case input::WindowAction::cycle_mouse_mode:
                spdlog::info("input: mouse mode {}", input::to_string(input_->mouse_mode()));
                break;
            default:
                spdlog::info("input: {}", input::to_string(a));
                break;
        }
    }
}

void SessionLoop::update_help(std::uint64_t now) {
    // Shown once the key has been held a moment: a quick ScrollLock+F does
    // not flash the panel over the guest's screen.
    constexpr std::uint64_t kHelpDelayNs = 300'000'000;
    bool held = input_ != nullptr && input_->escape_held();
    if (!held) {
        held_since_ns_ = 0;
    } else if (held_since_ns_ == 0) {
        held_since_ns_ = now;
    }
    held = held && now - held_since_ns_ >= kHelpDelayNs;
    if (held == help_) return;
    help_ = held;
    spdlog::debug("input: help panel {}", held ? "shown" : "hidden");
    renderer_.set_help(held ? input_->help_lines() : std::vector<std::string>{});
    needs_draw_ = true;
}

void SessionLoop::update_input_view() {
    if (input_ != nullptr) input_->update_view(o_.renderer.scale, frame_w_, frame_h_);
}

void SessionLoop::window_event(WindowEvent e, bool& quit) {
    {
        switch (e) {
            case WindowEvent::quit:
                quit = true;
                break;
            case WindowEvent::resized:
                renderer_.target_resized();
                update_input_view();
                needs_draw_ = true;
                break;
            case WindowEvent::exposed:
                needs_draw_ = true;
                break;
            case WindowEvent::toggle_overlay:
                overlay_ = !overlay_;
                renderer_.set_overlay(
                    overlay_ ? overlay_lines(stats_.last(), stats_.totals(), stats_line())
                             : std::vector<std::string>{},
                    stats_.frame_times());
                needs_draw_ = true;
                break;
            case WindowEvent::toggle_fullscreen:
                // SDL's window calls are the main thread's: it sends `resized` back.
                if (pump_ != nullptr) {
                    pump_->request_fullscreen_toggle();
                } else {
                    spdlog::info("input: no window to make fullscreen");
                }
                break;
            case WindowEvent::screenshot: {
                const std::string dir = pictures_dir();
                auto path = new_screenshot_path(dir, std::time(nullptr));
                if (!path) {
                    spdlog::error("screenshot: {}", path.error().message);
                    show_notice({"Screenshot failed", path.error().message});
                    break;
                }
                screenshot_request_ = *path;
                needs_draw_ = true;
                break;
            }
        }
    }
}

bool SessionLoop::save_screenshot(const ReadbackImage& img, const std::string& path) {
    if (auto ok = write_png(path, img); !ok) {
        spdlog::error("{}", ok.error().message);
        return false;
    }
    spdlog::info("screenshot saved to {} ({}x{})", path, img.width, img.height);
    return true;
}

void SessionLoop::show_notice(std::vector<std::string> lines) {
    notice_ = std::move(lines);
    notice_until_ns_ = monotonic_ns() + 4 * kSecond;
    update_message();
    needs_draw_ = true;
}

StatsLine SessionLoop::stats_line() const {
    StatsLine s;
    s.state = std::string(protocol::to_string(link_.state));
    s.copy_path = std::string(to_string(renderer_.copy_path()));
    s.present_mode = o_.headless ? "offscreen" : std::string(to_string(renderer_.present_mode()));
    s.torn = frames_torn_;
    s.skipped = frames_skipped_;
    s.invalid = frames_invalid_;
    s.vsync = pacer_.vsync();
    s.superseded = pacer_.superseded();
    s.late = pacer_.late();
    if (channels_) {
        s.torn += channels_->frames.stats().torn;
        s.skipped += channels_->frames.stats().skipped;
        s.invalid += channels_->frames.stats().invalid;
    }
    if (doorbell_) s.doorbell_rings = doorbell_rings_;
    s.cpu_bytes = renderer_.cpu_bytes_copied();
    s.gpu_bytes = renderer_.gpu_bytes_copied();
    s.verify = std::any_of(observers_.begin(), observers_.end(),
                           [](const SessionObserver* o) { return o->verifies(); });
    if (audio_ != nullptr) {
        const auto a = audio_->stats();
        s.audio = AudioLine{
            a.underruns, a.overruns, a.trims,      a.latency_ms,
            a.ratio,     a.playing,  a.frames_out, static_cast<double>(monotonic_ns()) * 1e-9,
            std::nullopt};
        if (const auto f = audio_->scream_format())
            s.audio->scream = AudioLine::Scream{f->rate, f->channels, f->bits, f->channel_mask};
    }
    if (input_ != nullptr) s.input = input_->stats();
    return s;
}

int SessionLoop::run(const std::atomic<bool>& stop) {
    if (window_ == nullptr) return run_loop(stop);
    WindowPump pump(*window_);
    pump_ = &pump;
    if (input_ != nullptr) input_->set_wake([&pump] { pump.wake(); });
    std::atomic<bool> done{false};
    int code = 0;
    std::thread render([&] {
        code = run_loop(stop);
        done.store(true);
        pump.wake();
    });
    pump.run(done, [this] {
        if (input_ != nullptr) input_->apply_window_state();
        for (auto* s : subsystems_)
            s->main_thread_round(monotonic_ns());
    });
    render.join();
    if (input_ != nullptr) input_->set_wake({});
    pump_ = nullptr;
    return code;
}

int SessionLoop::run_loop(const std::atomic<bool>& stop) {
    AdaptiveWait wait;
    if (doorbell_) wait.set_doorbell(doorbell_->interrupt_fd());
    const bool observers_read_back =
        std::any_of(observers_.begin(), observers_.end(),
                    [](const SessionObserver* o) { return o->wants_readback(); });
    std::uint64_t next_stats = monotonic_ns() + kSecond;
    int code = 0;
    bool quit = false;
    while (!stop.load() && !quit) {
        const std::uint64_t now = monotonic_ns();
        follow_session(now);
        handle_window(quit);
        update_help(now);
        bool active = take_frame();
        active = take_cursor() || active;
        for (auto* s : subsystems_)
            active = s->tick(now) || active;

        // A new frame waits for its moment with vsync (the newest one by then is drawn).
        if (needs_draw_ && (!new_frame_ || pacer_.due(monotonic_ns()))) {
            const bool want_readback =
                (observers_read_back && new_frame_) || !screenshot_request_.empty();
            if (draw_stall_ms_ != 0)
                std::this_thread::sleep_for(std::chrono::milliseconds(draw_stall_ms_));
            auto drawn = renderer_.draw(want_readback);
            if (!drawn) {
                spdlog::error("{}", drawn.error().message);
                return 1;
            }
            if (drawn->presented) {
                needs_draw_ = false;
                stats_.presented();
                if (new_frame_) {
                    std::optional<double> latency;
                    if (auto age = session_.clock().age_ns(frame_capture_ns_, drawn->present_ns)) {
                        latency = static_cast<double>(*age) / 1e6;
                    }
                    stats_.frame_shown(renderer_.frame_serial(), latency, drawn->present_ns);
                    if (drawn->present_ns != 0) stats_.frame_presented_at(drawn->present_ns);
                    pacer_.presented(drawn->present_ns);
                    const ShownFrame shown{renderer_.frame_serial(), drawn->present_ns,
                                           drawn->readback ? &*drawn->readback : nullptr};
                    for (auto* o : observers_)
                        o->on_frame_shown(shown, stats_.totals());
                    new_frame_ = false;
                }
                if (!screenshot_request_.empty() && drawn->readback) {
                    if (save_screenshot(*drawn->readback, screenshot_request_)) {
                        show_notice({"Screenshot saved to", screenshot_request_});
                    } else {
                        show_notice({"Screenshot failed", "See the log"});
                    }
                    screenshot_request_.clear();
                }
                active = true;
            }  // else minimised or out of date: retry after the usual wait, not in a busy loop
        }

        if (usb_ != nullptr) {
            auto notices = usb_->take_notices();
            if (!notices.empty()) show_notice(std::move(notices.back()));
        }
        if (!notice_.empty() && monotonic_ns() >= notice_until_ns_) {
            notice_.clear();
            update_message();
        }
        if (monotonic_ns() >= next_stats) {
            glog_.flush(monotonic_ns());
            doorbell_rings_ = wait.doorbell_rings();  // for stats_line
            if (doorbell_ && !doorbell_server_lost_) {
                if (auto ok = doorbell_->pump(); !ok) {
                    doorbell_server_lost_ = true;  // QEMU's eventfds still ring us
                    spdlog::warn(
                        "doorbell: {} (rings still arrive; restart the VM after the "
                        "server to let a new VM connect)",
                        ok.error().message);
                }
            }
            const auto w = stats_.roll(monotonic_ns());
            const auto line = stats_line();
            if (o_.stats) {
                std::printf("%s\n", stats_json(w, stats_.totals(), line).c_str());
                std::fflush(stdout);
            }
            if (overlay_) {
                renderer_.set_overlay(overlay_lines(w, stats_.totals(), line),
                                      stats_.frame_times());
                needs_draw_ = true;
            }
            next_stats += kSecond;
        }
        std::optional<int> end;
        for (auto* o : observers_) {
            if (!end) end = o->on_tick(monotonic_ns(), stats_.totals());
        }
        if (end) {
            code = *end;
            break;
        }
        if (doorbell_new_session_) {
            doorbell_new_session_ = false;
            wait.doorbell_session();
        }
        if (active) {
            wait.activity();
        } else {  // spins while a frame streams in and as the next one is due
                  // (FrameReader::wake_hint)
            wait.idle(channels_ ? channels_->frames.wake_hint(monotonic_ns()) : WakeHint{});
        }
    }
    doorbell_rings_ = wait.doorbell_rings();
    if (!o_.screenshot.empty()) {
        if (auto drawn = renderer_.draw(true); drawn && drawn->readback) {
            save_screenshot(*drawn->readback, o_.screenshot);
        } else {
            spdlog::error("could not take the screenshot for {}", o_.screenshot);
            if (code == 0) code = 1;
        }
    }
    if (o_.stats) {  // the partial last second, so that short runs report too
        const auto w = stats_.roll(monotonic_ns());
        std::printf("%s\n", stats_json(w, stats_.totals(), stats_line()).c_str());
        std::fflush(stdout);
    }
    const auto& t = stats_.totals();
    spdlog::info("{} frames shown, {} verified, {} mismatched", t.frames, t.verified, t.mismatched);
    if (doorbell_) spdlog::info("doorbell: {} rings woke the loop", doorbell_rings_);
    for (auto* o : observers_)
        code = o->on_exit(code, t);
    return code;
}

}  // namespace porthole::client
