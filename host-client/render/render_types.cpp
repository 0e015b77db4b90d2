#include "render/render_types.hpp"

namespace porthole::client {

std::string_view to_string(ScaleMode m) {
    switch (m) {
        case ScaleMode::fit:
            return "fit";
        case ScaleMode::integer:
            return "integer";
        case ScaleMode::stretch:
            return "stretch";
    }
    return "?";
}

std::string_view to_string(Filter f) {
    return f == Filter::nearest ? "nearest" : "linear";
}

std::string_view to_string(PresentMode m) {
    switch (m) {
        case PresentMode::fifo:
            return "fifo";
        case PresentMode::mailbox:
            return "mailbox";
        case PresentMode::immediate:
            return "immediate";
    }
    return "?";
}

std::string_view to_string(CopyPath p) {
    switch (p) {
        case CopyPath::none:
            return "none";
        case CopyPath::host_import:
            return "import";
        case CopyPath::staging:
            return "staging";
    }
    return "?";
}

std::optional<ScaleMode> parse_scale_mode(std::string_view s) {
    if (s == "fit") return ScaleMode::fit;
    if (s == "integer") return ScaleMode::integer;
    if (s == "stretch") return ScaleMode::stretch;
    return std::nullopt;
}

std::optional<Filter> parse_filter(std::string_view s) {
    if (s == "nearest") return Filter::nearest;
    if (s == "linear") return Filter::linear;
    return std::nullopt;
}

std::optional<PresentMode> parse_present_mode(std::string_view s) {
    if (s == "fifo") return PresentMode::fifo;
    if (s == "mailbox") return PresentMode::mailbox;
    if (s == "immediate") return PresentMode::immediate;
    return std::nullopt;
}

}  // namespace porthole::client
