#pragma once
// The one message for a backend name this build does not have (capture,
// audio, clipboard, display modes): it names the choices the build offers, so
// a typo or a package built without a backend is fixed from the message.

#include <span>
#include <string>
#include <string_view>

#include "porthole/util/printable.hpp"
#include "porthole/util/result.hpp"

namespace porthole {

// "<what> 'name' is not available in this build (available: a, b, c)"; the
// name comes from the command line, so it is printed safely.
inline Error unavailable_backend(std::string_view what, std::string_view name,
                                 std::span<const std::string_view> available) {
    std::string list;
    for (const auto n : available) {
        if (!list.empty()) list += ", ";
        list += n;
    }
    return Error::make(std::string(what) + " '" + printable(name) +
                       "' is not available in this build (available: " + list + ")");
}

}  // namespace porthole
