#pragma once
// Fixture machines for the tests: a private, writable copy of a tree under
// tests/fixtures/vfio (symlinks kept), removed when the test ends.

#include <filesystem>
#include <string>

#include "porthole/vfio/system.hpp"

namespace porthole::vfio::testing {

namespace fs = std::filesystem;

[[nodiscard]] fs::path fixtures_dir();  // tests/fixtures/vfio in the source tree

class FixtureCopy {
  public:
    explicit FixtureCopy(const std::string& machine);
    ~FixtureCopy();
    FixtureCopy(const FixtureCopy&) = delete;
    FixtureCopy& operator=(const FixtureCopy&) = delete;

    [[nodiscard]] const fs::path& dir() const { return dir_; }
    [[nodiscard]] Roots roots() const { return {dir_ / "sys", dir_ / "proc", dir_ / "root"}; }
    // The CLI flags that point at this copy.
    [[nodiscard]] std::vector<std::string> root_args() const;
    [[nodiscard]] std::string read(const std::string& relative) const;
    void write(const std::string& relative, const std::string& content) const;

  private:
    fs::path dir_;
};

// Compares with tests/fixtures/vfio/golden/<name>; PORTHOLE_UPDATE_GOLDEN=1 rewrites it.
// Returns an empty string on match, else what differs.
[[nodiscard]] std::string compare_golden(const std::string& name, const std::string& actual);

}  // namespace porthole::vfio::testing
