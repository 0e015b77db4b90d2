#pragma once
// The client's main loop: follows the agent's session, takes frames and
// cursor updates into the renderer, reacts to the window, and draws only
// when something changed. Subsystems (input, audio) plug in through
// SessionSubsystem.
//
// Threads: headless, run() does everything on the calling thread. With a
// window, the calling (main) thread only pumps SDL, and input is delivered
// from there (app/window_pump.hpp); the loop itself, and with it the renderer,
// the subsystems' attach/detach/tick and the observers, runs on a render
// thread that run() starts and joins. Set everything up before run().

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "app/audio_subsystem.hpp"
#include "app/frame_pacer.hpp"
#include "app/guest_log.hpp"
#include "app/input_subsystem.hpp"
#include "app/options.hpp"
#include "app/session_observer.hpp"
#include "app/stats.hpp"
#include "app/subsystem.hpp"
#include "app/usb_subsystem.hpp"
#include "app/window_pump.hpp"
#include "display/sdl_window.hpp"
#include "porthole/ivshmem/doorbell_host.hpp"
#include "porthole/protocol/session.hpp"
#include "render/renderer.hpp"

namespace porthole::client {

// The agent's status as message lines of at most `width` characters, words
// kept whole; none while the status is ok.
std::vector<std::string> agent_status_lines(const protocol::AgentStatusView& status,
                                            std::size_t width);

class SessionLoop {
  public:
    // `window` is null when headless. The region must outlive the loop.
    SessionLoop(const Options& options, std::span<std::byte> region, Renderer& renderer,
                SdlWindow* window);
    void add_subsystem(SessionSubsystem& s) { subsystems_.push_back(&s); }
    // The audio and input subsystems also feed --stats, the overlay and window actions.
    void set_audio(AudioSubsystem& a) {
        audio_ = &a;
        add_subsystem(a);
    }
    void set_input(InputSubsystem& i) {
        input_ = &i;
        add_subsystem(i);
    }
    // The --usb devices: the capture key + U toggles them, their outcomes show as notices.
    void set_usb(UsbSubsystem& u) { usb_ = &u; }
    // Watches shown frames and rounds, and may end the run (--verify-pattern,
    // --exit-after-frames, --timeout: see app/session_observer.hpp).
    void add_observer(SessionObserver& o) { observers_.push_back(&o); }
    // Runs until `stop`, the window closes, or an observer ends it; returns
    // the process exit code.
    int run(const std::atomic<bool>& stop);

  private:
    // The loop itself (the render thread's, with a window).
    int run_loop(const std::atomic<bool>& stop);
    void follow_session(std::uint64_t now);
    bool take_frame();
    void frame_accepted(const protocol::FrameMeta& meta);
    bool take_cursor();
    void handle_window(bool& quit);
    void window_event(WindowEvent e, bool& quit);
    void update_input_view();
    // Shows the bindings while the escape (capture) key is held, hides them on its release.
    void update_help(std::uint64_t now);
    bool save_screenshot(const ReadbackImage& image, const std::string& path);
    void update_message();
    // Lines shown under the state message for a few seconds (where a screenshot went).
    void show_notice(std::vector<std::string> lines);
    StatsLine stats_line() const;

    void connect_doorbell();

    const Options& o_;
    protocol::HostSession session_;
    // The ivshmem-doorbell server's peer: its interrupt ends the loop's sleeps.
    std::optional<ivshmem::DoorbellPeer> doorbell_;
    bool doorbell_new_session_ = false;  // the agent changed: it must ring before sleeps grow
    bool doorbell_server_lost_ = false;
    std::uint64_t doorbell_rings_ = 0;
    Renderer& renderer_;
    SdlWindow* window_;
    WindowPump* pump_ = nullptr;  // window mode, while run() runs
    // PORTHOLE_TEST_DRAW_STALL_MS (test only): each draw is held this long, as a
    // slow present would be; input must not wait for it.
    std::uint64_t draw_stall_ms_ = 0;
    std::optional<protocol::HostChannels> channels_;
    std::vector<SessionSubsystem*> subsystems_;
    std::vector<SessionObserver*> observers_;
    AudioSubsystem* audio_ = nullptr;
    InputSubsystem* input_ = nullptr;
    UsbSubsystem* usb_ = nullptr;
    FrameStats stats_;
    FramePacer pacer_;  // when a new frame is drawn (vsync: once a refresh), late and superseded
    protocol::HostPoll link_;
    protocol::AgentStatusView agent_status_;  // last shown; code ok: nothing to say
    bool announced_ = false;
    bool needs_draw_ = true;
    bool new_frame_ = false;  // the next draw shows a newly accepted frame
    std::uint64_t frame_capture_ns_ = 0;
    protocol::FrameMeta pending_meta_{};       // the frame the renderer is still copying
    std::uint32_t frame_w_ = 0, frame_h_ = 0;  // the last accepted frame's size
    bool overlay_ = false;
    bool help_ = false;                 // the help panel is shown (the escape key is held)
    std::uint64_t held_since_ns_ = 0;   // when the escape key was first seen held (0: it is not)
    std::vector<std::string> message_;  // the state message shown
    std::string screenshot_request_;
    std::vector<std::string> notice_;
    std::uint64_t notice_until_ns_ = 0;
    GuestLog glog_;  // every log line the guest can cause goes through it
    std::uint64_t frames_torn_ = 0, frames_skipped_ = 0, frames_invalid_ = 0;  // earlier sessions
};

}  // namespace porthole::client
