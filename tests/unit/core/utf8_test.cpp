#include "core/utf8.hpp"

#include <gtest/gtest.h>

#include <string>

using ucedge::core::utf8_sequence_length;

namespace {
std::size_t length_of(std::string bytes) { return utf8_sequence_length(bytes, 0); }
}  // namespace

TEST(Utf8, TheShortestFormOfEveryLengthIsAccepted) {
  EXPECT_EQ(length_of("\xC2\x80"), 2u);              // U+0080
  EXPECT_EQ(length_of("\xDF\xBF"), 2u);              // U+07FF
  EXPECT_EQ(length_of("\xE0\xA0\x80"), 3u);          // U+0800
  EXPECT_EQ(length_of("\xED\x9F\xBF"), 3u);          // U+D7FF, the last before the surrogates
  EXPECT_EQ(length_of("\xEE\x80\x80"), 3u);          // U+E000, the first after them
  EXPECT_EQ(length_of("\xF0\x90\x80\x80"), 4u);      // U+10000
  EXPECT_EQ(length_of("\xF4\x8F\xBF\xBF"), 4u);      // U+10FFFF
  EXPECT_EQ(length_of("\xC3\xA9 and more"), 2u);    // only the sequence at the start counts
}

TEST(Utf8, OverlongFormsSurrogatesAndValuesPastTheLastCodePointAreRefused) {
  EXPECT_EQ(length_of("\xC0\x80"), 0u);              // NUL, overlong
  EXPECT_EQ(length_of("\xC1\xBF"), 0u);
  EXPECT_EQ(length_of("\xE0\x9F\xBF"), 0u);          // U+07FF in three bytes
  EXPECT_EQ(length_of("\xF0\x8F\xBF\xBF"), 0u);      // U+FFFF in four bytes
  EXPECT_EQ(length_of("\xED\xA0\x80"), 0u);          // U+D800
  EXPECT_EQ(length_of("\xED\xBF\xBF"), 0u);          // U+DFFF
  EXPECT_EQ(length_of("\xF4\x90\x80\x80"), 0u);      // U+110000
  EXPECT_EQ(length_of("\xF5\x80\x80\x80"), 0u);
  EXPECT_EQ(length_of("\xFF"), 0u);
}

TEST(Utf8, ALoneContinuationByteABrokenOrACutSequenceIsRefused) {
  EXPECT_EQ(length_of("\x80"), 0u);
  EXPECT_EQ(length_of("\xBF\xBF"), 0u);
  EXPECT_EQ(length_of("\xC3("), 0u);
  EXPECT_EQ(length_of("\xE2\x82("), 0u);
  EXPECT_EQ(length_of("\xF0\x9F\x98"), 0u);          // the last byte is missing
  EXPECT_EQ(length_of("\xE2"), 0u);
}
