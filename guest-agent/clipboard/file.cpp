#include "clipboard/file.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <system_error>
#include <thread>

namespace porthole::agent::clipboard {
namespace {

namespace fs = std::filesystem;

class FileClipboard final : public ClipboardBackend {
  public:
    explicit FileClipboard(std::string path) : path_(std::move(path)) {}

    [[nodiscard]] std::string_view name() const override { return "file"; }

    Status set_text(std::string text) override {
        // Written beside it and renamed: a reader never sees half a text.
        const std::string tmp = path_ + ".porthole-tmp";
        {
            std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
            out.write(text.data(), static_cast<std::streamsize>(text.size()));
            out.close();
            if (!out) {
                std::error_code ignored;
                fs::remove(tmp, ignored);  // a full disk leaves no half text beside it
                return Error::make("clipboard: cannot write " + tmp);
            }
        }
        std::error_code ec;
        fs::rename(tmp, path_, ec);
        if (ec) {
            std::error_code ignored;
            fs::remove(tmp, ignored);
            return Error::make("clipboard: cannot replace " + path_ + ": " + ec.message());
        }
        last_ = std::move(text);  // its own text is never offered back
        return {};
    }

    std::optional<std::string> wait(std::chrono::milliseconds timeout) override {
        std::this_thread::sleep_for(timeout);
        std::error_code ec;
        const auto stamp = fs::last_write_time(path_, ec);
        if (ec) return std::nullopt;  // no file (yet): nothing copied
        const auto size = fs::file_size(path_, ec);
        if (ec || (seen_ && stamp == stamp_ && size == size_)) return std::nullopt;
        seen_ = true;
        stamp_ = stamp;
        size_ = size;
        if (size > kFileClipboardMax) {
            spdlog::warn("clipboard: {} holds {} bytes, over {}: not offered", path_, size,
                         kFileClipboardMax);
            return std::nullopt;
        }
        std::ifstream in(path_, std::ios::binary);
        std::string text(static_cast<std::size_t>(size), '\0');
        in.read(text.data(), static_cast<std::streamsize>(size));
        text.resize(static_cast<std::size_t>(in.gcount()));
        if (text == last_) return std::nullopt;
        last_ = text;
        return text;
    }

  private:
    std::string path_;
    std::string last_;  // the text last set or offered
    bool seen_ = false;
    fs::file_time_type stamp_{};
    std::uintmax_t size_ = 0;
};

}  // namespace

std::unique_ptr<ClipboardBackend> make_file_clipboard(std::string path) {
    return std::make_unique<FileClipboard>(std::move(path));
}

}  // namespace porthole::agent::clipboard
