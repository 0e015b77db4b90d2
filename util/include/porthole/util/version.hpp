#pragma once
// The release every program reports (--version, the agent's session name, the
// packages): the project version from CMake and the git revision it was built
// from, generated at build time (cmake/write_version.cmake).

#include <string>
#include <string_view>

namespace porthole {

// "0.1.0": CMake's project(VERSION).
std::string_view project_version();
// "1a2b3c4d5e6f", with "-dirty" when tracked files differed from that commit;
// empty when the source was not a git checkout (a tarball) and no
// PORTHOLE_GIT_REVISION was given.
std::string_view git_revision();

// "porthole-vfio 0.1.0 (git 1a2b3c4d5e6f)", or "porthole-vfio 0.1.0" without a revision.
inline std::string version_line(std::string_view program) {
    std::string line(program);
    line += ' ';
    line += project_version();
    if (!git_revision().empty()) {
        line += " (git ";
        line += git_revision();
        line += ')';
    }
    return line;
}

}  // namespace porthole
