#include "fixture.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace porthole::vfio::testing {

fs::path fixtures_dir() {
    return PORTHOLE_VFIO_FIXTURES;
}

namespace {

// Copies of hundreds of small files are slow on some disks: prefer tmpfs unless TMPDIR is set.
fs::path scratch_base() {
    if (std::getenv("TMPDIR") == nullptr && ::access("/dev/shm", W_OK) == 0) return "/dev/shm";
    return fs::temp_directory_path();
}

}  // namespace

FixtureCopy::FixtureCopy(const std::string& machine) {
    std::random_device rd;
    dir_ = scratch_base() / ("porthole-vfio-" + machine + "-" + std::to_string(::getpid()) + "-" +
                             std::to_string(rd()));
    fs::create_directories(dir_);
    fs::copy(fixtures_dir() / machine, dir_,
             fs::copy_options::recursive | fs::copy_options::copy_symlinks);
}

FixtureCopy::~FixtureCopy() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
}

std::vector<std::string> FixtureCopy::root_args() const {
    return {"--sysfs-root", (dir_ / "sys").string(), "--proc-root", (dir_ / "proc").string(),
            "--root",       (dir_ / "root").string()};
}

std::string FixtureCopy::read(const std::string& relative) const {
    std::ifstream in(dir_ / relative, std::ios::binary);
    if (!in) throw std::runtime_error("fixture file missing: " + relative);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void FixtureCopy::write(const std::string& relative, const std::string& content) const {
    fs::create_directories((dir_ / relative).parent_path());
    std::ofstream out(dir_ / relative, std::ios::binary | std::ios::trunc);
    out << content;
}

std::string compare_golden(const std::string& name, const std::string& actual) {
    fs::path path = fixtures_dir() / "golden" / name;
    const char* update = std::getenv("PORTHOLE_UPDATE_GOLDEN");
    if (update && std::string(update) == "1") {
        fs::create_directories(path.parent_path());
        std::ofstream(path, std::ios::binary | std::ios::trunc) << actual;
        return {};
    }
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return "golden file missing: " + path.string() + " (run with PORTHOLE_UPDATE_GOLDEN=1)";
    std::ostringstream s;
    s << in.rdbuf();
    if (s.str() == actual) return {};
    return "output differs from " + path.string() + ":\n--- expected\n" + s.str() +
           "\n--- actual\n" + actual;
}

}  // namespace porthole::vfio::testing
