// The agent's file clipboard (guests with no desktop): the host's text is
// written whole, never offered back; a text written there is offered once.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "clipboard/backend.hpp"
#include "clipboard/file.hpp"

namespace {

using porthole::agent::clipboard::ClipboardBackend;
using porthole::agent::clipboard::make_clipboard;
using namespace std::chrono_literals;

class FileClipboard : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/porthole-file-clipboard-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        path_ = dir_ + "/clipboard";
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    void write(const std::string& text) const {
        std::ofstream(path_, std::ios::binary | std::ios::trunc) << text;
    }
    [[nodiscard]] std::string read() const {
        std::ifstream in(path_, std::ios::binary);
        std::stringstream s;
        s << in.rdbuf();
        return s.str();
    }
    // The first text the backend offers within 2 s.
    static std::optional<std::string> next_copy(ClipboardBackend& b) {
        for (int i = 0; i < 100; ++i)
            if (auto t = b.wait(20ms)) return t;
        return std::nullopt;
    }
    std::string dir_, path_;
};

TEST_F(FileClipboard, HostTextIsWrittenWholeAndNeverOfferedBack) {
    auto b = make_clipboard("file", "", path_);
    ASSERT_TRUE(b && *b);
    EXPECT_EQ((*b)->name(), "file");
    EXPECT_EQ((*b)->wait(10ms), std::nullopt);  // no file yet: nothing copied
    ASSERT_TRUE((*b)->set_text("from the host \xC3\xA9\nline 2"));
    EXPECT_EQ(read(), "from the host \xC3\xA9\nline 2");
    for (int i = 0; i < 5; ++i)
        EXPECT_EQ((*b)->wait(20ms), std::nullopt);
    EXPECT_FALSE(std::filesystem::exists(path_ + ".porthole-tmp"));
}

TEST_F(FileClipboard, TextWrittenThereIsOfferedOnceEachTime) {
    write("there before the agent");
    auto b = make_clipboard("file", "", path_);
    ASSERT_TRUE(b && *b);
    EXPECT_EQ(next_copy(**b), "there before the agent");
    EXPECT_EQ((*b)->wait(20ms), std::nullopt);
    write("guest copy 2");
    EXPECT_EQ(next_copy(**b), "guest copy 2");
    ASSERT_TRUE((*b)->set_text("host again"));
    EXPECT_EQ((*b)->wait(20ms), std::nullopt);
    write("guest copy 3");
    EXPECT_EQ(next_copy(**b), "guest copy 3");
}

TEST_F(FileClipboard, NeedsItsPathAndRefusesAnOversizeFile) {
    auto none = make_clipboard("file", "");
    ASSERT_FALSE(none);
    EXPECT_NE(none.error().message.find("--clipboard-file"), std::string::npos);
    write(std::string(porthole::agent::clipboard::kFileClipboardMax + 1, 'x'));
    auto b = make_clipboard("file", "", path_);
    ASSERT_TRUE(b && *b);
    EXPECT_EQ(next_copy(**b), std::nullopt);
}

}  // namespace
