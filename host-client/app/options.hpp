#pragma once
// porthole's options: command line, and a config file with the same names
// ($XDG_CONFIG_HOME/porthole/porthole.conf by default, TOML `name = value`);
// the command line wins.

#include <cstdint>
#include <string>
#include <variant>

#include "render/renderer.hpp"

namespace porthole::client {

struct Options {
    std::string shm;
    std::string config_file;
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
    RendererConfig renderer;
};

// The options, or the exit code when parsing ends the program (--help, errors).
std::variant<Options, int> parse_options(int argc, char** argv);

// The default config file path: $XDG_CONFIG_HOME or ~/.config, then porthole/porthole.conf.
std::string default_config_path();

}  // namespace porthole::client
