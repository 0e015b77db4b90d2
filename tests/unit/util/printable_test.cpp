#include "porthole/util/printable.hpp"

#include <gtest/gtest.h>

#include <string>

using porthole::printable;

TEST(Printable, PlainAsciiIsKept) {
    EXPECT_EQ(printable("porthole agent 0.1 (Windows 11)"), "porthole agent 0.1 (Windows 11)");
    EXPECT_EQ(printable(""), "");
}

TEST(Printable, TerminalControlSequencesAreShownEscaped) {
    // Clear screen and home, then a forged log line on a fresh row.
    const std::string hostile = "\x1b[2J\x1b[H\r\n[12:00:00.000] [porthole] [info] ok\a";
    const auto out = printable(hostile, 200);
    EXPECT_EQ(out, "\\x1b[2J\\x1b[H\\x0d\\x0a[12:00:00.000] [porthole] [info] ok\\x07");
    for (const char c : out) {
        EXPECT_GE(static_cast<unsigned char>(c), 0x20);
        EXPECT_LT(static_cast<unsigned char>(c), 0x7f);
    }
}

TEST(Printable, DelHighBytesNulAndBackslashAreEscaped) {
    EXPECT_EQ(printable(std::string("a\0b", 3)), "a\\x00b");
    EXPECT_EQ(printable("\x7f\x9b\xff"), "\\x7f\\x9b\\xff") << "DEL, C1 CSI, 0xff";
    EXPECT_EQ(printable("C:\\x1b"), "C:\\x5cx1b") << "a literal \\x in the input stays distinct";
}

TEST(Printable, LongInputIsCutAndMarked) {
    const std::string long_name(1000, 'n');
    EXPECT_EQ(printable(long_name, 8), "nnnnnnnn...");
    EXPECT_EQ(printable("12345678", 8), "12345678") << "exactly max_len is not cut";
    EXPECT_EQ(printable(std::string(100, '\x1b'), 2), "\\x1b\\x1b...");
}
