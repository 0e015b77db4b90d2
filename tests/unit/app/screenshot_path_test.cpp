#include "app/screenshot_path.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

namespace porthole::client {
namespace {

namespace fs = std::filesystem;

TEST(ScreenshotPath, UserDirsFileSetsThePicturesFolderAsXdgUserDirReadsIt) {
    const std::string text =
        "# This file is written by xdg-user-dirs-update\n"
        "XDG_DESKTOP_DIR=\"$HOME/Desktop\"\n"
        "XDG_PICTURES_DIR=\"$HOME/Bilder\"\n";
    EXPECT_EQ(pictures_dir_from_user_dirs(text, "/home/ann"), "/home/ann/Bilder");
    EXPECT_EQ(pictures_dir_from_user_dirs("XDG_PICTURES_DIR=\"/srv/shots\"\n", "/home/ann"),
              "/srv/shots");
    EXPECT_EQ(pictures_dir_from_user_dirs("XDG_PICTURES_DIR=\"$HOME/My \\\"Pics\\\"\"\n", "/h"),
              "/h/My \"Pics\"");
    // Not set, relative, or $HOMEFOO: the file says nothing usable.
    EXPECT_EQ(pictures_dir_from_user_dirs("XDG_MUSIC_DIR=\"$HOME/Music\"\n", "/h"), "");
    EXPECT_EQ(pictures_dir_from_user_dirs("XDG_PICTURES_DIR=\"Pictures\"\n", "/h"), "");
    EXPECT_EQ(pictures_dir_from_user_dirs("XDG_PICTURES_DIR=\"$HOMEX/p\"\n", "/h"), "");
    EXPECT_EQ(pictures_dir_from_user_dirs("#XDG_PICTURES_DIR=\"/x\"\n", "/h"), "");
}

class ScreenshotDirs : public testing::Test {
  protected:
    void SetUp() override {
        root_ = fs::temp_directory_path() / ("porthole-shots-" + std::to_string(::getpid()));
        fs::remove_all(root_);
        fs::create_directories(root_ / "config");
        saved_home_ = get("HOME");
        saved_config_ = get("XDG_CONFIG_HOME");
        saved_pictures_ = get("XDG_PICTURES_DIR");
        ::setenv("HOME", (root_ / "home").c_str(), 1);
        ::setenv("XDG_CONFIG_HOME", (root_ / "config").c_str(), 1);
        ::unsetenv("XDG_PICTURES_DIR");
    }
    void TearDown() override {
        restore("HOME", saved_home_);
        restore("XDG_CONFIG_HOME", saved_config_);
        restore("XDG_PICTURES_DIR", saved_pictures_);
        fs::remove_all(root_);
    }
    static std::optional<std::string> get(const char* n) {
        const char* v = std::getenv(n);
        return v ? std::optional<std::string>(v) : std::nullopt;
    }
    static void restore(const char* n, const std::optional<std::string>& v) {
        if (v)
            ::setenv(n, v->c_str(), 1);
        else
            ::unsetenv(n);
    }
    fs::path root_;
    std::optional<std::string> saved_home_, saved_config_, saved_pictures_;
};

TEST_F(ScreenshotDirs, PicturesFolderComesFromUserDirsThenTheEnvironmentThenHome) {
    EXPECT_EQ(pictures_dir(), (root_ / "home" / "Pictures").string());
    ::setenv("XDG_PICTURES_DIR", "/from/env", 1);
    EXPECT_EQ(pictures_dir(), "/from/env");
    std::ofstream(root_ / "config" / "user-dirs.dirs") << "XDG_PICTURES_DIR=\"$HOME/Shots\"\n";
    EXPECT_EQ(pictures_dir(), (root_ / "home" / "Shots").string());
}

TEST_F(ScreenshotDirs, NewPathCreatesTheFolderAndNeverNamesAnExistingFile) {
    const std::string dir = (root_ / "home" / "Pictures").string();
    const std::time_t t = 1'800'000'000;
    auto first = new_screenshot_path(dir, t);
    ASSERT_TRUE(first) << first.error().message;
    EXPECT_TRUE(fs::is_directory(dir));
    EXPECT_EQ(*first, dir + "/" + screenshot_name(t));
    EXPECT_TRUE(screenshot_name(t).starts_with("porthole-20"));
    std::ofstream(*first) << "taken";
    auto second = new_screenshot_path(dir, t);
    ASSERT_TRUE(second);
    EXPECT_NE(*second, *first);
    EXPECT_TRUE(second->ends_with("-2.png")) << *second;
    EXPECT_EQ(std::ifstream(*first).get(), 't') << "the first file is untouched";
}

TEST_F(ScreenshotDirs, AFileInTheWayIsAnErrorNamingIt) {
    fs::create_directories(root_ / "home");
    std::ofstream(root_ / "home" / "Pictures") << "not a folder";
    auto p = new_screenshot_path((root_ / "home" / "Pictures").string(), 0);
    ASSERT_FALSE(p);
    EXPECT_NE(p.error().message.find("Pictures"), std::string::npos) << p.error().message;
}

}  // namespace
}  // namespace porthole::client
