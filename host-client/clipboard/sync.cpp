#include "clipboard/sync.hpp"

#include "clipboard/utf8.hpp"

namespace porthole::client::clipboard {

std::optional<Mode> parse_mode(std::string_view s) {
    if (s == "both") return Mode::both;
    if (s == "to-guest") return Mode::to_guest;
    if (s == "to-host") return Mode::to_host;
    if (s == "off") return Mode::off;
    return std::nullopt;
}

Status check_guest_text(std::string_view text, std::size_t limit) {
    if (text.size() > limit) {
        return Error::make("the guest's clipboard text of " + std::to_string(text.size()) +
                           " bytes is over the limit of " + std::to_string(limit) +
                           " bytes (raise --clipboard-limit to accept it)");
    }
    if (auto bad = first_invalid_utf8(text)) {
        return Error::make("the guest's clipboard text is not valid UTF-8 (byte " +
                           std::to_string(*bad) + " of " + std::to_string(text.size()) +
                           "): refused");
    }
    return {};
}

std::optional<std::string> ClipboardSync::desktop_changed(std::string text) {
    if (!to_guest() || text.size() > limit_ || shared_ == text) return std::nullopt;
    shared_ = text;
    return text;
}

Result<std::optional<std::string>> ClipboardSync::guest_offered(std::string text) {
    if (!to_host()) return std::optional<std::string>{};
    if (auto ok = check_guest_text(text, limit_); !ok) return ok.error();
    if (shared_ == text) return std::optional<std::string>{};
    shared_ = text;
    return std::optional<std::string>{std::move(text)};
}

}  // namespace porthole::client::clipboard
