#include "app/options.hpp"

#include <CLI/CLI.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string_view>

#include "input/bindings.hpp"
#include "porthole/ivshmem/mapping.hpp"
#include "porthole/packaging/cli_docs.hpp"
#include "porthole/util/version.hpp"

namespace porthole::client {

std::string default_config_path() {
    if (const char* x = std::getenv("XDG_CONFIG_HOME"); x != nullptr && *x != '\0') {
        return std::string(x) + "/porthole/porthole.conf";
    }
    if (const char* h = std::getenv("HOME"); h != nullptr && *h != '\0') {
        return std::string(h) + "/.config/porthole/porthole.conf";
    }
    return "porthole.conf";
}

namespace {

// WIDTHxHEIGHT, each 1..16384, nothing else (sscanf's %u wrapped 4294967297 to 1).
std::optional<std::pair<std::uint32_t, std::uint32_t>> parse_size(std::string_view s) {
    const auto x = s.find('x');
    if (x == std::string_view::npos) return std::nullopt;
    const auto number = [](std::string_view t) -> std::optional<std::uint32_t> {
        std::uint32_t v = 0;
        const auto* end = t.data() + t.size();
        const auto r = std::from_chars(t.data(), end, v);
        if (t.empty() || r.ec != std::errc{} || r.ptr != end || v == 0 || v > 16384)
            return std::nullopt;
        return v;
    };
    const auto w = number(s.substr(0, x)), h = number(s.substr(x + 1));
    if (!w || !h) return std::nullopt;
    return std::pair{*w, *h};
}

// The config file CLI11 will read (--config PATH, --config=PATH or the default).
std::string config_path_in(int argc, char** argv) {
    std::string path = default_config_path();
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "--config" && i + 1 < argc) path = argv[++i];
        if (a.starts_with("--config=")) path = std::string(a.substr(9));
    }
    return path;
}

// CLI11 reads the config file with a blocking ifstream: a FIFO (or a device)
// there would hang start-up. Opened without blocking and checked first;
// empty when it is fine or absent (CLI11 says so itself when it was asked for).
std::string config_file_problem(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return {};
    struct stat st {};
    const bool ok = ::fstat(fd, &st) == 0;
    ::close(fd);
    if (ok && S_ISREG(st.st_mode)) return {};
    return "config file " + path + " is not a regular file (a FIFO, device or folder?)";
}

// porthole(1) beyond the option table.
packaging::ProgramDocs man_docs() {
    packaging::ProgramDocs d;
    d.name = "porthole";
    d.section = 1;
    d.summary = "show a VFIO virtual machine's screen in a window, with its input and sound";
    d.default_text["--config"] = "$XDG_CONFIG_HOME/porthole/porthole.conf";
    d.sections = {
        {"KEYS", input::bindings_text() +
                     "\nIn evdev mode both Ctrl keys (--hotkey) switch the devices between host "
                     "and guest; the keys above still work while the window has the focus."},
        {"FILES",
         "$XDG_CONFIG_HOME/porthole/porthole.conf (~/.config/porthole/porthole.conf): the "
         "options above, one per line as TOML (scale = \"integer\"); the command line wins.\n"
         "\n"
         "/dev/shm/porthole: the shared region QEMU creates for the VM's IVSHMEM device. Your "
         "user needs read-write access: `sudo porthole-vfio region --user $USER` writes a "
         "tmpfiles.d rule that gives it to you and QEMU at every boot."},
        {"EXIT STATUS",
         "0 when stopped, 1 on an error, 2 for bad options, 3 after --timeout, 4 when "
         "--verify-pattern found a frame that differs."},
        {"SEE ALSO", "porthole-agent(1), porthole-vfio(8)"},
    };
    return d;
}

}  // namespace

std::variant<Options, int> parse_options(int argc, char** argv) {
    Options o;
    o.shm = std::string(ivshmem::kDefaultShmPath);
    std::string present = "fifo", scale = "fit", filter = "linear", size;
    bool no_cursor = false;
    CLI::App app{"porthole: shows a VFIO guest's screen from the Porthole shared region"};
    app.footer(input::bindings_text());
    app.option_defaults()->always_capture_default();
    app.set_version_flag("--version", version_line("porthole"));
    app.set_config("--config", default_config_path(),
                   "config file with the same option names (TOML: scale = \"integer\")");
    app.add_option("--shm", o.shm,
                   "region file or device (QEMU's memory-backend-file, /dev/kvmfr0); "
                   "waits for it to appear when the VM is not started yet");
    app.add_flag("--fullscreen", o.fullscreen, "start in borderless fullscreen");
    app.add_option("--present-mode", present, "fifo, mailbox or immediate (falls back to fifo)")
        ->check(CLI::IsMember({"fifo", "mailbox", "immediate"}));
    app.add_option("--scale", scale, "fit (keep aspect), integer, stretch")
        ->check(CLI::IsMember({"fit", "integer", "stretch"}));
    app.add_option("--filter", filter, "nearest or linear")
        ->check(CLI::IsMember({"nearest", "linear"}));
    app.add_option("--size", size,
                   "window size, or the headless image size, as WIDTHxHEIGHT "
                   "(default: 1280x720 window; headless follows the frame)");
    app.add_flag("--headless", o.headless,
                 "render offscreen through the same Vulkan path, no window");
    app.add_option("--screenshot", o.screenshot, "save the image shown at exit to this PNG file");
    app.add_option("--exit-after-frames", o.exit_after_frames,
                   "exit after showing N frames (0: never)");
    app.add_flag("--stats", o.stats, "print one JSON line of statistics per second");
    app.add_option("--timeout", o.timeout_s, "fail (exit 3) after this many seconds (0: never)");
    app.add_flag(
        "--verify-pattern", o.verify_pattern,
        "read back every shown frame and check it pixel-exact against the agent's test pattern "
        "(needs 1:1 scale; the cursor is not drawn; exit 4 on a mismatch)");
    app.add_flag("--overlay", o.overlay, "show the statistics overlay from the start");
    app.add_flag("--no-cursor", no_cursor, "do not draw the guest's cursor");
    app.add_flag("--force-staging", o.renderer.force_staging,
                 "copy frames through a staging buffer even when the region can be imported");
    app.add_option("--input", o.input,
                   "input front end: window (SDL window events), evdev (grab keyboards and mice "
                   "under /dev/input), none (default: window, or none with --headless)")
        ->check(CLI::IsMember({"window", "evdev", "none"}));
    app.add_option("--evdev-device", o.evdev_devices,
                   "evdev device to read (repeatable; default: every keyboard and mouse)");
    app.add_option("--hotkey", o.hotkey,
                   "evdev: owner-switch hotkey (default ctrl-ctrl); window: the capture key "
                   "(default scrolllock). Presets ctrl-ctrl, alt-alt, shift-shift, meta-meta, "
                   "scrolllock, ctrl-scrolllock, or KEY_A+KEY_B");
    app.add_option("--mouse", o.mouse,
                   "window mode: absolute (the guest cursor follows the pointer over the image), "
                   "relative (captured motion, for games), or auto: relative while captured "
                   "and the guest hides its cursor")
        ->check(CLI::IsMember({"auto", "absolute", "relative"}));
    app.add_option("--input-to", o.input_to,
                   "deliver input to the agent (region input ring) or to QEMU over QMP")
        ->check(CLI::IsMember({"agent", "qmp"}));
    app.add_option("--qmp", o.qmp, "QEMU's QMP socket for --input-to qmp (unix:/path)");
    app.add_option("--audio", o.audio,
                   "play the guest's audio: auto (when the agent announces audio), on, off")
        ->check(CLI::IsMember({"auto", "on", "off"}));
    app.add_option("--audio-latency", o.audio_latency_ms,
                   "audio latency target in ms between guest and speakers")
        ->check(CLI::Validator(
            [](std::string& v) -> std::string {
                // nan passes any range check (every comparison is false).
                const double d = std::strtod(v.c_str(), nullptr);
                return std::isfinite(d) ? std::string{} : "not a finite number: " + v;
            },
            "FINITE"))
        ->check(CLI::Range(5.0, 200.0));
    app.add_option("--audio-source", o.audio_source,
                   "region (the agent's audio channel) or scream (a Scream IVSHMEM ring)")
        ->check(CLI::IsMember({"region", "scream"}));
    app.add_option("--scream-shm", o.scream_shm,
                   "Scream's IVSHMEM region file for --audio-source scream");
    app.add_flag("--audio-follow-volume", o.audio_follow_volume,
                 "apply the guest's volume and mute to the stream");
    app.add_option("--clipboard", o.clipboard,
                   "share clipboard text: both, to-guest (the desktop's text reaches the guest), "
                   "to-host (the guest's reaches the desktop) or off")
        ->check(CLI::IsMember({"both", "to-guest", "to-host", "off"}));
    app.add_option("--clipboard-limit", o.clipboard_limit,
                   "largest clipboard text in bytes, either way (the guest's longer text is "
                   "refused unread)")
        ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 30));
    app.add_option("--log-level", o.log_level, "trace, debug, info, warn, error")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
    if (auto code = packaging::print_docs_if_asked(app, argc, argv, man_docs())) return *code;
    if (const auto problem = config_file_problem(config_path_in(argc, argv)); !problem.empty()) {
        std::fprintf(stderr, "%s\n", problem.c_str());
        return 2;
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    o.config_file = app.get_config_ptr()->as<std::string>();
    if (o.shm.empty()) {
        std::fprintf(stderr, "--shm needs a path (e.g. /dev/shm/porthole or /dev/kvmfr0)\n");
        return 2;
    }
    if (!size.empty()) {
        const auto wh = parse_size(size);
        if (!wh) {
            std::fprintf(stderr,
                         "--size wants WIDTHxHEIGHT, each 1 to 16384 (e.g. 1920x1080), got '%s'\n",
                         size.c_str());
            return 2;
        }
        o.width = wh->first;
        o.height = wh->second;
    }
    if (o.input.empty()) o.input = o.headless ? "none" : "window";
    if (o.input == "window" && o.headless) {
        std::fprintf(stderr,
                     "--input window needs a window: drop --headless or use --input evdev\n");
        return 2;
    }
    if (o.hotkey.empty()) o.hotkey = o.input == "evdev" ? "ctrl-ctrl" : "scrolllock";
    if (o.input_to == "qmp" && o.qmp.empty()) {
        std::fprintf(stderr,
                     "--input-to qmp needs --qmp unix:/path/to/socket (QEMU's -qmp "
                     "unix:PATH,server=on,wait=off)\n");
        return 2;
    }
    if (o.audio_source == "scream" && o.scream_shm.empty() && o.audio != "off") {
        std::fprintf(stderr,
                     "--audio-source scream needs --scream-shm PATH (Scream's IVSHMEM file)\n");
        return 2;
    }
    o.renderer.present_mode = *parse_present_mode(present);
    o.renderer.scale = *parse_scale_mode(scale);
    o.renderer.filter = *parse_filter(filter);
    o.renderer.draw_cursor =
        !no_cursor && !o.verify_pattern;  // verification compares the frame alone
    if (o.headless) {
        o.renderer.headless_width = o.width;
        o.renderer.headless_height = o.height;
    }
    return o;
}

}  // namespace porthole::client
