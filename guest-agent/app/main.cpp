// porthole-agent: the guest half. Captures the desktop and cursor into the
// shared region, keeps the session's heartbeat, and survives the host client
// coming and going. Restarting the agent starts a new session.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "app/input_pump.hpp"
#include "app/repeated_problem.hpp"
#include "app/self_test.hpp"
#include "audio/source.hpp"
#include "capture/pattern.hpp"
#include "capture/source.hpp"
#include "clipboard/backend.hpp"
#include "clipboard/pump.hpp"
#include "display/modes.hpp"
#include "input/injector.hpp"
#include "porthole/ivshmem/doorbell.hpp"
#include "porthole/ivshmem/mapping.hpp"
#include "porthole/packaging/cli_docs.hpp"
#include "porthole/protocol/guest_res.hpp"
#include "porthole/protocol/session.hpp"
#include "porthole/util/version.hpp"
#ifdef _WIN32
#include "capture/win/dxgi.hpp"
#include "capture/win/mmcss.hpp"
#include "display/win32.hpp"
#include "win/service.hpp"
#endif

namespace {

using namespace porthole;
using Clock = std::chrono::steady_clock;

std::atomic<bool> g_stop{false};  // set by the signal handler and the service's stop event
extern "C" void on_signal(int) {
    g_stop.store(true);
}

std::uint64_t now_ns() {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
            .count());
}

struct Options {
    std::string device = "auto";
    std::string shm;
    std::uint32_t shm_size_mib = 32;
#ifdef _WIN32
    std::string capture = "auto";  // DXGI, else GDI with the reason logged
#else
    std::string capture = "pattern";
#endif
    std::uint32_t width = 1280, height = 720;
    std::string format = "bgra8";
    double fps_limit = 60;
    std::uint64_t frames = 0;
    std::uint32_t slots = protocol::kMinFrameSlots;
    std::string resize_to;
    std::uint64_t resize_every = 0;
    std::string display;
    std::string pattern_cursor = "color";
    float tone_volume = 1.0F;
    bool tone_mute = false;
#ifdef _WIN32
    std::string input = "sendinput";
    std::string audio = "wasapi";
#else
    std::string input = "uinput";
    std::string audio = "none";
#endif
    std::string clipboard = "auto";  // auto, x11, win32, file or none
    std::string clipboard_file;      // --clipboard file: its path
    std::string guest_res = "auto";  // auto, x11, win32 or none
    std::string doorbell = "auto";   // auto (when the device has one) or off
    std::string log_level = "info";
    std::string stop_event;  // Windows: the service's event asking us to stop
    std::string output;      // Windows: which display to capture
    bool list_outputs = false;
    bool self_test = false;
    bool json = false;
};

// Options the agent cannot run with: the service does not restart it (the
// same options would fail again), see win/restart_policy.hpp.
constexpr int kExitConfigError = 78;

Result<ivshmem::Mapping> open_region(const Options& o) {
#ifndef _WIN32
    if (!o.shm.empty())
        return ivshmem::create_region_file(o.shm, std::size_t{o.shm_size_mib} << 20);
    return ivshmem::open_guest_pci(o.device);
#else
    // Tests under Wine: a Z: path to the Linux host's /dev/shm file.
    if (!o.shm.empty())
        return ivshmem::create_region_file(o.shm, std::size_t{o.shm_size_mib} << 20);
    unsigned index = 0;
    if (o.device != "auto") index = static_cast<unsigned>(std::stoul(o.device));
    return ivshmem::open_windows_ivshmem(index);
#endif
}

// The host's doorbell (ivshmem-doorbell), when the device has one: the agent
// rings it after each publish so that the host wakes at once instead of polling.
std::optional<ivshmem::PeerRinger> open_ringer(const Options& o,
                                               [[maybe_unused]] const ivshmem::Mapping& region,
                                               const protocol::AgentSession& session) {
    if (o.doorbell == "off" || !o.shm.empty()) return std::nullopt;
#ifndef _WIN32
    auto bell = ivshmem::open_guest_doorbell(o.device);
#else
    auto bell = ivshmem::open_windows_doorbell(region);
#endif
    if (!bell) {
        spdlog::info("no doorbell: {}", bell.error().message);
        return std::nullopt;
    }
    spdlog::info("doorbell: {}", (*bell)->describe());
    return ivshmem::PeerRinger(std::move(*bell), [&session] { return session.client_doorbell(); });
}

bool parse_size(const std::string& s, std::uint32_t& w, std::uint32_t& h) {
    return std::sscanf(s.c_str(), "%ux%u", &w, &h) == 2 && w > 0 && h > 0;
}

int run(const Options& o) {
    auto format = protocol::parse_pixel_format(o.format);
    if (!format) {
        spdlog::error("unknown pixel format '{}' (bgra8, rgb10a2, rgba16f)", o.format);
        return kExitConfigError;
    }
    std::uint32_t alt_w = 0, alt_h = 0;
    if (!o.resize_to.empty() && !parse_size(o.resize_to, alt_w, alt_h)) {
        spdlog::error("--resize-to wants WIDTHxHEIGHT, got '{}'", o.resize_to);
        return kExitConfigError;
    }
    auto region = open_region(o);
    if (!region) {
        spdlog::error("{}", region.error().message);
        return 1;
    }
    spdlog::info("region: {}", region->description());

    // Input: a missing /dev/uinput (or no permission) leaves capture working.
    std::unique_ptr<agent::InputInjector> injector;
    if (o.input != "none") {
        if (auto inj = agent::make_injector(o.input)) {
            injector = std::move(*inj);
        } else {
            spdlog::warn("input injection off: {}", inj.error().message);
        }
    }
    std::uint64_t caps = protocol::cap::frames | protocol::cap::cursor;
    if (injector) caps |= protocol::cap::input_inject;
    if (o.audio != "none") caps |= protocol::cap::audio_out;
    // The display whose mode follows the host's window: the one captured.
    std::unique_ptr<agent::display::DisplayModes> modes;
    std::string modes_backend = o.guest_res;
#ifndef _WIN32
    if (modes_backend == "auto") modes_backend = o.capture == "x11" ? "x11" : "none";
#endif
    if (auto m = agent::display::make_display_modes(modes_backend, o.display); !m) {
        spdlog::warn("guest resolution off: {}", m.error().message);
    } else if (*m) {
        modes = std::move(*m);
        caps |= protocol::cap::guest_res;
        spdlog::info("guest resolution: {} (follows the host's window when it asks)",
                     modes->name());
    }

    protocol::LayoutParams params;
    params.frame_slots = o.slots;
    auto session = protocol::AgentSession::create(
        region->bytes(), params, caps, "porthole-agent " + std::string(project_version()),
        now_ns());
    if (!session) {
        spdlog::error("cannot lay out the region: {}", session.error().message);
        return 1;
    }
    spdlog::info("session {:016x}: {} frame slots of {} KiB", session->session_id(),
                 session->layout().frame_slots, session->layout().slot_size / 1024);

    agent::CaptureOptions copts;
    copts.width = o.width;
    copts.height = o.height;
    copts.format = *format;
    copts.rate_hz = o.fps_limit;
    copts.display = o.display;
    copts.output = o.output;
    copts.max_frame_bytes = session->layout().max_frame_bytes();
    copts.frame_slots = session->layout().frame_slots;
    if (o.pattern_cursor == "masked") {
        copts.pattern_cursor = protocol::CursorType::masked;
    } else if (o.pattern_cursor == "monochrome") {
        copts.pattern_cursor = protocol::CursorType::monochrome;
    }
    auto capture = agent::make_capture(o.capture, copts);
    if (!capture) {
        spdlog::error("{}", capture.error().message);
        return 1;
    }
    auto& source = **capture;
    spdlog::info("capture: {}", source.name());

    // The heartbeat and the clock exchange run on their own thread so that a
    // capture call blocking for a while never looks like a dead agent and
    // pings are answered within ~2 ms (the clock offset's error bound).
    std::jthread heartbeat([&session](std::stop_token stop) {
        while (!stop.stop_requested()) {
            session->tick(now_ns());
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
    });

    auto& ch = session->channels();
    std::optional<ivshmem::PeerRinger> ringer = open_ringer(o, *region, *session);
    bool ring_failed = false;
    const auto ring = [&ringer, &ring_failed] {
        if (!ringer) return;
        if (auto ok = ringer->ring(); !ok && !ring_failed) {
            ring_failed = true;  // once: the host still polls
            spdlog::warn("doorbell: {}", ok.error().message);
        }
    };
    ch.frames.set_on_announce(ring);
    std::optional<agent::InputPump> input_pump;
    if (injector) {
        input_pump.emplace(ch.input, *injector, &ch.pad_feedback);
        spdlog::info("input: {}", injector->name());
    }
    std::unique_ptr<agent::audio::AudioSource> audio;
    if (o.audio != "none") {
        agent::audio::AudioSourceOptions aopts;
        aopts.tone_volume = o.tone_volume;
        aopts.tone_muted = o.tone_mute;
        auto a = agent::audio::start_audio_source(o.audio, ch.audio, aopts);
        if (!a) {
            spdlog::warn("audio off: {}", a.error().message);
        } else {
            audio = std::move(*a);
            spdlog::info("audio: {}", audio->name());
        }
    }
    std::optional<agent::clipboard::ClipboardPump> clipboard;
    if (auto cb = agent::clipboard::make_clipboard(o.clipboard, o.display, o.clipboard_file); !cb) {
        spdlog::warn("clipboard off: {}", cb.error().message);
    } else if (*cb) {
        spdlog::info("clipboard: {}", (*cb)->name());
        clipboard.emplace(std::move(*cb), ch.clipboard_in, ch.clipboard_out);
    }
    agent::RepeatedProblem problem;
    [[maybe_unused]] agent::ScreenArea captured_area;
    // The status line the host shows; written only when it changes.
    protocol::AgentStatusCode shown_code = protocol::AgentStatusCode::ok;
    std::string shown_text;
    auto show = [&session, &shown_code, &shown_text](protocol::AgentStatusCode code,
                                                     const std::string& text) {
        if (code == shown_code && text == shown_text) return;
        shown_code = code;
        shown_text = text;
        session->set_status(code, text);
    };
    std::uint64_t published = 0;
    std::uint64_t last_client = 0;
    std::uint64_t res_client = 0, res_serial = 0;  // the last request acted on
    int exit_code = 0;
    auto next_tick = Clock::now();
    auto next_stats = Clock::now() + std::chrono::seconds(1);
    std::uint64_t stats_frames = 0;
    bool alt = false;
#ifdef _WIN32
    // This thread captures: MMCSS keeps it running while games take the CPU.
    const agent::win::MmcssScope mmcss;
    if (!mmcss.active()) spdlog::info("capture thread priority unchanged: {}", mmcss.error());
#endif
    // --fps-limit for backends that do not pace themselves (DXGI, GDI, X11):
    // waiting before the next capture lets DXGI accumulate the damage.
    const bool pace = o.fps_limit > 0 && source.name() != "pattern";
    const auto frame_period = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(o.fps_limit > 0 ? 1.0 / o.fps_limit : 0.0));
    auto next_capture = Clock::now();
    while (!g_stop.load()) {
        if (pace) std::this_thread::sleep_until(next_capture);
        agent::CapturedFrame frame;
        const auto status = source.next_frame(std::chrono::milliseconds(50), frame);
        if (status == agent::CaptureStatus::ok) {
            // Whole-screen updates go progressively (a host can copy behind the write).
            auto serial =
                ch.frames.publish_update(frame.image, frame.damage, frame.capture_time_ns);
            if (!serial) {
                // A frame that does not fit is skipped, never fatal: a service
                // restart would meet the same desktop again.
                problem.report(serial.error().message);
                show(protocol::AgentStatusCode::frame_too_large, serial.error().message);
                continue;
            }
            problem.clear();
            show(protocol::AgentStatusCode::ok, {});
            if (pace) {
                // Keep the cadence while frames come steadily; restart it after a pause.
                const auto now = Clock::now();
                next_capture = now - next_capture < frame_period ? next_capture + frame_period
                                                                 : now + frame_period;
            }
            ++published;
            ++stats_frames;
            if (o.resize_every != 0 && published % o.resize_every == 0 && alt_w != 0) {
                if (auto* p = dynamic_cast<agent::PatternSource*>(&source)) {
                    alt = !alt;
                    p->resize(alt ? alt_w : o.width, alt ? alt_h : o.height, *format);
                }
            }
        } else if (status == agent::CaptureStatus::unfit ||
                   status == agent::CaptureStatus::no_output) {
            const auto why = source.last_error();
            problem.report(why);
            show(status == agent::CaptureStatus::unfit ? protocol::AgentStatusCode::frame_too_large
                                                       : protocol::AgentStatusCode::no_output,
                 why);
        } else if (status == agent::CaptureStatus::reinit) {
            if (auto why = source.last_error(); !why.empty()) problem.report(why);
        } else if (status == agent::CaptureStatus::error) {
            spdlog::error("capture failed: {}", source.last_error());
            exit_code = 1;
            break;
        }
#ifdef _WIN32
        // One monitor of several is captured: absolute mouse positions map onto it.
        if (auto* dxgi = dynamic_cast<agent::win::DxgiSource*>(&source); dxgi && injector) {
            const auto r = dxgi->desktop_rect();
            const agent::ScreenArea area{r.left, r.top, r.right - r.left, r.bottom - r.top};
            if (area != captured_area) {
                captured_area = area;
                injector->set_captured_area(area);
            }
        }
#endif
        if (auto c = source.cursor()) {
            bool new_shape = false;
            if (c->shape) {
                const auto& s = *c->shape;
                auto ok = ch.cursor.set_shape(s.type, s.width, s.height, s.pitch, s.hotspot_x,
                                              s.hotspot_y, s.data);
                if (!ok) spdlog::warn("cursor shape dropped: {}", ok.error().message);
                new_shape = ok.has_value();
            }
            // set_shape writes the position too: a new shape alone rings as well.
            if (ch.cursor.set_position(c->x, c->y, c->visible) || new_shape) ring();
        }
        if (Clock::now() >= next_tick) {
            next_tick = Clock::now() + std::chrono::milliseconds(100);
            if (const auto client = session->client_session(); client != last_client) {
                if (client != 0) {
                    spdlog::info("host client {:016x} attached", client);
                } else {
                    spdlog::info("host client detached");
                }
                last_client = client;
            }
            if (const auto req = protocol::read_guest_res_request(region->bytes());
                modes && req && last_client != 0 &&
                (req->serial != res_serial || last_client != res_client)) {
                res_client = last_client;
                res_serial = req->serial;
#ifdef _WIN32
                // The display captured, which need not be the primary one.
                if (auto* dxgi = dynamic_cast<agent::win::DxgiSource*>(&source)) {
                    const auto r = dxgi->desktop_rect();
                    if (auto m = agent::display::open_win32_modes(
                            agent::display::display_device_at(r.left, r.top)))
                        modes = std::move(*m);
                }
#endif
                if (auto r = agent::display::apply_request(*modes, req->width, req->height); !r) {
                    spdlog::warn("guest resolution: {}x{} asked: {}", req->width, req->height,
                                 r.error().message);
                } else if (!r->chosen) {
                    spdlog::info("guest resolution: no mode fits {}x{}", req->width, req->height);
                } else {
                    spdlog::info("guest resolution: {}x{} asked, {}x{} {}", req->width, req->height,
                                 r->chosen->width, r->chosen->height,
                                 r->changed ? "set" : "already set");
                }
            }
        }
        if (Clock::now() >= next_stats) {
            spdlog::debug("published {} frames in the last second ({} total)", stats_frames,
                          published);
            stats_frames = 0;
            next_stats += std::chrono::seconds(1);
        }
        if (o.frames != 0 && published >= o.frames) break;
    }
    // Stop the users of the channels before the session is withdrawn.
    audio.reset();
    input_pump.reset();
    clipboard.reset();
    heartbeat.request_stop();
    heartbeat.join();
    session->close();
    ch.frames.set_on_announce({});
    if (ringer) spdlog::info("doorbell rung {} times", ringer->rings());
    spdlog::info("published {} frames; bye", published);
    return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
#ifdef _WIN32
    // install | uninstall | service: the Windows service verbs (win/service.hpp).
    if (auto cmd = agent::service::parse_command(argc, argv); !cmd) {
        spdlog::error("{}", cmd.error().message);
        return 2;
    } else if (cmd->action != agent::service::Action::none) {
        return agent::service::execute(*cmd);
    }
#endif
    Options o;
    CLI::App app{"porthole-agent: captures the guest's desktop into the Porthole shared region"};
    app.option_defaults()->always_capture_default();
    app.set_version_flag("--version", version_line("porthole-agent"));
    std::string captures;
    for (auto c : agent::available_captures())
        captures += (captures.empty() ? "" : "|") + std::string(c);
    app.add_option("--device", o.device,
                   "IVSHMEM device: auto, or a PCI address (Linux) / device index (Windows)");
    app.add_option("--shm", o.shm, "use this file as the region instead of a device (tests, demo)");
    app.add_option("--shm-size", o.shm_size_mib, "size in MiB when --shm creates the file");
    app.add_option("--doorbell", o.doorbell,
                   "ring the host's doorbell after each frame (ivshmem-doorbell devices): auto "
                   "(when the device has interrupts) or off")
        ->check(CLI::IsMember({"auto", "off"}));
    std::vector<std::string> capture_names;
    for (auto c : agent::available_captures())
        capture_names.emplace_back(c);
#ifdef _WIN32
    capture_names.emplace_back("auto");  // DXGI, else GDI
    captures += "|auto";
#endif
    // A backend this build lacks is refused before anything starts, naming those it has.
    app.add_option("--capture", o.capture, "capture backend: " + captures)
        ->check(CLI::IsMember(capture_names));
    app.add_option("--width", o.width, "pattern source width");
    app.add_option("--height", o.height, "pattern source height");
    app.add_option("--format", o.format, "pattern source pixel format: bgra8, rgb10a2, rgba16f");
    app.add_option("--fps-limit", o.fps_limit,
                   "publish at most this many frames a second (0: no limit)");
    app.add_option("--frames", o.frames,
                   "exit after publishing this many frames (0: run until stopped)");
    app.add_option("--slots", o.slots, "frame slots in the region (3..16)");
    app.add_option("--resize-to", o.resize_to, "pattern: alternate with this WIDTHxHEIGHT (tests)");
    app.add_option("--resize-every", o.resize_every, "pattern: switch size every N frames (tests)");
    std::string audios = "none";
    for (auto a : agent::audio::available_audio_sources())
        audios += "|" + std::string(a);
    app.add_option("--input", o.input,
                   "inject the host's input with: uinput (Linux), sendinput (Windows), none");
    std::vector<std::string> audio_names{"none"};
    for (auto a : agent::audio::available_audio_sources())
        audio_names.emplace_back(a);
    app.add_option("--audio", o.audio, "audio source: " + audios)
        ->check(CLI::IsMember(audio_names));
    app.add_option("--pattern-cursor", o.pattern_cursor,
                   "pattern: the cursor's shape type: color, masked, monochrome")
        ->check(CLI::IsMember({"color", "masked", "monochrome"}))
        ->capture_default_str();
    app.add_option("--tone-volume", o.tone_volume,
                   "tone: the guest volume it reports to the host, 0..1")
        ->check(CLI::Range(0.0F, 1.0F))
        ->capture_default_str();
    app.add_flag("--tone-mute", o.tone_mute, "tone: report the guest muted");
    app.add_option("--display", o.display,
                   "x11: X display to capture and share the clipboard of (default: $DISPLAY)");
    std::vector<std::string> clipboards;
    for (auto c : agent::clipboard::available_clipboards())
        clipboards.emplace_back(c);
    app.add_option(
           "--clipboard", o.clipboard,
           "share clipboard text with the host: " + fmt::format("{}", fmt::join(clipboards, "|")) +
               " (auto: win32 on Windows, x11 when the X display opens)")
        ->check(CLI::IsMember(clipboards));
#ifndef _WIN32
    app.add_option("--clipboard-file", o.clipboard_file,
                   "the file holding the clipboard's text (a guest with no "
                   "desktop; the host's text is written there, a text written there is offered; "
                   "implies --clipboard file)");
#endif
    std::vector<std::string> mode_backends;
    for (auto m : agent::display::available_display_modes())
        mode_backends.emplace_back(m);
    app.add_option("--guest-res", o.guest_res,
                   "set the display mode the host's window asks for (porthole --set-guest-res) "
                   "with: " +
                       fmt::format("{}", fmt::join(mode_backends, "|")) +
                       " (auto: win32 on Windows, x11 with --capture x11)")
        ->check(CLI::IsMember(mode_backends));
    app.add_option("--log-level", o.log_level, "trace, debug, info, warn, error");
#ifdef _WIN32
    app.add_option("--stop-event", o.stop_event,
                   "stop when this named event is set (the service passes it)");
    app.add_option("--output", o.output,
                   "dxgi: the display to capture, a number or name from --list-outputs (default: "
                   "the first display of a real GPU, never QEMU's emulated one)");
    app.add_flag("--list-outputs", o.list_outputs, "list the displays DXGI sees and exit");
    app.add_flag("--self-test", o.self_test,
                 "check the IVSHMEM device, displays, capture, input and service, print what "
                 "works and exit (attach the output to bug reports)");
    app.add_flag("--json", o.json, "--self-test: print JSON");
#endif
    packaging::ProgramDocs docs;
    docs.name = "porthole-agent";
    docs.summary = "capture a virtual machine's desktop, cursor and sound into the Porthole region";
    docs.sections = {
        {"WINDOWS",
         "On Windows the installer (porthole-agent-setup-VERSION.exe) registers the agent as the "
         "service PortholeAgent, which starts it in the console session at boot, so the login "
         "screen and UAC prompts are captured too. By hand, as administrator:\n"
         "  porthole-agent install [OPTIONS]   register (automatic start) and start\n"
         "  porthole-agent uninstall           stop and remove\n"
         "The IVSHMEM device needs the driver from virtio-win. Windows builds also take "
         "--output N|NAME (the display to capture; --list-outputs lists them), --self-test "
         "[--json] (what works on this guest, for bug reports) and --stop-event NAME."},
        {"SEE ALSO", "porthole(1), porthole-vfio(8)"},
    };
    if (auto code = packaging::print_docs_if_asked(app, argc, argv, docs)) return *code;
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e);
        return rc == 0 ? 0 : kExitConfigError;
    }
    // --clipboard-file alone means the file backend; with another backend, or
    // a directory that is not there, it is a mistake to say now, not when the
    // host first sends text.
    if (!o.clipboard_file.empty() && o.clipboard == "auto" &&
        std::find(clipboards.begin(), clipboards.end(), "file") != clipboards.end())
        o.clipboard = "file";
    if (!o.clipboard_file.empty() && o.clipboard != "file") {
        std::fprintf(stderr, "--clipboard-file goes with --clipboard file (this build has %s)\n",
                     fmt::format("{}", fmt::join(clipboards, ", ")).c_str());
        return kExitConfigError;
    }
    if (o.clipboard == "file") {
        if (o.clipboard_file.empty()) {
            std::fprintf(stderr, "--clipboard file needs --clipboard-file PATH\n");
            return kExitConfigError;
        }
        const auto dir = std::filesystem::absolute(o.clipboard_file).parent_path();
        if (std::error_code ec; !std::filesystem::is_directory(dir, ec)) {
            std::fprintf(stderr, "--clipboard-file %s: its directory %s does not exist\n",
                         o.clipboard_file.c_str(), dir.string().c_str());
            return kExitConfigError;
        }
    }

    spdlog::set_level(spdlog::level::from_str(o.log_level));
    spdlog::set_pattern("[%H:%M:%S.%e] [agent] [%l] %v");
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
#ifdef _WIN32
    if (o.self_test) {
        if (o.json) spdlog::set_level(spdlog::level::off);  // stdout is the JSON only
        const unsigned index =
            o.device == "auto" ? 0U : static_cast<unsigned>(std::stoul(o.device));
        const auto report = agent::run_self_test(index);
        const std::string out = o.json ? agent::to_json(report) : agent::to_text(report);
        std::fwrite(out.data(), 1, out.size(), stdout);
        return report.all_passed() ? 0 : 1;
    }
    if (o.list_outputs) {
        auto outputs = agent::win::DxgiSource::enumerate();
        if (!outputs) {
            spdlog::error("{}", outputs.error().message);
            return 1;
        }
        const auto lines = agent::win::list_outputs(*outputs);
        for (const auto& line : lines)
            std::printf("%s\n", line.c_str());
        if (lines.empty()) std::printf("no display is attached to the desktop\n");
        return 0;
    }
    std::optional<std::jthread> stop_watch;
    if (!o.stop_event.empty()) {
        if (auto w = agent::service::watch_stop_event(o.stop_event, g_stop))
            stop_watch.emplace(std::move(*w));
        else
            spdlog::warn("{}", w.error().message);
    }
#endif
    return run(o);
}
