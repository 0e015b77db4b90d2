#pragma once
// QMP's message rules, without any I/O: one JSON object per line; a greeting
// first ({"QMP": ...}), then replies ({"return": ..} or {"error": ..}, with the
// command's "id" echoed) and asynchronous events ({"event": ..}) in between.
// QEMU runs as the user's own process, but a socket path can point anywhere:
// every line is checked for shape before use, and lines are bounded.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "porthole/util/result.hpp"

namespace porthole::qmp {

// A QMP line longer than this is refused (QEMU's own replies stay far below).
inline constexpr std::size_t kMaxLine = 4 * 1024 * 1024;

// Accepts "unix:/path" or a bare path.
Result<std::string> parse_qmp_address(std::string_view spec);

// QEMU's version from its greeting; {0, 0} when it did not say.
struct QemuVersion {
    int major = 0, minor = 0;
    friend auto operator<=>(const QemuVersion&, const QemuVersion&) = default;
};
// The version in a greeting ({"QMP": {"version": {"qemu": {"major": ..}}}});
// anything malformed or out of range gives {0, 0}.
QemuVersion greeting_version(const nlohmann::json& greeting);
// The version in query-version's "return" value ({"qemu": {"major": ..}, ..});
// anything malformed or out of range gives {0, 0}.
QemuVersion query_version_result(const nlohmann::json& result);

struct Message {
    enum class Kind { greeting, event, reply, error };
    Kind kind = Kind::reply;
    std::optional<std::uint64_t> id;  // a reply's or error's "id", when a number
    nlohmann::json body;              // the "return" value, the event, or the greeting
    std::string error_class;          // for Kind::error
    std::string error_desc;           // for Kind::error
};

// One line (without its newline) as a message, or why it is not one.
Result<Message> parse_message(std::string_view line);

// {"execute": command, "arguments": arguments (left out when null), "id": id} and a newline.
std::string command_line(std::string_view command, const nlohmann::json& arguments,
                         std::uint64_t id);

}  // namespace porthole::qmp
