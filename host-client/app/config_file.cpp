#include "app/config_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <toml++/toml.h>
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "porthole/util/text.hpp"
#include "porthole/util/unique_fd.hpp"

namespace porthole::client {

namespace {

// A config file is a few dozen lines: anything larger is not one.
constexpr std::size_t kMaxConfigBytes = 1 << 20;

Error at(const std::string& path, std::uint32_t line, const std::string& what) {
    return Error::make(fmt::format("{}:{}: {}", path, line, what));
}

// toml++ reads `scale = integer` as a float gone wrong ("expected 'inf'"):
// the usual slip is a missing pair of quotes, so say that when the line shows it.
std::string bare_word_hint(std::string_view text, std::uint32_t line) {
    std::size_t begin = 0;
    for (std::uint32_t l = 1; l < line && begin != std::string_view::npos; ++l) {
        begin = text.find('\n', begin);
        if (begin != std::string_view::npos) ++begin;
    }
    if (begin == std::string_view::npos) return {};
    const auto end = text.find('\n', begin);
    const std::string_view row =
        text.substr(begin, end == std::string_view::npos ? std::string_view::npos : end - begin);
    const auto eq = row.find('=');
    if (eq == std::string_view::npos) return {};
    const std::string_view key = trim_blanks(row.substr(0, eq));
    std::string_view value = trim_blanks(row.substr(eq + 1));
    if (const auto hash = value.find('#'); hash != std::string_view::npos)
        value = trim_blanks(value.substr(0, hash));
    const bool word = !value.empty() && std::all_of(value.begin(), value.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_' || c == '/' || c == '.' || c == '+' || c == ':';
    });
    const bool letter = !value.empty() && ((value[0] >= 'a' && value[0] <= 'z') ||
                                           (value[0] >= 'A' && value[0] <= 'Z') || value[0] == '/');
    if (!word || !letter) return {};
    return fmt::format(" (text needs quotes: {} = \"{}\")", key, value);
}

// One scalar TOML value as the text the command line would carry.
std::optional<std::string> scalar_text(const toml::node& v) {
    if (const auto* s = v.as_string()) return s->get();
    if (const auto* i = v.as_integer()) return std::to_string(i->get());
    if (const auto* f = v.as_floating_point()) return fmt::format("{}", f->get());
    if (const auto* b = v.as_boolean()) return b->get() ? "true" : "false";
    return std::nullopt;
}

}  // namespace

std::string ConfigFile::where(const ConfigEntry& e) const {
    return fmt::format("{}:{}", path, e.line);
}

Result<ConfigFile> parse_config_text(std::string_view text, const std::string& path) {
    toml::table table;
    try {
        table = toml::parse(text, std::string_view(path));
    } catch (const toml::parse_error& e) {
        const auto line = static_cast<std::uint32_t>(e.source().begin.line);
        return Error::make(fmt::format("{}:{}:{}: {}{}", path, line, e.source().begin.column,
                                       e.description(), bare_word_hint(text, line)));
    }
    ConfigFile file;
    file.path = path;
    for (auto&& [k, v] : table) {
        ConfigEntry e;
        e.key = std::string(k.str());
        e.line = static_cast<std::uint32_t>(k.source().begin.line);
        if (v.is_table()) {
            return at(path, e.line,
                      fmt::format("'{}' is a table: porthole.conf has no [sections] or dotted "
                                  "keys, only `option = value` lines (scale = \"integer\")",
                                  e.key));
        }
        if (const auto* arr = v.as_array()) {
            e.kind = ConfigEntry::Kind::array;
            for (const auto& item : *arr) {
                auto t = scalar_text(item);
                if (!t || item.is_boolean()) {
                    return at(path, e.line,
                              fmt::format("'{}' holds a list of lists, tables, dates or "
                                          "true/false: a list holds text or numbers",
                                          e.key));
                }
                e.values.push_back(std::move(*t));
            }
        } else if (auto t = scalar_text(v)) {
            e.kind = v.is_boolean() ? ConfigEntry::Kind::boolean : ConfigEntry::Kind::scalar;
            e.values.push_back(std::move(*t));
        } else {
            return at(path, e.line,
                      fmt::format("'{}' is a date or time: no option takes one", e.key));
        }
        file.entries.push_back(std::move(e));
    }
    // toml++ keeps keys sorted: the file's order reads better in errors and logs.
    std::stable_sort(file.entries.begin(), file.entries.end(),
                     [](const ConfigEntry& a, const ConfigEntry& b) { return a.line < b.line; });
    return file;
}

Result<std::optional<ConfigFile>> read_config_file(const std::string& path) {
    // Without blocking: a FIFO (or a device) there would hang start-up.
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
    if (!fd) {
        const int err = errno;
        if (err == ENOENT) return std::optional<ConfigFile>{};
        return Error::make(fmt::format("cannot read config file {}: {}", path, std::strerror(err)),
                           err);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
        return Error::make("config file " + path +
                           " is not a regular file (a FIFO, device or folder?)");
    }
    if (static_cast<std::uint64_t>(st.st_size) > kMaxConfigBytes) {
        return Error::make(
            fmt::format("config file {} holds {} bytes: a config file is a few "
                        "lines of `option = value` (at most {} bytes)",
                        path, st.st_size, kMaxConfigBytes));
    }
    std::string text;
    char buf[8192];
    for (;;) {
        const ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const int err = errno;
            return Error::make(
                fmt::format("cannot read config file {}: {}", path, std::strerror(err)), err);
        }
        if (n == 0) break;
        text.append(buf, static_cast<std::size_t>(n));
        if (text.size() > kMaxConfigBytes)
            return Error::make("config file " + path + " grew past " +
                               std::to_string(kMaxConfigBytes) + " bytes while read");
    }
    auto parsed = parse_config_text(text, path);
    if (!parsed) return parsed.error();
    return std::optional<ConfigFile>(std::move(*parsed));
}

std::string closest_name(std::string_view name, std::span<const std::string> names) {
    // Levenshtein distance, with a swap of neighbours counted as one edit ("scael").
    const auto distance = [](std::string_view a, std::string_view b) {
        std::vector<std::vector<std::size_t>> d(a.size() + 1,
                                                std::vector<std::size_t>(b.size() + 1));
        for (std::size_t i = 0; i <= a.size(); ++i)
            d[i][0] = i;
        for (std::size_t j = 0; j <= b.size(); ++j)
            d[0][j] = j;
        for (std::size_t i = 1; i <= a.size(); ++i) {
            for (std::size_t j = 1; j <= b.size(); ++j) {
                const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                    d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
            }
        }
        return d[a.size()][b.size()];
    };
    std::string best;
    std::size_t best_d = SIZE_MAX;
    for (const auto& n : names) {
        const std::size_t dist = distance(name, n);
        if (dist < best_d) {
            best_d = dist;
            best = n;
        }
    }
    // A third of the name, at least one edit: "scael" finds "scale", "colour" nothing.
    const std::size_t limit = std::max<std::size_t>(1, name.size() / 3);
    return best_d <= limit ? best : std::string{};
}

}  // namespace porthole::client
