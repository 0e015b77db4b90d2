#pragma once
// Man pages and shell completions generated from a program's CLI11 option
// table, the same one --help prints, so the three can never disagree. Each
// program answers two requests no user types (they are not in --help):
//   PROGRAM --print-man                  the roff man page
//   PROGRAM --print-completion SHELL     bash, zsh or fish
// and the build installs what they print.

#include <iosfwd>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace CLI {
class App;
}

namespace porthole::packaging {

struct ManSection {
    std::string title;  // "FILES", "EXIT STATUS", "SEE ALSO"
    std::string body;   // plain text; a blank line starts a paragraph, "  " a literal line
};

struct ProgramDocs {
    std::string name;     // "porthole-vfio"
    int section = 1;      // 1 programs, 8 administration
    std::string summary;  // the NAME line's one-liner
    std::vector<ManSection> sections;
    // Defaults that depend on who runs the program (a home folder): shown as given here.
    std::map<std::string, std::string> default_text;
};

// The man page (roff, man(7) macros) of `app` and its subcommands.
[[nodiscard]] std::string man_page(const CLI::App& app, const ProgramDocs& docs);

// A completion script for "bash", "zsh" or "fish"; nullopt for another shell.
[[nodiscard]] std::optional<std::string> completion(const CLI::App& app, std::string_view shell,
                                                    std::string_view program);

// When `args` (after the program name) is exactly one of the two requests above,
// prints the text to `out` and returns the exit code (2 for an unknown shell);
// otherwise nullopt and the program parses its arguments as usual.
[[nodiscard]] std::optional<int> print_docs_if_asked(const CLI::App& app,
                                                     std::span<const std::string> args,
                                                     const ProgramDocs& docs, std::ostream& out,
                                                     std::ostream& err);
[[nodiscard]] std::optional<int> print_docs_if_asked(const CLI::App& app, int argc,
                                                     const char* const* argv,
                                                     const ProgramDocs& docs);

}  // namespace porthole::packaging
