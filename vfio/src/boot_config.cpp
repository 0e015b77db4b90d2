#include "porthole/vfio/boot_config.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace porthole::vfio {

namespace {

bool is_space(char c) {
    return std::isspace(static_cast<unsigned char>(c)) != 0;
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
    std::string out;
    for (const auto& s : v)
        out += (out.empty() ? "" : sep) + s;
    return out;
}

// " flag1 flag2": what is inserted after existing words.
std::string spaced(const std::vector<std::string>& flags) {
    std::string out;
    for (const auto& f : flags) {
        out += ' ';
        out += f;
    }
    return out;
}

// Parameter name as the kernel compares it: '-' and '_' are the same.
std::string param_key(std::string_view word) {
    std::string key(word.substr(0, word.find('=')));
    std::replace(key.begin(), key.end(), '-', '_');
    return key;
}

std::optional<std::string> param_value(std::string_view word) {
    auto eq = word.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    std::string v(word.substr(eq + 1));
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    return v;
}

// Parameters that may rightly appear several times with different values.
bool repeatable(const std::string& key) {
    return key == "video" || key == "initcall_blacklist" || key == "console" ||
           key == "hugepagesz" || key == "hugepages";
}

// Index just past the last non-blank byte of [begin, end) in `text`, or npos.
size_t end_of_content(std::string_view text, size_t begin, size_t end) {
    size_t p = end;
    while (p > begin && is_space(text[p - 1]))
        --p;
    return p == begin ? std::string_view::npos : p;
}

struct Line {
    size_t begin = 0;
    size_t end = 0;  // without the newline
};

std::vector<Line> lines_of(std::string_view text) {
    std::vector<Line> out;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        size_t end = nl == std::string_view::npos ? text.size() : nl;
        out.push_back({pos, end});
        pos = end + 1;
    }
    return out;
}

// The key of a loader entry line ("options", "linux", ...), empty for comments.
std::string_view entry_key(std::string_view line) {
    size_t b = 0;
    while (b < line.size() && is_space(line[b]))
        ++b;
    if (b < line.size() && line[b] == '#') return {};
    size_t e = b;
    while (e < line.size() && !is_space(line[e]))
        ++e;
    return line.substr(b, e - b);
}

Result<std::vector<ShellScan>> rescan(const std::vector<BootFile>& files, ShellEnv& env) {
    std::vector<ShellScan> scans;
    for (const auto& f : files) {
        auto scan = scan_shell(f.text, env);
        if (!scan) {
            return Error::make(
                fmt::format("cannot read {} as the shell does: {}", f.path, scan.error().message));
        }
        scans.push_back(std::move(*scan));
    }
    return scans;
}

Status check_certain(const GrubDefaults& grub, std::string_view name) {
    for (size_t i = 0; i < grub.files.size(); ++i) {
        if (grub.scans[i].sources_files || shell_value_uncertain(grub.scans[i], ShellEnv{}, name)) {
            return Error::make(fmt::format(
                "{} changes {} through a command, a condition or another sourced file, so its "
                "value at boot cannot be told without running it: add the flags by hand",
                grub.files[i].path, name));
        }
        for (const auto& a : grub.scans[i].assignments) {
            if (a.name == name && a.conditional) {
                return Error::make(
                    fmt::format("{} sets {} inside a condition or loop: add the flags by hand",
                                grub.files[i].path, name));
            }
        }
    }
    auto it = grub.env.find(name);
    if (it != grub.env.end() && !it->second) {
        return Error::make(fmt::format(
            "{}'s value comes from a command ($(...) or `...`) in the GRUB defaults: add the "
            "flags by hand",
            name));
    }
    return {};
}

}  // namespace

std::vector<std::string> kernel_cmdline_words(std::string_view text) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && is_space(text[i]))
            ++i;
        if (i >= text.size()) break;
        size_t b = i;
        bool quoted = false;
        while (i < text.size() && (quoted || !is_space(text[i]))) {
            if (text[i] == '"') quoted = !quoted;
            ++i;
        }
        out.emplace_back(text.substr(b, i - b));
    }
    return out;
}

bool kernel_flag_present(const std::vector<std::string>& words, std::string_view flag) {
    const std::string key = param_key(flag);
    const auto want = param_value(flag);
    for (const auto& w : words) {
        if (w == flag) return true;
        if (param_key(w) != key) continue;
        auto have = param_value(w);
        if (!want) return true;
        if (!have) continue;
        auto have_list = split(*have, ",");
        auto want_list = split(*want, ",");
        if (std::all_of(want_list.begin(), want_list.end(), [&](const std::string& v) {
                return std::find(have_list.begin(), have_list.end(), v) != have_list.end();
            })) {
            return true;
        }
    }
    return false;
}

std::vector<std::string> kernel_flag_conflicts(const std::vector<std::string>& words,
                                               std::string_view flag) {
    std::vector<std::string> out;
    const std::string key = param_key(flag);
    if (repeatable(key) || kernel_flag_present(words, flag)) return out;
    for (const auto& w : words) {
        if (param_key(w) == key) out.push_back(w);
    }
    return out;
}

Result<GrubDefaults> read_grub_defaults(const System& sys) {
    GrubDefaults g;
    std::vector<std::string> paths = {kGrubDefault};
    for (const auto& name : sys.list("/etc/default/grub.d")) {
        if (name.size() > 4 && name.ends_with(".cfg"))
            paths.push_back("/etc/default/grub.d/" + name);
    }
    for (const auto& path : paths) {
        auto text = sys.read_if_exists(path);
        if (!text) {
            return Error::make(
                text.error().message +
                    ": the boot configuration cannot be checked; nothing was written",
                text.error().code);
        }
        if (*text) g.files.push_back({path, std::move(**text)});
    }
    auto scans = rescan(g.files, g.env);
    if (!scans) return scans.error();
    g.scans = std::move(*scans);
    return g;
}

Result<std::vector<std::string>> grub_kernel_words(const GrubDefaults& grub) {
    std::vector<std::string> words;
    for (const char* name : {kGrubCmdline, kGrubCmdlineDefault}) {
        if (auto s = check_certain(grub, name); !s) return s.error();
        auto it = grub.env.find(name);
        if (it == grub.env.end()) continue;
        auto w = kernel_cmdline_words(*it->second);
        words.insert(words.end(), w.begin(), w.end());
    }
    return words;
}

Result<BootFile> grub_add_flags(const GrubDefaults& grub, const std::vector<std::string>& flags) {
    if (auto s = check_certain(grub, kGrubCmdlineDefault); !s) return s.error();
    std::optional<std::pair<size_t, const ShellAssignment*>> last;
    for (size_t f = 0; f < grub.files.size(); ++f) {
        for (const auto& a : grub.scans[f].assignments) {
            if (a.name == kGrubCmdlineDefault) last = {f, &a};
        }
    }
    std::vector<BootFile> files = grub.files;
    std::string old_value;
    size_t changed = 0;
    if (last) {
        changed = last->first;
        old_value = last->second->value.value.value_or("");
        auto text = append_to_assignment(files[changed].text, *last->second, old_value, flags);
        if (!text) return text.error();
        files[changed].text = std::move(*text);
    } else {
        auto main = std::find_if(files.begin(), files.end(),
                                 [](const BootFile& f) { return f.path == kGrubDefault; });
        if (main == files.end()) return Error::make("no /etc/default/grub to add the flags to");
        changed = static_cast<size_t>(main - files.begin());
        if (!main->text.empty() && main->text.back() != '\n') main->text += '\n';
        main->text += fmt::format("{}=\"{}\"\n", kGrubCmdlineDefault, join(flags, " "));
    }

    // The result must source to exactly the old value plus the flags, and change nothing else.
    ShellEnv env;
    auto scans = rescan(files, env);
    if (!scans) return scans.error();
    const std::string sep = old_value.empty() || is_space(old_value.back()) ? "" : " ";
    const std::string expected = old_value + sep + join(flags, " ");
    auto got = env.find(kGrubCmdlineDefault);
    ShellEnv before = grub.env, after = env;
    before.erase(kGrubCmdlineDefault);
    after.erase(kGrubCmdlineDefault);
    if (got == env.end() || got->second != expected || before != after) {
        return Error::make(
            fmt::format("editing {} would not give {}=\"{}\" when the shell reads it (another line "
                        "depends on it): add the flags by hand",
                        files[changed].path, kGrubCmdlineDefault, expected));
    }
    return files[changed];
}

std::string append_to_cmdline_text(std::string_view text, const std::vector<std::string>& flags) {
    std::string out(text);
    size_t end = end_of_content(text, 0, text.size());
    if (end == std::string_view::npos) return join(flags, " ") + "\n";
    out.insert(end, spaced(flags));
    return out;
}

std::vector<std::string> loader_entry_words(std::string_view entry) {
    std::vector<std::string> words;
    for (const auto& l : lines_of(entry)) {
        std::string_view line = entry.substr(l.begin, l.end - l.begin);
        std::string_view key = entry_key(line);
        if (key != "options") continue;
        auto w = kernel_cmdline_words(line.substr(line.find(key) + key.size()));
        words.insert(words.end(), w.begin(), w.end());
    }
    return words;
}

bool loader_entry_is_linux(std::string_view entry) {
    for (const auto& l : lines_of(entry)) {
        if (entry_key(entry.substr(l.begin, l.end - l.begin)) == "linux") return true;
    }
    return false;
}

std::string loader_entry_add_flags(std::string_view entry, const std::vector<std::string>& flags) {
    std::optional<Line> last;
    for (const auto& l : lines_of(entry)) {
        if (entry_key(entry.substr(l.begin, l.end - l.begin)) == "options") last = l;
    }
    std::string out(entry);
    if (last) {
        size_t end = end_of_content(entry, last->begin, last->end);
        out.insert(end, spaced(flags));
        return out;
    }
    if (!out.empty() && out.back() != '\n') out += '\n';
    return out + "options " + join(flags, " ") + "\n";
}

std::optional<std::string> loader_entries_dir(const System& sys) {
    for (const char* dir :
         {"/boot/loader/entries", "/efi/loader/entries", "/boot/efi/loader/entries"}) {
        auto names = sys.list(dir);
        if (std::any_of(names.begin(), names.end(),
                        [](const std::string& n) { return n.ends_with(".conf"); })) {
            return std::string(dir);
        }
    }
    return std::nullopt;
}

}  // namespace porthole::vfio
