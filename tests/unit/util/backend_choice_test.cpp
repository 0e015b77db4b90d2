#include "porthole/util/backend_choice.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string_view>

namespace porthole {
namespace {

TEST(UnavailableBackend, NamesWhatWasAskedAndEveryChoiceOfTheBuild) {
    constexpr std::array<std::string_view, 3> have{"auto", "x11", "none"};
    const auto e = unavailable_backend("clipboard backend", "wayland", have);
    EXPECT_EQ(e.message,
              "clipboard backend 'wayland' is not available in this build (available: auto, x11, "
              "none)");
}

TEST(UnavailableBackend, ANameWithControlCharactersIsPrintedSafely) {
    constexpr std::array<std::string_view, 1> have{"pattern"};
    const auto e = unavailable_backend("capture backend", "x\n\x1b[2J", have);
    EXPECT_EQ(e.message.find('\n'), std::string::npos);
    EXPECT_EQ(e.message.find('\x1b'), std::string::npos);
    EXPECT_NE(e.message.find("x\\x0a\\x1b[2J"), std::string::npos) << e.message;
}

}  // namespace
}  // namespace porthole
