#pragma once
// porthole.conf: TOML `name = value` lines with the command line's option
// names, read with toml++ so that every error names the file and line. The
// values stay text here: the option table itself checks them, so that the
// command line and the file accept exactly the same values.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "porthole/util/result.hpp"

namespace porthole::client {

struct ConfigEntry {
    enum class Kind { boolean, scalar, array };
    std::string key;
    Kind kind = Kind::scalar;
    std::vector<std::string> values;  // one for boolean and scalar ("true", "20", "integer")
    std::uint32_t line = 0;
};

struct ConfigFile {
    std::string path;
    std::vector<ConfigEntry> entries;  // in the file's order

    // "PATH:LINE", how errors and --print-config name where a value came from.
    [[nodiscard]] std::string where(const ConfigEntry& e) const;
};

// Reads and parses `path`. nullopt when there is no file there; an error,
// "PATH:LINE: what", for a file that is not a regular file (a FIFO would
// block), unreadable, too large, not TOML, or using TOML that is no option
// (a [section], a table value, an array of arrays).
Result<std::optional<ConfigFile>> read_config_file(const std::string& path);

// The same for text already read (tests, and read_config_file's second half).
Result<ConfigFile> parse_config_text(std::string_view text, const std::string& path);

// The name among `names` closest to a mistyped `name`, when one is close
// enough to be what was meant ("scael" -> "scale"); empty otherwise.
std::string closest_name(std::string_view name, std::span<const std::string> names);

}  // namespace porthole::client
