#include "clipboard/utf8.hpp"

#include <gtest/gtest.h>

#include <string>

using porthole::client::clipboard::first_invalid_utf8;

TEST(Utf8, AcceptsAsciiAndEveryEncodedLength) {
    EXPECT_EQ(first_invalid_utf8(""), std::nullopt);
    EXPECT_EQ(first_invalid_utf8("plain\nline"), std::nullopt);
    EXPECT_EQ(first_invalid_utf8("h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF"),
              std::nullopt);
    EXPECT_EQ(first_invalid_utf8(std::string("nul\0inside", 10)), std::nullopt);
}

TEST(Utf8, NamesTheFirstBadByte) {
    EXPECT_EQ(first_invalid_utf8("ab\xFF"), 2U);            // never valid
    EXPECT_EQ(first_invalid_utf8("a\x80"), 1U);             // stray continuation
    EXPECT_EQ(first_invalid_utf8("\xC3"), 0U);              // cut short
    EXPECT_EQ(first_invalid_utf8("x\xE2\x82"), 1U);         // cut short
    EXPECT_EQ(first_invalid_utf8("\xC0\xAF"), 0U);          // overlong '/'
    EXPECT_EQ(first_invalid_utf8("\xE0\x80\xAF"), 0U);      // overlong
    EXPECT_EQ(first_invalid_utf8("\xED\xA0\x80"), 0U);      // UTF-16 surrogate
    EXPECT_EQ(first_invalid_utf8("\xF4\x90\x80\x80"), 0U);  // past U+10FFFF
    EXPECT_EQ(first_invalid_utf8("\xE2\x28\xA1"), 0U);      // bad continuation
}
