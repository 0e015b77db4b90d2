#pragma once
// porthole's options: the command line over the user's config file
// ($XDG_CONFIG_HOME/porthole/porthole.conf by default) over the system's
// (/etc/porthole/porthole.conf), both TOML `name = value` with the same names.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "render/renderer.hpp"

namespace porthole::client {

struct Options {
    std::string shm;
    // The ivshmem server's socket for an ivshmem-doorbell device: auto (the
    // default socket, when a server listens there), a path, or off.
    std::string doorbell = "auto";
    std::vector<std::string> config_files_read;    // the config files that were read, system first
    std::vector<std::string> config_files_absent;  // the ones looked for and not there
    bool fullscreen = false;
    bool headless = false;
    std::string screenshot;
    std::uint64_t exit_after_frames = 0;
    bool stats = false;
    double timeout_s = 0;
    bool verify_pattern = false;
    bool overlay = false;
    std::string log_level = "info";
    std::uint32_t width = 0, height = 0;  // --size; 0: window 1280x720, headless follows the frame
    // The window (Looking Glass's win:borderless, win:position, win:title, win:noScreensaver).
    bool borderless = false;
    std::optional<std::pair<int, int>> position;  // --window-position; nullopt: centered
    std::string title;                            // "" until parsed: "porthole (SHM)"
    bool allow_screensaver = false;  // false: the screensaver is held off while porthole runs
    bool set_guest_res = false;     // the guest's display mode follows the window (win:setGuestRes)
    std::optional<float> ui_scale;  // --ui-scale 0.5..4; nullopt ("auto"): from the desktop
    RendererConfig renderer;

    // Input: front end, owner-switch hotkey and where events go.
    std::string input;  // window, evdev or none ("" until parsed: window, or none when headless)
    std::vector<std::string> evdev_devices;  // empty: every keyboard and mouse
    std::string hotkey;                // "" until parsed: ctrl-ctrl (evdev), scrolllock (window)
    std::string input_to = "agent";    // agent (region input ring) or qmp
    std::string qmp;                   // QEMU's QMP socket (unix:/path) for --input-to qmp
    std::string mouse = "auto";        // window mode: auto, absolute or relative
    int mouse_sensitivity = 0;         // relative motion (captured window, evdev): -9..9
    bool ignore_windows_keys = false;  // window and evdev: the Super keys stay on the host
    bool hide_cursor = false;  // the host pointer hidden over the window while the guest's shows
    // Window mode: capture as the window opens / whenever it gains the focus
    // (Looking Glass's spice:captureOnStart, spice:captureOnFocus).
    bool capture_on_start = false;
    bool capture_on_focus = false;
    // Host USB devices (vendor:product or bus-port) the capture key + U moves to the VM and back.
    std::vector<std::string> usb_devices;
    // evdev gamepads forwarded to a Linux guest's agent (uinput), one pad slot each.
    std::vector<std::string> gamepads;

    // Audio: auto plays when the agent announces audio.
    std::string audio = "auto";  // auto, on or off
    double audio_latency_ms = 20;
    std::string audio_source = "region";  // region or scream
    std::string scream_shm;
    bool audio_follow_volume = false;

    // Clipboard text between the desktop and the guest.
    std::string clipboard = "both";                             // both, to-guest, to-host or off
    std::uint64_t clipboard_limit = 256 * 1024;                 // bytes; longer text is refused
    std::uint64_t clipboard_max_size = std::uint64_t{8} << 20;  // bytes; larger images are refused
};

// The options, or the exit code when parsing ends the program (--help, errors).
std::variant<Options, int> parse_options(int argc, char** argv);

inline constexpr std::string_view kSystemConfigPath = "/etc/porthole/porthole.conf";

// The default config file path: $XDG_CONFIG_HOME or ~/.config, then porthole/porthole.conf.
std::string default_config_path();

// The system-wide config file: $PORTHOLE_SYSTEM_CONFIG when set ("" for none),
// else kSystemConfigPath.
std::string system_config_path();

// --window-position's value: "X,Y" in pixels (each -32768..32767, negative for
// a display left of or above the primary one); nullopt for anything else.
std::optional<std::pair<int, int>> parse_window_position(std::string_view s);

// Why a --title is refused ("" when it is fine): control characters (a line
// break would end the X11 title at it), invalid UTF-8, more than 255 bytes.
std::string title_problem(std::string_view title);

// --ui-scale's value: "auto" (nullopt inside), or a number from 0.5 to 4; an
// error message for anything else.
std::variant<std::optional<float>, std::string> parse_ui_scale(std::string_view s);

// The default title: names the region, so that two VMs' windows differ.
std::string default_title(std::string_view shm);

}  // namespace porthole::client
