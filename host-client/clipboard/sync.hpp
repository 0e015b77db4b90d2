#pragma once
// Which clipboard changes cross to the other side: the --clipboard direction,
// the size limit, checks on the guest's text, and no echo (a value that came
// from one side is never sent back to it).

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "porthole/util/result.hpp"

namespace porthole::client::clipboard {

enum class Mode { both, to_guest, to_host, off };

// "both", "to-guest", "to-host" or "off"; nullopt for anything else.
std::optional<Mode> parse_mode(std::string_view s);

// The guest's text is acceptable for the desktop: at most `limit` bytes of valid
// UTF-8 (an error naming the problem otherwise).
Status check_guest_text(std::string_view text, std::size_t limit);

class ClipboardSync {
  public:
    ClipboardSync(Mode mode, std::size_t limit) : mode_(mode), limit_(limit) {}
    // The desktop's clipboard holds `text`: what to offer the guest, if anything.
    std::optional<std::string> desktop_changed(std::string text);
    // The guest offered `text`: what to put on the desktop's clipboard, if anything;
    // an error (and nothing changes) when the text fails check_guest_text.
    Result<std::optional<std::string>> guest_offered(std::string text);
    // A new agent session: its clipboard is unknown, so the desktop's is offered again.
    void forget_guest() { shared_.reset(); }
    [[nodiscard]] bool to_guest() const { return mode_ == Mode::both || mode_ == Mode::to_guest; }
    [[nodiscard]] bool to_host() const { return mode_ == Mode::both || mode_ == Mode::to_host; }
    [[nodiscard]] std::size_t limit() const { return limit_; }

  private:
    Mode mode_;
    std::size_t limit_;
    // The text both sides hold after the last crossing: seeing it again is an echo.
    std::optional<std::string> shared_;
};

}  // namespace porthole::client::clipboard
