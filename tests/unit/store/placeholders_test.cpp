#include "store/placeholders.hpp"

#include <gtest/gtest.h>

namespace ucedge::store {
namespace {

TEST(Placeholders, NumbersEachQuestionMark) {
  EXPECT_EQ(number_placeholders("SELECT a FROM t WHERE b = ? AND c = ?"),
            "SELECT a FROM t WHERE b = $1 AND c = $2");
  EXPECT_EQ(count_placeholders("INSERT INTO t VALUES (?, ?, ?)"), 3u);
}

TEST(Placeholders, LeavesQuotedStringsAlone) {
  EXPECT_EQ(number_placeholders("SELECT '?', ?, 'it''s ?', ?"), "SELECT '?', $1, 'it''s ?', $2");
}

TEST(Placeholders, LeavesQuotedIdentifiersAndCommentsAlone) {
  EXPECT_EQ(number_placeholders("SELECT \"what?\" FROM t -- why?\nWHERE x = ? /* ? */ AND y = ?"),
            "SELECT \"what?\" FROM t -- why?\nWHERE x = $1 /* ? */ AND y = $2");
}

TEST(Placeholders, UnderstandsEscapeStrings) {
  // In E'...' a backslash escapes the quote, so the string runs on.
  EXPECT_EQ(number_placeholders(R"(SELECT E'\' ?', ?)"), R"(SELECT E'\' ?', $1)");
  // A word ending in e before a quote is not an escape string prefix.
  EXPECT_EQ(count_placeholders(R"(SELECT name'\', ?)"), 1u);
}

TEST(Placeholders, UnterminatedQuoteSwallowsTheRest) {
  EXPECT_EQ(count_placeholders("SELECT 'oops ?"), 0u);
}

TEST(Placeholders, AppendsSuffixes) {
  EXPECT_EQ(number_placeholders("SELECT ?, ?", [](std::size_t n) {
              return n == 0 ? std::string_view("::int8") : std::string_view();
            }),
            "SELECT $1::int8, $2");
}

}  // namespace
}  // namespace ucedge::store
