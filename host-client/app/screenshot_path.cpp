#include "app/screenshot_path.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>

namespace porthole::client {

namespace {

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr ? std::string(v) : std::string();
}

bool exists(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

// mkdir -p, mode 0755 as xdg-user-dirs-update makes them.
Status make_dirs(const std::string& dir) {
    for (std::size_t at = 1; at <= dir.size(); ++at) {
        if (at != dir.size() && dir[at] != '/') continue;
        const std::string part = dir.substr(0, at);
        if (::mkdir(part.c_str(), 0755) != 0 && errno != EEXIST)
            return Error::make("cannot create " + part + ": " + std::strerror(errno), errno);
    }
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        return Error::make(dir + " is not a folder");
    return {};
}

}  // namespace

std::string pictures_dir_from_user_dirs(const std::string& text, const std::string& home) {
    std::istringstream in(text);
    std::string found;
    for (std::string line; std::getline(in, line);) {
        std::string_view l = line;
        while (!l.empty() && (l.front() == ' ' || l.front() == '\t'))
            l.remove_prefix(1);
        constexpr std::string_view key = "XDG_PICTURES_DIR=";
        if (!l.starts_with(key)) continue;
        l.remove_prefix(key.size());
        // The format: "$HOME/path" or "/absolute/path", in double quotes.
        if (l.size() < 2 || l.front() != '"') continue;
        std::string value;
        bool closed = false;
        for (std::size_t i = 1; i < l.size() && !closed; ++i) {
            if (l[i] == '"') {
                closed = true;
            } else {
                if (l[i] == '\\' && i + 1 < l.size()) ++i;  // \" and \\ as the shell reads them
                value += l[i];
            }
        }
        if (!closed) continue;
        if (value.starts_with("$HOME")) {
            const auto rest = value.substr(5);
            if (!rest.empty() && rest.front() != '/') continue;
            value = home + rest;
        } else if (!value.starts_with("/")) {
            continue;  // relative paths are not allowed
        }
        found = value;  // the last one wins, as when the shell sources the file
    }
    return found;
}

std::string pictures_dir() {
    const std::string home = env("HOME");
    std::string config = env("XDG_CONFIG_HOME");
    if (config.empty()) config = home + "/.config";
    std::ifstream f(config + "/user-dirs.dirs");
    if (f) {
        std::stringstream ss;
        ss << f.rdbuf();
        if (auto dir = pictures_dir_from_user_dirs(ss.str(), home); !dir.empty()) return dir;
    }
    if (auto dir = env("XDG_PICTURES_DIR"); !dir.empty()) return dir;
    return (home.empty() ? std::string(".") : home) + "/Pictures";
}

std::string screenshot_name(std::time_t t) {
    std::tm tm{};
    ::localtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "porthole-%Y-%m-%d-%H%M%S", &tm);
    return std::string(buf) + ".png";
}

Result<std::string> new_screenshot_path(const std::string& dir, std::time_t t) {
    if (auto made = make_dirs(dir); !made) return Error{made.error()};
    const std::string name = screenshot_name(t);
    const std::string stem = dir + "/" + name.substr(0, name.size() - 4);
    std::string path = stem + ".png";
    for (int n = 2; exists(path); ++n) {
        if (n > 1000) return Error::make("too many screenshots named " + stem + "-N.png");
        path = stem + "-" + std::to_string(n) + ".png";
    }
    return path;
}

}  // namespace porthole::client
