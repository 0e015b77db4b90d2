#pragma once
// UTF-8 validation for text that comes from the guest.

#include <cstddef>
#include <optional>
#include <string_view>

namespace porthole::client::clipboard {

// The offset of the first byte that is not well-formed UTF-8 (overlong forms,
// surrogates and code points past U+10FFFF included), or nullopt when all is valid.
std::optional<std::size_t> first_invalid_utf8(std::string_view text);

}  // namespace porthole::client::clipboard
