#include "porthole/vfio/shell.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace porthole::vfio {

namespace {

bool is_name_start(char c) {
    return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_';
}
bool is_name_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}
// Characters that mean nothing special to the shell anywhere in a word.
bool is_plain_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
           std::string_view("_@%+=:,./-").find(c) != std::string_view::npos;
}
bool ends_word(char c) {
    return std::string_view(" \t\n;&|<>()").find(c) != std::string_view::npos;
}

bool mentions(std::string_view text, std::string_view name) {
    for (size_t at = text.find(name); at != std::string_view::npos; at = text.find(name, at + 1)) {
        bool left = at == 0 || !is_name_char(text[at - 1]);
        bool right = at + name.size() >= text.size() || !is_name_char(text[at + name.size()]);
        if (left && right) return true;
    }
    return false;
}

class Scanner {
  public:
    Scanner(std::string_view text, ShellEnv& env) : t_(text), env_(env) {}

    Result<ShellScan> run() {
        while (!at_end()) {
            skip_blanks();
            if (at_end()) break;
            char c = peek();
            if (c == '#') {
                skip_comment();
            } else if (c == '\n' || c == ';') {
                ++i_;
            } else if (auto s = statement(); !s) {
                return s.error();
            }
        }
        return std::move(out_);
    }

  private:
    struct Word {
        ShellWord word;
        std::optional<std::string> assigned_name;  // NAME= prefix, when it has one
    };

    [[nodiscard]] bool at_end() const { return i_ >= t_.size(); }
    [[nodiscard]] char peek(size_t k = 0) const { return i_ + k < t_.size() ? t_[i_ + k] : '\0'; }
    [[nodiscard]] size_t line() const {
        return 1 + static_cast<size_t>(
                       std::count(t_.begin(), t_.begin() + static_cast<long>(i_), '\n'));
    }
    Error error(std::string_view what, size_t at_line) const {
        return Error::make(fmt::format("line {}: {}", at_line, what));
    }

    void skip_blanks() {
        while (!at_end()) {
            if (peek() == ' ' || peek() == '\t') {
                ++i_;
            } else if (peek() == '\\' && peek(1) == '\n') {
                i_ += 2;
            } else {
                break;
            }
        }
    }
    void skip_comment() {
        while (!at_end() && peek() != '\n')
            ++i_;
    }

    // `...`: skipped, its output unknown.
    Status skip_backquote() {
        size_t start_line = line();
        for (++i_; !at_end(); ++i_) {
            if (peek() == '\\') {
                ++i_;
            } else if (peek() == '`') {
                ++i_;
                return {};
            }
        }
        return error("unterminated ` command substitution", start_line);
    }

    // $(...) or ${...} with nesting and quotes inside: skipped.
    Status skip_group(char open, char close) {
        size_t start_line = line();
        int depth = 0;
        while (!at_end()) {
            char c = peek();
            if (c == '\\') {
                i_ += 2;
                continue;
            }
            if (c == '\'') {
                auto q = t_.find('\'', i_ + 1);
                if (q == std::string_view::npos) break;
                i_ = q + 1;
                continue;
            }
            if (c == '"') {
                ++i_;
                while (!at_end() && peek() != '"')
                    i_ += peek() == '\\' ? 2u : 1u;
                ++i_;
                continue;
            }
            if (c == open) ++depth;
            if (c == close && --depth == 0) {
                ++i_;
                return {};
            }
            ++i_;
        }
        return error(fmt::format("unterminated ${}...{}", open, close), start_line);
    }

    void lookup(std::string_view name, std::string& value, bool& known) {
        auto it = env_.find(name);
        if (it == env_.end()) return;  // unset: empty, as in sh
        if (!it->second) {
            known = false;
        } else {
            value += *it->second;
        }
    }

    // At '$': appends the expansion, or marks the word unknown.
    Status expand(std::string& value, bool& known) {
        char n = peek(1);
        if (n == '(') {
            ++i_;
            known = false;
            return skip_group('(', ')');
        }
        if (n == '{') {
            size_t start = i_ + 2;
            size_t j = start;
            while (j < t_.size() && is_name_char(t_[j]))
                ++j;
            if (j > start && j < t_.size() && t_[j] == '}' && is_name_start(t_[start])) {
                lookup(t_.substr(start, j - start), value, known);
                i_ = j + 1;
                return {};
            }
            ++i_;
            known = false;  // ${A:-x}, ${#A} and friends
            return skip_group('{', '}');
        }
        if (is_name_start(n)) {
            size_t start = i_ + 1;
            size_t j = start;
            while (j < t_.size() && is_name_char(t_[j]))
                ++j;
            lookup(t_.substr(start, j - start), value, known);
            i_ = j;
            return {};
        }
        if (std::isdigit(static_cast<unsigned char>(n)) != 0 ||
            std::string_view("@*#?$!-").find(n) != std::string_view::npos) {
            i_ += 2;
            known = false;
            return {};
        }
        value += '$';
        ++i_;
        return {};
    }

    Status double_quoted(std::string& value, bool& known) {
        size_t start_line = line();
        ++i_;
        while (true) {
            if (at_end()) return error("unterminated double quote", start_line);
            char c = peek();
            if (c == '"') {
                ++i_;
                return {};
            }
            if (c == '\\') {
                char n = peek(1);
                if (n == '\n') {
                    i_ += 2;
                } else if (n == '$' || n == '`' || n == '"' || n == '\\') {
                    value += n;
                    i_ += 2;
                } else {
                    value += '\\';
                    ++i_;
                }
                continue;
            }
            if (c == '$') {
                if (auto s = expand(value, known); !s) return s;
                continue;
            }
            if (c == '`') {
                known = false;
                if (auto s = skip_backquote(); !s) return s;
                continue;
            }
            value += c;
            ++i_;
        }
    }

    // One word from i_, stopping at a blank, newline or operator outside quotes.
    Result<ShellWord> word() {
        ShellWord w;
        w.begin = i_;
        std::string value;
        bool known = true;
        while (!at_end() && !ends_word(peek())) {
            char c = peek();
            if (c == '\\') {
                if (peek(1) == '\n') {
                    i_ += 2;
                    w.plain = false;
                    continue;
                }
                if (i_ + 1 < t_.size()) value += t_[i_ + 1];
                i_ = std::min(i_ + 2, t_.size());
                w.tail = ShellWord::Tail::Unquoted;
                w.plain = false;
            } else if (c == '\'') {
                auto close = t_.find('\'', i_ + 1);
                if (close == std::string_view::npos) {
                    return error("unterminated single quote", line());
                }
                value += t_.substr(i_ + 1, close - i_ - 1);
                i_ = close + 1;
                w.tail = ShellWord::Tail::SingleQuoted;
                w.plain = false;
            } else if (c == '"') {
                if (auto s = double_quoted(value, known); !s) return s.error();
                w.tail = ShellWord::Tail::DoubleQuoted;
                w.plain = false;
            } else if (c == '$') {
                if (auto s = expand(value, known); !s) return s.error();
                w.tail = ShellWord::Tail::Unquoted;
                w.plain = false;
            } else if (c == '`') {
                known = false;
                if (auto s = skip_backquote(); !s) return s.error();
                w.tail = ShellWord::Tail::Unquoted;
                w.plain = false;
            } else {
                if (!is_plain_char(c)) w.plain = false;
                value += c;
                ++i_;
                w.tail = ShellWord::Tail::Unquoted;
            }
        }
        w.end = i_;
        if (known) w.value = std::move(value);
        return w;
    }

    // NAME= at i_: consumes it and returns NAME.
    std::optional<std::string> assignment_prefix() {
        if (!is_name_start(peek())) return std::nullopt;
        size_t j = i_;
        while (j < t_.size() && is_name_char(t_[j]))
            ++j;
        if (j >= t_.size() || t_[j] != '=') return std::nullopt;
        std::string name(t_.substr(i_, j - i_));
        i_ = j + 1;
        return name;
    }

    Status statement() {
        const size_t begin = i_;
        std::vector<Word> words;
        bool complex = false;
        while (true) {
            skip_blanks();
            if (at_end()) break;
            char c = peek();
            if (c == '\n' || c == ';') break;
            if (c == '#') {  // a comment starts only where a word would
                skip_comment();
                break;
            }
            if (std::string_view("&|<>()").find(c) != std::string_view::npos) {
                complex = true;
                ++i_;
                continue;
            }
            Word w;
            bool may_assign = std::all_of(words.begin(), words.end(), [&](const Word& x) {
                return x.assigned_name.has_value() || is_keyword(x, "export");
            });
            if (may_assign) w.assigned_name = assignment_prefix();
            auto parsed = word();
            if (!parsed) return parsed.error();
            w.word = std::move(*parsed);
            words.push_back(std::move(w));
        }
        const std::string_view raw = t_.substr(begin, i_ - begin);
        if (words.empty()) return {};

        // Reserved words open and close compound commands: what is inside is conditional.
        size_t first = 0;
        while (first < words.size() &&
               (is_keyword(words[first], "then") || is_keyword(words[first], "else") ||
                is_keyword(words[first], "do"))) {
            ++first;
        }
        if (first == words.size()) return {};
        for (const char* close : {"fi", "done", "esac", "}"}) {
            if (is_keyword(words[first], close)) {
                depth_ = std::max(0, depth_ - 1);
                return {};
            }
        }
        for (const char* open : {"if", "elif", "while", "until", "for", "case", "{", "select"}) {
            if (is_keyword(words[first], open)) {
                if (!is_keyword(words[first], "elif")) ++depth_;
                out_.commands.emplace_back(raw);
                return {};
            }
        }

        size_t k = first;
        if (is_keyword(words[k], "export") || is_keyword(words[k], "readonly")) ++k;
        bool all_assignments = !complex;
        for (size_t j = k; j < words.size() && all_assignments; ++j) {
            bool bare_name =
                k > first && words[j].word.plain && words[j].word.value &&
                !words[j].word.value->empty() &&
                std::all_of(words[j].word.value->begin(), words[j].word.value->end(), is_name_char);
            all_assignments = words[j].assigned_name.has_value() || bare_name;
        }
        if (!all_assignments) {
            out_.commands.emplace_back(raw);
            if (is_keyword(words[first], ".") || is_keyword(words[first], "source") ||
                is_keyword(words[first], "eval")) {
                out_.sources_files = true;
            }
            return {};
        }
        for (size_t j = k; j < words.size(); ++j) {
            if (!words[j].assigned_name) continue;
            ShellAssignment a{*words[j].assigned_name, words[j].word, depth_ > 0};
            env_[a.name] = a.conditional ? std::nullopt : a.value.value;
            out_.assignments.push_back(std::move(a));
        }
        return {};
    }

    // A reserved word or builtin as written: unquoted, whole, no NAME= prefix.
    [[nodiscard]] bool is_keyword(const Word& w, std::string_view keyword) const {
        return !w.assigned_name && t_.substr(w.word.begin, w.word.end - w.word.begin) == keyword;
    }

    std::string_view t_;
    ShellEnv& env_;
    size_t i_ = 0;
    int depth_ = 0;
    ShellScan out_;
};

}  // namespace

std::string shell_quote(std::string_view word) {
    if (!word.empty() && std::all_of(word.begin(), word.end(), is_plain_char)) {
        return std::string(word);
    }
    std::string out = "'";
    for (char c : word) {
        if (c == '\'') {
            out += "'\\''";
        } else {
            out += c;
        }
    }
    out += '\'';
    return out;
}

Result<ShellScan> scan_shell(std::string_view text, ShellEnv& env) {
    return Scanner(text, env).run();
}

bool shell_value_uncertain(const ShellScan& scan, const ShellEnv& env, std::string_view name) {
    if (scan.sources_files) return true;
    if (std::any_of(scan.commands.begin(), scan.commands.end(),
                    [&](const std::string& c) { return mentions(c, name); })) {
        return true;
    }
    auto it = env.find(name);
    return it != env.end() && !it->second;
}

Result<std::string> append_to_assignment(std::string_view text, const ShellAssignment& a,
                                         std::string_view current,
                                         const std::vector<std::string>& words) {
    std::string addition;
    for (const auto& w : words) {
        if (w.empty() || !std::all_of(w.begin(), w.end(), is_plain_char)) {
            return Error::make(fmt::format("'{}' is not a plain kernel flag", w));
        }
        addition += (addition.empty() ? "" : " ") + w;
    }
    const ShellWord& v = a.value;
    const std::string sep =
        current.empty() || std::isspace(static_cast<unsigned char>(current.back())) != 0 ? "" : " ";
    std::string out(text);
    switch (v.tail) {
        case ShellWord::Tail::DoubleQuoted:
        case ShellWord::Tail::SingleQuoted:
            // Flags hold no quote, backslash or $: they read the same inside either quote.
            out.insert(v.end - 1, sep + addition);
            break;
        case ShellWord::Tail::Empty:
            out.insert(v.begin, "\"" + addition + "\"");
            break;
        case ShellWord::Tail::Unquoted:
            if (v.plain) {
                std::string raw(text.substr(v.begin, v.end - v.begin));
                out.replace(v.begin, v.end - v.begin, "\"" + raw + sep + addition + "\"");
            } else {
                out.insert(v.end, "\"" + sep + addition + "\"");
            }
            break;
    }
    return out;
}

}  // namespace porthole::vfio
