#pragma once
// The shell as far as porthole-vfio needs it: quoting words for root scripts, and
// reading files that `sh` sources (/etc/default/grub) the way the shell reads them,
// so an assignment can be edited in place and everything else kept byte for byte.

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "porthole/util/result.hpp"

namespace porthole::vfio {

// One word for `sh`: left as is when it only holds safe characters, else single-quoted.
[[nodiscard]] std::string shell_quote(std::string_view word);

// Variables after sourcing: nullopt when the value cannot be known without running
// something ($(...), `...`, a conditional assignment).
using ShellEnv = std::map<std::string, std::optional<std::string>, std::less<>>;

struct ShellWord {
    size_t begin = 0;  // byte span in the text; begin == end for an empty value
    size_t end = 0;
    std::optional<std::string> value;  // after quote removal and expansion
    enum class Tail { Empty, Unquoted, SingleQuoted, DoubleQuoted };
    Tail tail = Tail::Empty;  // how the word ends: where text can be added inside it
    bool plain = true;        // only unquoted characters with no special meaning
};

struct ShellAssignment {
    std::string name;
    ShellWord value;
    bool conditional = false;  // inside if/case/while/for/{ }: may or may not happen
};

struct ShellScan {
    std::vector<ShellAssignment> assignments;  // in the order the shell runs them
    // Statements that are not plain assignments (commands, pipelines, compound
    // commands), as written: a variable named in one may change in ways not modelled.
    std::vector<std::string> commands;
    bool sources_files = false;  // `.`, `source` or `eval`: anything may change
};

// Reads `text` as `sh` would source it, applying assignments to `env`. Fails only on
// text the shell itself would reject (an unterminated quote or substitution).
[[nodiscard]] Result<ShellScan> scan_shell(std::string_view text, ShellEnv& env);

// True when `name`'s value after `scan` cannot be trusted: a command mentions it,
// the file sources others, or its value is unknown in `env`.
[[nodiscard]] bool shell_value_uncertain(const ShellScan& scan, const ShellEnv& env,
                                         std::string_view name);

// `text` with `words` appended, space-separated, to the value of `assignment` (whose
// current value is `current`), inside its existing quotes where it has them. Words
// must be plain kernel-flag characters.
[[nodiscard]] Result<std::string> append_to_assignment(std::string_view text,
                                                       const ShellAssignment& assignment,
                                                       std::string_view current,
                                                       const std::vector<std::string>& words);

}  // namespace porthole::vfio
