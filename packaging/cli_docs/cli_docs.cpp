#include "porthole/packaging/cli_docs.hpp"

#include <CLI/CLI.hpp>

#include <cctype>
#include <functional>
#include <iostream>
#include <sstream>

namespace porthole::packaging {

namespace {

// One option as the three outputs need it, read from CLI11's table.
struct OptionDoc {
    std::vector<std::string> names;  // "-h", "--help"; a positional's name alone
    bool positional = false;
    bool takes_value = false;
    bool repeatable = false;
    bool required = false;
    std::string value_name;  // "TEXT", "UINT", "FILE"
    std::vector<std::string> choices;
    std::string description;
    std::string default_value;
};

struct CommandDoc {
    std::vector<std::string> path;  // subcommand names from the program down; empty: the program
    std::string description;
    std::vector<OptionDoc> options;
    std::vector<CommandDoc> subcommands;
};

// "TEXT:{fifo,mailbox,immediate}" -> "TEXT" and the choices.
void split_type_name(const std::string& type, OptionDoc& doc) {
    doc.value_name = type.substr(0, type.find(':'));
    const auto open = type.find('{');
    const auto close = type.find('}', open == std::string::npos ? 0 : open);
    if (open != std::string::npos && close != std::string::npos) {
        std::stringstream list(type.substr(open + 1, close - open - 1));
        for (std::string item; std::getline(list, item, ',');)
            if (!item.empty()) doc.choices.push_back(item);
    }
    if (doc.value_name.empty()) doc.value_name = "VALUE";
}

CommandDoc read_command(const CLI::App& app, std::vector<std::string> path,
                        const ProgramDocs& docs) {
    CommandDoc c;
    c.path = std::move(path);
    c.description = app.get_description();
    for (const CLI::Option* opt : app.get_options()) {
        // An empty group hides an option from --help: hide it here too.
        if (opt->get_group().empty()) continue;
        OptionDoc o;
        o.positional = opt->get_lnames().empty() && opt->get_snames().empty();
        if (o.positional) {
            o.names.push_back(opt->get_name(true));
        } else {
            for (const auto& s : opt->get_snames())
                o.names.push_back("-" + s);
            for (const auto& l : opt->get_lnames())
                o.names.push_back("--" + l);
        }
        o.takes_value = o.positional || opt->get_expected_max() > 0;  // flags expect 0
        o.repeatable = opt->get_items_expected_max() > 1;
        o.required = opt->get_required();
        o.description = opt->get_description();
        if (o.takes_value) split_type_name(opt->get_type_name(), o);
        if (o.takes_value && opt->get_type_name().empty()) o.value_name = "FILE";  // --config
        o.default_value = opt->get_default_str();
        for (const auto& n : o.names) {
            if (auto it = docs.default_text.find(n); it != docs.default_text.end())
                o.default_value = it->second;
        }
        c.options.push_back(std::move(o));
    }
    for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
        auto sub_path = c.path;
        sub_path.push_back(sub->get_name());
        c.subcommands.push_back(read_command(*sub, std::move(sub_path), docs));
    }
    return c;
}

std::string join(const std::vector<std::string>& v, std::string_view sep) {
    std::string out;
    for (const auto& s : v) {
        if (!out.empty()) out += sep;
        out += s;
    }
    return out;
}

std::string one_line(std::string_view text) {
    std::string s(text);
    for (char& c : s)
        if (c == '\n' || c == '\t') c = ' ';
    return s;
}

// ---- man page --------------------------------------------------------------

// Text for roff: backslashes and hyphens escaped, a leading dot or quote made literal.
std::string roff(std::string_view text) {
    std::string out;
    bool line_start = true;
    for (char c : text) {
        if (line_start && (c == '.' || c == '\'')) out += "\\&";
        if (c == '\\')
            out += "\\e";
        else if (c == '-')
            out += "\\-";
        else
            out += c;
        line_start = c == '\n';
    }
    return out;
}

// Paragraphs split on blank lines; lines indented by two spaces kept as they are.
std::string roff_body(std::string_view text) {
    std::string out;
    bool literal = false;
    std::stringstream lines{std::string(text)};
    for (std::string line; std::getline(lines, line);) {
        const bool is_literal = line.starts_with("  ");
        if (is_literal != literal) out += is_literal ? ".RS\n.nf\n" : ".fi\n.RE\n";
        literal = is_literal;
        if (line.empty()) {
            out += ".PP\n";
        } else {
            out += roff(is_literal ? line.substr(2) : line) + "\n";
        }
    }
    if (literal) out += ".fi\n.RE\n";
    return out;
}

void man_options(std::string& out, const std::vector<OptionDoc>& options) {
    for (const auto& o : options) {
        out += ".TP\n";
        std::string head;
        for (const auto& n : o.names) {
            if (!head.empty()) head += ", ";
            head += o.positional ? "\\fI" + roff(n) + "\\fR" : "\\fB" + roff(n) + "\\fR";
        }
        if (o.takes_value && !o.positional) head += " \\fI" + roff(o.value_name) + "\\fR";
        if (o.repeatable) head += " ...";
        out += head + "\n";
        std::string text = o.description;
        if (!o.choices.empty()) text += " (one of: " + join(o.choices, ", ") + ")";
        if (!text.empty() && text.back() != '.' && (o.required || !o.default_value.empty()))
            text += '.';
        if (o.required) text += " Required.";
        if (!o.default_value.empty()) text += " Default: " + o.default_value + ".";
        out += roff(one_line(text)) + "\n";
    }
}

void man_commands(std::string& out, const std::string& program, const CommandDoc& c) {
    for (const auto& sub : c.subcommands) {
        out += ".SS \"" + roff(program + " " + join(sub.path, " ")) + "\"\n";
        out += roff_body(sub.description);
        if (!sub.options.empty()) out += ".PP\n";
        man_options(out, sub.options);
        man_commands(out, program, sub);
    }
}

// ---- completions -----------------------------------------------------------

void walk(const CommandDoc& c, const std::function<void(const CommandDoc&)>& visit) {
    visit(c);
    for (const auto& s : c.subcommands)
        walk(s, visit);
}

// A shell function name: '-' becomes '_' and "__" joins the command path, so that
// "vm finish-install" and "vm finish install" cannot share a name.
std::string identifier(std::string_view program, const std::vector<std::string>& path) {
    const auto word = [](std::string_view w) {
        std::string out(w);
        for (char& ch : out)
            if (ch == '-') ch = '_';
        return out;
    };
    std::string id = "_" + word(program);
    for (const auto& p : path)
        id += "__" + word(p);
    return id;
}

std::string single_quoted_sh(std::string_view s) {
    std::string out = "'";
    for (char c : s) {
        if (c == '\'')
            out += "'\\''";
        else
            out += c;
    }
    return out + "'";
}

bool is_text_value(const OptionDoc& o) {
    return o.value_name == "TEXT" || o.value_name == "FILE";
}

std::string bash_completion(const CommandDoc& root, std::string_view program) {
    std::string out = "# bash completion for " + std::string(program) +
                      ", generated from its option table (" + std::string(program) +
                      " --print-completion bash)\n";
    const std::string fn = identifier(program, {});
    out += fn + "() {\n";
    out += "    local cur=${COMP_WORDS[COMP_CWORD]} prev=\"\" path=\"\" i\n";
    out += "    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}\n";
    out += "    for ((i = 1; i < COMP_CWORD; i++)); do\n";
    out += "        case \"$path/${COMP_WORDS[i]}\" in\n";
    std::vector<std::string> paths;
    walk(root, [&](const CommandDoc& c) {
        if (!c.path.empty()) paths.push_back("/" + join(c.path, "/"));
    });
    if (!paths.empty()) {
        out += "        " + join(paths, "|") + ") path=\"$path/${COMP_WORDS[i]}\" ;;\n";
    }
    out += "        esac\n    done\n";
    out += "    case \"$path\" in\n";
    walk(root, [&](const CommandDoc& c) {
        out += "    \"" + (c.path.empty() ? std::string() : "/" + join(c.path, "/")) + "\")\n";
        out += "        case \"$prev\" in\n";
        std::vector<std::string> files, words;
        for (const auto& o : c.options) {
            if (o.positional) continue;
            for (const auto& n : o.names)
                words.push_back(n);
            if (!o.takes_value) continue;
            if (!o.choices.empty()) {
                out += "        " + join(o.names, "|") + ") COMPREPLY=($(compgen -W " +
                       single_quoted_sh(join(o.choices, " ")) + " -- \"$cur\")); return ;;\n";
            } else if (is_text_value(o)) {
                files.push_back(join(o.names, "|"));
            } else {
                out += "        " + join(o.names, "|") + ") COMPREPLY=(); return ;;\n";
            }
        }
        if (!files.empty()) {
            out += "        " + join(files, "|") +
                   ") COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n";
        }
        out += "        esac\n";
        for (const auto& s : c.subcommands)
            words.push_back(s.path.back());
        out += "        COMPREPLY=($(compgen -W " + single_quoted_sh(join(words, " ")) +
               " -- \"$cur\")) ;;\n";
    });
    out += "    esac\n}\n";
    out += "complete -F " + fn + " " + std::string(program) + "\n";
    return out;
}

// Inside an _arguments spec's [description]: brackets and backslashes escaped.
std::string zsh_bracketed(std::string_view s) {
    std::string out;
    for (char c : one_line(s)) {
        if (c == '[' || c == ']' || c == '\\') out += '\\';
        out += c;
    }
    return out;
}

std::string zsh_completion(const CommandDoc& root, std::string_view program) {
    std::string out = "#compdef " + std::string(program) + "\n";
    out += "# zsh completion for " + std::string(program) + ", generated from its option table (" +
           std::string(program) + " --print-completion zsh)\n";
    // Children first: zsh needs no declaration order, but it reads top-down.
    walk(root, [&](const CommandDoc& c) {
        out += "\n" + identifier(program, c.path) + "() {\n";
        const bool has_subcommands = !c.subcommands.empty();
        if (has_subcommands) out += "    local curcontext=\"$curcontext\" state line\n";
        out += has_subcommands ? "    _arguments -C -s" : "    _arguments -s";
        std::vector<std::string> specs;
        for (const auto& o : c.options) {
            if (o.positional) {
                specs.push_back(std::string(o.repeatable ? "*" : "") + ":" + o.names.front() +
                                ": ");
                continue;
            }
            for (const auto& n : o.names) {
                std::string one = o.repeatable ? "*" : "";
                one += n;
                if (o.takes_value) one += n.starts_with("--") ? "=" : "+";
                one += "[" + zsh_bracketed(o.description) + "]";
                if (o.takes_value) {
                    one += ":" + o.value_name + ":";
                    if (!o.choices.empty())
                        one += "(" + join(o.choices, " ") + ")";
                    else if (is_text_value(o))
                        one += "_files";
                    else
                        one += " ";
                }
                specs.push_back(one);
            }
        }
        for (const auto& spec : specs)
            out += " \\\n        " + single_quoted_sh(spec);
        if (has_subcommands) {
            out += " \\\n        '1:command:->command' \\\n        '*::argument:->argument'\n";
            out += "    case $state in\n    command)\n        local -a commands=(\n";
            for (const auto& s : c.subcommands) {
                std::string item = s.path.back() + ":";
                for (char ch : one_line(s.description))
                    item += ch == ':' ? std::string("\\:") : std::string(1, ch);
                out += "            " + single_quoted_sh(item) + "\n";
            }
            out += "        )\n        _describe -t commands command commands ;;\n";
            out += "    argument)\n        case $line[1] in\n";
            for (const auto& s : c.subcommands) {
                out += "        " + s.path.back() + ") " + identifier(program, s.path) + " ;;\n";
            }
            out += "        esac ;;\n    esac\n";
        } else {
            out += "\n";
        }
        out += "}\n";
    });
    out += "\n" + identifier(program, {}) + " \"$@\"\n";
    return out;
}

std::string fish_quoted(std::string_view s) {
    std::string out = "'";
    for (char c : one_line(s)) {
        if (c == '\'' || c == '\\') out += '\\';
        out += c;
    }
    return out + "'";
}

std::string fish_completion(const CommandDoc& root, std::string_view program) {
    const std::string p(program);
    std::string out = "# fish completion for " + p + ", generated from its option table (" + p +
                      " --print-completion fish)\n";
    out += "complete -c " + p + " -f\n";
    walk(root, [&](const CommandDoc& c) {
        // Options of the program hold everywhere (porthole-vfio's fall through);
        // a subcommand's once its whole path is on the line.
        std::string here;
        for (const auto& part : c.path)
            here +=
                (here.empty() ? "" : "; and ") + std::string("__fish_seen_subcommand_from ") + part;
        std::vector<std::string> children;
        for (const auto& s : c.subcommands)
            children.push_back(s.path.back());
        for (const auto& s : c.subcommands) {
            std::string cond = here.empty() ? "__fish_use_subcommand"
                                            : here + "; and not __fish_seen_subcommand_from " +
                                                  join(children, " ");
            out += "complete -c " + p + " -n " + fish_quoted(cond) + " -a " + s.path.back() +
                   " -d " + fish_quoted(s.description) + "\n";
        }
        for (const auto& o : c.options) {
            if (o.positional) continue;
            std::string line = "complete -c " + p;
            if (!here.empty()) line += " -n " + fish_quoted(here);
            for (const auto& n : o.names)
                line += n.starts_with("--") ? " -l " + n.substr(2) : " -s " + n.substr(1);
            if (o.takes_value) {
                if (!o.choices.empty())
                    line += " -x -a " + fish_quoted(join(o.choices, " "));
                else if (is_text_value(o))
                    line += " -r -F";
                else
                    line += " -x";
            }
            out += line + " -d " + fish_quoted(o.description) + "\n";
        }
    });
    return out;
}

}  // namespace

std::string man_page(const CLI::App& app, const ProgramDocs& docs) {
    const CommandDoc root = read_command(app, {}, docs);
    std::string upper;
    for (char c : docs.name)
        upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    std::string out = ".\\\" Generated from " + docs.name +
                      "'s option table (--print-man): edit the program, not this file.\n";
    out += ".TH " + roff(upper) + " " + std::to_string(docs.section) + " \"\" \"Porthole\" \"" +
           (docs.section == 8 ? "System Administration" : "User Commands") + "\"\n";
    out += ".SH NAME\n" + roff(docs.name) + " \\- " + roff(docs.summary) + "\n";
    out += ".SH SYNOPSIS\n.B " + roff(docs.name) + "\n";
    out += root.subcommands.empty()
               ? "[\\fIOPTIONS\\fR]\n"
               : "[\\fIOPTIONS\\fR] \\fICOMMAND\\fR [\\fICOMMAND OPTIONS\\fR]\n";
    out += ".SH DESCRIPTION\n" + roff_body(root.description);
    out += ".SH OPTIONS\n";
    man_options(out, root.options);
    if (!root.subcommands.empty()) {
        out += ".SH COMMANDS\n";
        man_commands(out, docs.name, root);
    }
    for (const auto& s : docs.sections) {
        out += ".SH \"" + roff(s.title) + "\"\n" + roff_body(s.body);
    }
    return out;
}

std::optional<std::string> completion(const CLI::App& app, std::string_view shell,
                                      std::string_view program) {
    const CommandDoc root = read_command(app, {}, ProgramDocs{});
    if (shell == "bash") return bash_completion(root, program);
    if (shell == "zsh") return zsh_completion(root, program);
    if (shell == "fish") return fish_completion(root, program);
    return std::nullopt;
}

std::optional<int> print_docs_if_asked(const CLI::App& app, std::span<const std::string> args,
                                       const ProgramDocs& docs, std::ostream& out,
                                       std::ostream& err) {
    if (args.size() == 1 && args[0] == "--print-man") {
        out << man_page(app, docs);
        return 0;
    }
    if (args.size() == 2 && args[0] == "--print-completion") {
        auto text = completion(app, args[1], docs.name);
        if (!text) {
            err << "--print-completion: bash, zsh or fish, not '" << args[1] << "'\n";
            return 2;
        }
        out << *text;
        return 0;
    }
    return std::nullopt;
}

std::optional<int> print_docs_if_asked(const CLI::App& app, int argc, const char* const* argv,
                                       const ProgramDocs& docs) {
    std::vector<std::string> args;
    for (int i = 1; i < argc; ++i)
        args.emplace_back(argv[i]);
    return print_docs_if_asked(app, args, docs, std::cout, std::cerr);
}

}  // namespace porthole::packaging
