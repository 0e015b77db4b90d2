#include "app/options.hpp"

#include <CLI/CLI.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <toml++/toml.h>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>

#include "app/config_file.hpp"
#include "input/bindings.hpp"
#include "input/window_input.hpp"
#include "porthole/ivshmem/mapping.hpp"
#include "porthole/packaging/cli_docs.hpp"
#include "porthole/protocol/input_ring.hpp"
#include "porthole/qmp/usb.hpp"
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

std::string system_config_path() {
    if (const char* p = std::getenv("PORTHOLE_SYSTEM_CONFIG")) return p;
    return std::string(kSystemConfigPath);
}

std::optional<std::pair<int, int>> parse_window_position(std::string_view s) {
    const auto comma = s.find(',');
    if (comma == std::string_view::npos) return std::nullopt;
    const auto number = [](std::string_view t) -> std::optional<int> {
        int v = 0;
        const auto* end = t.data() + t.size();
        const auto r = std::from_chars(t.data(), end, v);
        if (t.empty() || r.ec != std::errc{} || r.ptr != end || v < -32768 || v > 32767)
            return std::nullopt;
        return v;
    };
    const auto x = number(s.substr(0, comma)), y = number(s.substr(comma + 1));
    if (!x || !y) return std::nullopt;
    return std::pair{*x, *y};
}

std::string title_problem(std::string_view title) {
    if (title.size() > 255) return fmt::format("is {} bytes long, at most 255", title.size());
    for (std::size_t i = 0; i < title.size();) {
        const auto c = static_cast<unsigned char>(title[i]);
        if (c < 0x20 || c == 0x7f)
            return fmt::format("holds a control character (0x{:02x}) at byte {}: one line of text",
                               c, i);
        // UTF-8: the lead byte says how many continuation bytes follow.
        std::size_t n = 4;  // 4: no lead byte
        if (c < 0x80)
            n = 0;
        else if ((c & 0xe0) == 0xc0 && c >= 0xc2)
            n = 1;
        else if ((c & 0xf0) == 0xe0)
            n = 2;
        else if ((c & 0xf8) == 0xf0 && c <= 0xf4)
            n = 3;
        if (n == 4 || i + n >= title.size()) return fmt::format("is not UTF-8 text (byte {})", i);
        for (std::size_t k = 1; k <= n; ++k)
            if ((static_cast<unsigned char>(title[i + k]) & 0xc0) != 0x80)
                return fmt::format("is not UTF-8 text (byte {})", i + k);
        i += n + 1;
    }
    return {};
}

std::variant<std::optional<float>, std::string> parse_ui_scale(std::string_view s) {
    if (s == "auto") return std::optional<float>{};
    double v = 0;
    const auto* end = s.data() + s.size();
    const auto r = std::from_chars(s.data(), end, v);
    if (s.empty() || r.ec != std::errc{} || r.ptr != end || !std::isfinite(v) || v < 0.5 || v > 4.0)
        return fmt::format("wants auto or a number from 0.5 to 4 (e.g. 2), got '{}'", s);
    return std::optional<float>(static_cast<float>(v));
}

std::string default_title(std::string_view shm) {
    return fmt::format("porthole ({})", shm);
}

namespace {

// What the table parses before it becomes Options.
struct RawOptions {
    std::string present = "fifo", scale = "fit", filter = "linear", size, position;
    std::string ui_scale = "auto";
    bool no_cursor = false;
    std::string config;
    bool print_config = false;
};

// Options about reading options: neither set by a config file nor printed by --print-config.
bool is_meta(std::string_view key) {
    return key == "help" || key == "version" || key == "config" || key == "print-config";
}

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
         "options above without their dashes, one per line as TOML (scale = \"integer\", "
         "fullscreen = true, evdev-device = [\"/dev/input/event3\"]). An unknown name, a value "
         "the option refuses or a TOML mistake is an error naming the file and line (exit 2).\n"
         "\n"
         "/etc/porthole/porthole.conf: the same for every user, read first: the user's file "
         "wins over it, the command line over both. The environment variable "
         "PORTHOLE_SYSTEM_CONFIG names another file instead (\"\" for none). The log says "
         "which files were read; --print-config shows each value and where it came from.\n"
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

// The option table, the one --help, the man page, the completions and the
// config files all use. Writes into `o` and `r` when parsed.
std::unique_ptr<CLI::App> make_app(Options& o, RawOptions& r) {
    o.shm = std::string(ivshmem::kDefaultShmPath);
    auto app_ptr = std::make_unique<CLI::App>(
        "porthole: shows a VFIO guest's screen from the Porthole shared region");
    CLI::App& app = *app_ptr;
    // nan passes any range check (every comparison is false).
    const CLI::Validator finite(
        [](std::string& v) -> std::string {
            const double d = std::strtod(v.c_str(), nullptr);
            return std::isfinite(d) ? std::string{} : "not a finite number: " + v;
        },
        "FINITE");
    app.footer(input::bindings_text());
    app.option_defaults()->always_capture_default();
    app.set_version_flag("--version", version_line("porthole"));
    r.config = default_config_path();
    app.add_option("--config", r.config,
                   "config file with the same option names (TOML: scale = \"integer\"), read "
                   "over /etc/porthole/porthole.conf; \"\" reads none");
    app.add_flag("--print-config", r.print_config,
                 "print the effective configuration, each value with where it came from "
                 "(default, a config file's line, the command line), and exit");
    app.add_option("--shm", o.shm,
                   "region file or device (QEMU's memory-backend-file, /dev/kvmfr0); "
                   "waits for it to appear when the VM is not started yet")
        ->check(CLI::Validator(
            [](std::string& v) -> std::string {
                return v.empty() ? "needs a path (e.g. /dev/shm/porthole or /dev/kvmfr0)" : "";
            },
            ""));
    app.add_option("--doorbell", o.doorbell,
                   "the ivshmem server's socket (porthole-ivshmem-server) when the VM's region is "
                   "an ivshmem-doorbell device: the agent then rings porthole for each frame "
                   "instead of porthole polling; auto uses /run/porthole/ivshmem.sock when a "
                   "server listens there, off never")
        ->check(CLI::Validator(
            [](std::string& v) -> std::string {
                if (v == "auto" || v == "off" || (!v.empty() && v.front() == '/')) return {};
                return "wants auto, off or an absolute socket path, got '" + v + "'";
            },
            ""));
    app.add_flag("-f,-F,--fullscreen", o.fullscreen,
                 "start in borderless fullscreen (the escape key + F toggles it)");
    app.add_flag("-d,--borderless", o.borderless,
                 "a window without the desktop's frame and title bar");
    app.add_option("--window-position", r.position,
                   "where the window opens, as X,Y in pixels from the desktop's top left "
                   "(negative for a display left of or above the primary; default: centered)")
        ->check(CLI::Validator(
            [](std::string& v) -> std::string {
                if (v.empty() || parse_window_position(v)) return {};
                return "wants X,Y, each -32768 to 32767 (e.g. 100,50), got '" + v + "'";
            },
            ""));
    app.add_option("--title", o.title,
                   "the window's title (default: porthole (REGION), e.g. \"porthole "
                   "(/dev/shm/porthole)\"); one line of UTF-8 text, at most 255 bytes")
        ->check(CLI::Validator(
            [](std::string& v) -> std::string {
                const auto why = title_problem(v);
                return why.empty() ? why : "the title " + why;
            },
            ""));
    app.add_flag("--allow-screensaver", o.allow_screensaver,
                 "let the desktop's screensaver and screen blanking start while porthole runs "
                 "(default: held off, as SDL does, for watching without input)");
    app.add_option("--ui-scale", r.ui_scale,
                   "size of porthole's own text (overlay, help panel, messages) as a factor "
                   "from 0.5 to 4 on its usual size in pixels; auto: the Wayland output's scale, "
                   "else X11's Xft.dpi / 96 (GNOME, KDE, xrdb), else GDK_SCALE, else 1")
        ->type_name("N|auto")  // --print-config writes a number bare, auto quoted
        ->check(CLI::Validator(
            [](std::string& v) -> std::string {
                auto parsed = parse_ui_scale(v);
                return std::holds_alternative<std::string>(parsed) ? std::get<std::string>(parsed)
                                                                   : std::string{};
            },
            ""));
    app.add_flag("--set-guest-res", o.set_guest_res,
                 "ask the guest agent to set the display mode closest to the window's size in "
                 "pixels, on connecting and 250 ms after a resize (headless: the --size); off by "
                 "default, as a mode switch also changes the guest's own monitor");
    app.add_option("--present-mode", r.present, "fifo, mailbox or immediate (falls back to fifo)")
        ->check(CLI::IsMember({"fifo", "mailbox", "immediate"}));
    app.add_option("--scale", r.scale, "fit (keep aspect), integer, stretch")
        ->check(CLI::IsMember({"fit", "integer", "stretch"}));
    app.add_option("--filter", r.filter, "nearest or linear")
        ->check(CLI::IsMember({"nearest", "linear"}));
    app.add_option("--size", r.size,
                   "window size, or the headless image size, as WIDTHxHEIGHT "
                   "(default: 1280x720 window; headless follows the frame)")
        ->check(CLI::Validator(
            [](std::string& v) -> std::string {
                if (v.empty() || parse_size(v)) return {};
                return "wants WIDTHxHEIGHT, each 1 to 16384 (e.g. 1920x1080), got '" + v + "'";
            },
            ""));
    app.add_flag("--headless", o.headless,
                 "render offscreen through the same Vulkan path, no window");
    app.add_option("--screenshot", o.screenshot, "save the image shown at exit to this PNG file");
    app.add_option("--exit-after-frames", o.exit_after_frames,
                   "exit after showing N frames (0: never)");
    app.add_flag("--stats", o.stats, "print one JSON line of statistics per second");
    app.add_option("--timeout", o.timeout_s,
                   "fail (exit 3) after this many seconds, the wait for the VM included (0: never)")
        ->check(finite)
        ->check(CLI::Validator(
            [](std::string& v) -> std::string {
                return std::strtod(v.c_str(), nullptr) < 0 ? "wants 0 or more seconds, not " + v
                                                           : "";
            },
            ""));
    app.add_flag(
        "--verify-pattern", o.verify_pattern,
        "read back every shown frame and check it pixel-exact against the agent's test pattern "
        "(needs 1:1 scale; the cursor is not drawn; exit 4 on a mismatch)");
    app.add_flag("--overlay", o.overlay, "show the statistics overlay from the start");
    app.add_flag("--no-cursor", r.no_cursor, "do not draw the guest's cursor");
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
    app.add_option("--mouse-sensitivity", o.mouse_sensitivity,
                   "relative motion (window mode: captured; evdev: the mice's REL_X/REL_Y) scaled "
                   "by (10 + N) / 10, N from -9 (a tenth) to 9 (1.9 times) as Looking Glass's "
                   "mouseSens; fractions carry over")
        ->check(CLI::Validator(
            [](std::string& v) -> std::string {
                int n = 0;
                const auto* end = v.data() + v.size();
                const auto res = std::from_chars(v.data(), end, n);
                if (!v.empty() && res.ec == std::errc{} && res.ptr == end &&
                    n >= input::kMinMouseSensitivity && n <= input::kMaxMouseSensitivity)
                    return {};
                return "wants a whole number from -9 (slowest) to 9 (fastest), 0 unscaled; got '" +
                       v + "'";
            },
            ""));
    app.add_flag("--ignore-windows-keys", o.ignore_windows_keys,
                 "window and evdev modes: the Super (Windows) keys stay on the host, never sent "
                 "to the guest");
    app.add_flag("-M,--hide-cursor", o.hide_cursor,
                 "hide the host pointer over the window while the guest's cursor is shown "
                 "(one cursor, not two; needs the guest's cursor drawn, so not with --no-cursor)");
    app.add_flag("--capture-on-start", o.capture_on_start,
                 "window mode: capture the keyboard and mouse as soon as the window opens, as "
                 "Looking Glass's spice:captureOnStart (the escape key alone releases them)");
    app.add_flag("--capture-on-focus", o.capture_on_focus,
                 "window mode: capture the keyboard and mouse whenever the window gains the focus, "
                 "as Looking Glass's spice:captureOnFocus (losing the focus always releases them)");
    app.add_option("--input-to", o.input_to,
                   "deliver input to the agent (region input ring) or to QEMU over QMP")
        ->check(CLI::IsMember({"agent", "qmp"}));
    app.add_option("--qmp", o.qmp, "QEMU's QMP socket for --input-to qmp and --usb (unix:/path)");
    app.add_option("--usb", o.usb_devices,
                   "host USB device the capture key + U attaches to the VM and gives back on the "
                   "next press and when porthole exits: vendor:product in hex (046d:c52b, as "
                   "lsusb shows) or bus-port (3-1.2); repeatable; needs --qmp")
        ->check(CLI::Validator(
            [](std::string& v) -> std::string {
                auto s = porthole::qmp::parse_usb_selector(v);
                return s ? std::string{} : s.error().message;
            },
            ""));
    app.add_option("--gamepad", o.gamepads,
                   "evdev gamepad (/dev/input/by-id/...-event-joystick) forwarded to a Linux "
                   "guest's agent, which replays it on a uinput pad; grabbed while porthole runs; "
                   "the guest's rumble plays on the pad when it has FF_RUMBLE; "
                   "repeatable, at most 4; not with --input-to qmp (Windows guests: --usb)");
    app.add_option("--audio", o.audio,
                   "play the guest's audio: auto (when the agent announces audio), on, off")
        ->check(CLI::IsMember({"auto", "on", "off"}));
    app.add_option("--audio-latency", o.audio_latency_ms,
                   "audio latency target in ms between guest and speakers")
        ->check(finite)
        ->check(CLI::Range(5.0, 200.0));
    app.add_option("--audio-source", o.audio_source,
                   "region (the agent's audio channel) or scream (a Scream IVSHMEM ring)")
        ->check(CLI::IsMember({"region", "scream"}));
    app.add_option("--scream-shm", o.scream_shm,
                   "Scream's IVSHMEM region file for --audio-source scream");
    app.add_flag("--audio-follow-volume", o.audio_follow_volume,
                 "apply the guest's volume and mute to the stream");
    app.add_option("--clipboard", o.clipboard,
                   "share the clipboard (text; PNG images on X11): both, to-guest (the desktop's "
                   "copies reach the guest), "
                   "to-host (the guest's reaches the desktop) or off")
        ->check(CLI::IsMember({"both", "to-guest", "to-host", "off"}));
    app.add_option("--clipboard-limit", o.clipboard_limit,
                   "largest clipboard text in bytes, either way (the guest's longer text is "
                   "refused unread)")
        ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 30));
    app.add_option("--clipboard-max-size", o.clipboard_max_size,
                   "largest clipboard image (PNG) in bytes, either way (the guest's larger "
                   "image is refused unread)")
        ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 30));
    app.add_option("--log-level", o.log_level, "trace, debug, info, warn, error")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
    return app_ptr;
}

// An option's config-file name: its long name without the dashes ("" for none).
std::string key_of(const CLI::Option& opt) {
    const auto& names = opt.get_lnames();
    return names.empty() ? std::string{} : names.front();
}

bool is_flag(const CLI::Option& opt) {
    return opt.get_expected_max() == 0;
}

// Parses `args` (without the program name) into `app`; the exit code when
// that ends the program: 0 after --help or --version, 2 for an error.
std::optional<int> parse_args(CLI::App& app, const std::vector<std::string>& args) {
    std::vector<const char*> argv{"porthole"};
    for (const auto& a : args)
        argv.push_back(a.c_str());
    try {
        app.parse(static_cast<int>(argv.size()), argv.data());
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }
    return std::nullopt;
}

// `key = ""`: the option's empty default (CLI11 refuses an empty --key=).
bool is_unset(const ConfigEntry& e) {
    return e.kind == ConfigEntry::Kind::scalar && e.values.size() == 1 && e.values[0].empty();
}

// The command-line words that carry a config entry: --key=value for each value.
std::vector<std::string> entry_args(const ConfigEntry& e) {
    std::vector<std::string> out;
    if (is_unset(e)) return out;
    for (const auto& v : e.values)
        out.push_back("--" + e.key + "=" + v);
    return out;
}

// Why the option table refuses `e` ("" when it takes it): the same checks as
// on the command line, run on a fresh table so that nothing else interferes.
std::string entry_problem(const CLI::App& table, const ConfigEntry& e) {
    const CLI::Option* opt = table.get_option_no_throw("--" + e.key);
    if (opt == nullptr || is_meta(e.key) || e.key.starts_with("-")) {
        std::vector<std::string> names;
        for (const CLI::Option* o : table.get_options())
            if (const auto k = key_of(*o); !k.empty() && !is_meta(k)) names.push_back(k);
        if (is_meta(e.key))
            return fmt::format("'{}' is not read from a config file, only from the command line",
                               e.key);
        const auto near = closest_name(e.key, names);
        return near.empty() ? fmt::format(
                                  "unknown key '{}' (porthole --help lists the options; "
                                  "the file uses their names without the dashes)",
                                  e.key)
                            : fmt::format("unknown key '{}' (did you mean '{}'?)", e.key, near);
    }
    if (is_flag(*opt) && e.kind != ConfigEntry::Kind::boolean)
        return fmt::format("{} wants true or false", e.key);
    if (!is_flag(*opt) && e.kind == ConfigEntry::Kind::boolean)
        return fmt::format("{} wants a value, not true or false", e.key);
    if (e.kind == ConfigEntry::Kind::array && opt->get_items_expected_max() <= 1)
        return fmt::format("{} takes one value, not a list", e.key);
    if (is_unset(e)) {
        // `qmp = ""` is the default, as --print-config shows it; `shm = ""` is no path.
        return opt->get_default_str().empty()
                   ? std::string{}
                   : fmt::format("{} needs a value (default: {})", e.key, opt->get_default_str());
    }
    Options o;
    RawOptions r;
    auto app = make_app(o, r);
    try {
        const auto args = entry_args(e);
        std::vector<const char*> argv{"porthole"};
        for (const auto& a : args)
            argv.push_back(a.c_str());
        app->parse(static_cast<int>(argv.size()), argv.data());
    } catch (const CLI::ParseError& err) {
        // CLI11 says "--scale: ..."; the file's name for it is "scale".
        std::string what = err.what();
        if (const std::string prefix = "--" + e.key + ": "; what.starts_with(prefix))
            what = e.key + ": " + what.substr(prefix.size());
        return what;
    }
    return {};
}

// A value as TOML text, so that --print-config's output reads back as a config file.
std::string toml_value(const CLI::Option& opt, const std::string& text) {
    if (is_flag(opt)) return text;
    const std::string type = opt.get_type_name();
    if (!type.starts_with("TEXT")) {
        double d = 0;
        const auto r = std::from_chars(text.data(), text.data() + text.size(), d);
        if (!text.empty() && r.ec == std::errc{} && r.ptr == text.data() + text.size()) return text;
    }
    std::ostringstream s;
    s << toml::value<std::string>(text);
    return s.str();
}

// --print-config: every option as `key = value  # origin`, TOML that reads back.
void print_config(const CLI::App& app, const std::map<std::string, std::string>& origin,
                  const std::map<std::string, std::string>& derived) {
    std::printf("# porthole's effective configuration; after each value, where it came from\n");
    for (const CLI::Option* opt : app.get_options()) {
        const std::string key = key_of(*opt);
        if (key.empty() || is_meta(key)) continue;
        std::string value;
        if (is_flag(*opt)) {
            value = opt->as<bool>() ? "true" : "false";
        } else if (opt->get_items_expected_max() > 1) {
            std::vector<std::string> items;
            for (const auto& v : opt->results())
                items.push_back(toml_value(*opt, v));
            value = "[" + fmt::format("{}", fmt::join(items, ", ")) + "]";
        } else if (opt->count() > 0) {
            value = toml_value(*opt, opt->results().front());
        } else if (const auto d = derived.find(key); d != derived.end()) {
            value = toml_value(*opt, d->second);
        } else {
            value = toml_value(*opt, opt->get_default_str());
        }
        const auto o = origin.find(key);
        std::printf("%s\n", fmt::format("{:<34}  # {}", key + " = " + value,
                                        o == origin.end() ? std::string("default") : o->second)
                                .c_str());
    }
}

}  // namespace

std::variant<Options, int> parse_options(int argc, char** argv) {
    Options o;
    RawOptions r;
    auto app = make_app(o, r);
    if (auto code = packaging::print_docs_if_asked(*app, argc, argv, man_docs())) return *code;

    // The command line alone first: it names the user's file and wins over both files.
    const std::vector<std::string> cli(argv + 1, argv + argc);
    if (auto code = parse_args(*app, cli)) return *code;
    std::map<std::string, std::string> origin;
    for (const CLI::Option* opt : app->get_options())
        if (opt->count() > 0) origin[key_of(*opt)] = "command line";
    const bool config_given = app->get_option("--config")->count() > 0;

    // The files, system first: a later file's value replaces an earlier one's.
    std::vector<ConfigFile> files;
    for (const auto& [path, user] :
         {std::pair{system_config_path(), false}, std::pair{r.config, true}}) {
        if (path.empty()) continue;
        auto file = read_config_file(path);
        if (!file) {
            std::fprintf(stderr, "%s\n", file.error().message.c_str());
            return 2;
        }
        if (!*file) {
            if (user && config_given) {
                std::fprintf(stderr, "config file %s does not exist (--config \"\" reads none)\n",
                             path.c_str());
                return 2;
            }
            o.config_files_absent.push_back(path);
            continue;
        }
        o.config_files_read.push_back(path);
        files.push_back(std::move(**file));
    }
    std::map<std::string, std::vector<std::string>> from_files;
    for (const auto& f : files) {
        for (const auto& e : f.entries) {
            if (const auto problem = entry_problem(*app, e); !problem.empty()) {
                std::fprintf(stderr, "%s: %s\n", f.where(e).c_str(), problem.c_str());
                return 2;
            }
            if (origin.contains(e.key) && origin[e.key] == "command line") continue;
            origin[e.key] = f.where(e);
            from_files[e.key] = entry_args(e);
        }
    }

    // Then everything together, the files' values before the command line's.
    std::vector<std::string> args;
    for (const auto& [key, words] : from_files)
        args.insert(args.end(), words.begin(), words.end());
    args.insert(args.end(), cli.begin(), cli.end());
    const auto read = std::move(o.config_files_read);
    const auto absent = std::move(o.config_files_absent);
    o = Options{};
    r = RawOptions{};
    app = make_app(o, r);
    if (auto code = parse_args(*app, args)) return *code;
    o.config_files_read = read;
    o.config_files_absent = absent;

    o.position = parse_window_position(r.position);
    o.ui_scale = std::get<std::optional<float>>(parse_ui_scale(r.ui_scale));
    if (o.title.empty()) o.title = default_title(o.shm);
    const auto wh = parse_size(r.size);
    if (wh) {
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
    if ((o.capture_on_start || o.capture_on_focus) && o.input != "window") {
        std::fprintf(stderr,
                     "--capture-on-%s captures the window's keyboard and mouse: it needs --input "
                     "window (the input is %s)\n",
                     o.capture_on_start ? "start" : "focus", o.input.c_str());
        return 2;
    }
    if (o.input_to == "qmp" && o.qmp.empty()) {
        std::fprintf(stderr,
                     "--input-to qmp needs --qmp unix:/path/to/socket (QEMU's -qmp "
                     "unix:PATH,server=on,wait=off)\n");
        return 2;
    }
    if (!o.usb_devices.empty() && o.qmp.empty()) {
        std::fprintf(stderr,
                     "--usb needs QEMU's QMP socket: give --qmp unix:/path/to/socket (QEMU's -qmp "
                     "unix:PATH,server=on,wait=off)\n");
        return 2;
    }
    if (!o.gamepads.empty() && o.input_to == "qmp") {
        std::fprintf(
            stderr,
            "--gamepad goes through the agent (QEMU's input-send-event has no "
            "gamepads): use --input-to agent, or --usb to give the pad itself to the VM\n");
        return 2;
    }
    if (o.gamepads.size() > protocol::pad::kMaxGamepads) {
        std::fprintf(stderr, "--gamepad: at most %u gamepads (%zu given)\n",
                     protocol::pad::kMaxGamepads, o.gamepads.size());
        return 2;
    }
    if (o.audio_source == "scream" && o.scream_shm.empty() && o.audio != "off") {
        std::fprintf(stderr,
                     "--audio-source scream needs --scream-shm PATH (Scream's IVSHMEM file)\n");
        return 2;
    }
    if (r.print_config) {
        print_config(*app, origin, {{"input", o.input}, {"hotkey", o.hotkey}, {"title", o.title}});
        return 0;
    }
    o.renderer.present_mode = *parse_present_mode(r.present);
    o.renderer.scale = *parse_scale_mode(r.scale);
    o.renderer.filter = *parse_filter(r.filter);
    o.renderer.draw_cursor =
        !r.no_cursor && !o.verify_pattern;  // verification compares the frame alone
    if (o.headless) {
        o.renderer.headless_width = o.width;
        o.renderer.headless_height = o.height;
    }
    return o;
}

}  // namespace porthole::client
