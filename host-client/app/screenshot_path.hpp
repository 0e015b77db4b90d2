#pragma once
// Where the screenshot key saves: $XDG_PICTURES_DIR as the user's
// user-dirs.dirs sets it (what xdg-user-dir reads), else the environment's,
// else ~/Pictures; the name carries the local time, never an existing file's.

#include <ctime>
#include <string>

#include "porthole/util/result.hpp"

namespace porthole::client {

// The pictures folder for this environment (not created).
std::string pictures_dir();

// XDG_PICTURES_DIR from the text of a user-dirs.dirs file ("$HOME/Pictures"
// expanded with `home`); empty when the file does not set it.
std::string pictures_dir_from_user_dirs(const std::string& text, const std::string& home);

// "porthole-2026-12-05-091502.png" for `t` in local time.
std::string screenshot_name(std::time_t t);

// A path in `dir` (created with its parents) for a screenshot taken at `t`
// that names no existing file ("-2", "-3" added when one does).
Result<std::string> new_screenshot_path(const std::string& dir, std::time_t t);

}  // namespace porthole::client
