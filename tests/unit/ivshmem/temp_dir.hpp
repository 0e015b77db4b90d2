#pragma once
// A private directory under the system temp dir, removed with its contents.

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace porthole::test {

class ScratchDir {
  public:
    ScratchDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "porthole-ivshmem-XXXXXX");
        path_ = ::mkdtemp(tmpl.data());
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    ~ScratchDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    [[nodiscard]] std::string file(const std::string& name) const {
        return (path_ / name).string();
    }
    // Writes `size` zero bytes (or `text`) to `name`, creating its directories.
    std::string write(const std::string& name, std::size_t size) const {
        const auto p = path_ / name;
        std::filesystem::create_directories(p.parent_path());
        std::ofstream(p, std::ios::binary).close();
        std::filesystem::resize_file(p, size);
        return p.string();
    }
    std::string write_text(const std::string& name, const std::string& text) const {
        const auto p = path_ / name;
        std::filesystem::create_directories(p.parent_path());
        std::ofstream(p) << text;
        return p.string();
    }

  private:
    std::filesystem::path path_;
};

}  // namespace porthole::test
