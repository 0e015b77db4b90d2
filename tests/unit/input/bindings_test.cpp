#include "input/bindings.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#ifndef PORTHOLE_SOURCE_DIR
#error "PORTHOLE_SOURCE_DIR must name the source tree (the README is checked)"
#endif

namespace porthole::client::input {
namespace {

TEST(KeyBindings, EachKeyAndEachActionAppearsOnceAndNoneIsTheCaptureKey) {
    std::set<std::uint16_t> keys;
    std::set<WindowAction> actions;
    for (const auto& b : kKeyBindings) {
        EXPECT_TRUE(keys.insert(b.key).second) << b.key_name;
        EXPECT_TRUE(actions.insert(b.action).second) << to_string(b.action);
        EXPECT_NE(b.key, KEY_SCROLLLOCK);
        EXPECT_EQ(find_binding(b.key), &b);
        EXPECT_FALSE(b.what.empty());
    }
    for (auto a :
         {WindowAction::toggle_fullscreen, WindowAction::toggle_overlay, WindowAction::screenshot,
          WindowAction::release_input, WindowAction::send_ctrl_alt_del,
          WindowAction::cycle_mouse_mode, WindowAction::quit})
        EXPECT_EQ(actions.count(a), 1U) << to_string(a) << " has no key";
    EXPECT_EQ(find_binding(KEY_X), nullptr);
}

// The panel shown while the capture key is held: the same table, one line a binding.
TEST(KeyBindings, HelpPanelListsEveryBindingUnderTheCaptureKey) {
    const auto lines = help_lines("Pause");
    ASSERT_EQ(lines.size(), kKeyBindings.size() + 2);
    EXPECT_EQ(lines.front(), "Hold Pause and press:");
    for (std::size_t i = 0; i < kKeyBindings.size(); ++i) {
        const auto& b = kKeyBindings[i];
        EXPECT_EQ(lines[i + 1].rfind("  " + std::string(b.key_name) + " ", 0), 0U) << lines[i + 1];
        EXPECT_TRUE(lines[i + 1].ends_with(b.what)) << lines[i + 1];
    }
    EXPECT_EQ(lines.back(), "Pause alone captures and releases the keyboard and mouse");
    // evdev or no input: the key alone does nothing, so the panel does not say it does.
    EXPECT_EQ(help_lines("ScrollLock", false).size(), kKeyBindings.size() + 1);
}

TEST(KeyBindings, HelpTextListsEveryBindingWithItsKey) {
    const std::string text = bindings_text("Pause");
    EXPECT_EQ(text.rfind("Keys: Pause", 0), 0U) << text;
    for (const auto& b : kKeyBindings) {
        std::string line = "  " + std::string(b.key_name);
        EXPECT_NE(text.find(line), std::string::npos) << text;
        EXPECT_NE(text.find(std::string(b.what) + "\n"), std::string::npos) << text;
    }
}

// The README's table is the one bindings_markdown() prints (indented in its list item).
TEST(KeyBindings, ReadmeShowsTheSameTable) {
    std::ifstream in(std::string(PORTHOLE_SOURCE_DIR) + "/README.md");
    ASSERT_TRUE(in) << "README.md not found";
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string readme = ss.str();
    std::istringstream table(bindings_markdown());
    std::string indented;
    for (std::string line; std::getline(table, line);)
        indented += "   " + line + "\n";
    EXPECT_NE(readme.find(indented), std::string::npos)
        << "README.md should carry, in the client's list item:\n"
        << indented;
}

}  // namespace
}  // namespace porthole::client::input
