#include <gtest/gtest.h>

#include "store/value.hpp"

namespace ucedge::store {
namespace {

Row sample() {
  auto columns = std::make_shared<std::vector<std::string>>(
      std::vector<std::string>{"id", "ratio", "name", "data", "missing"});
  return Row(columns, {std::int64_t{7}, 0.5, std::string("seven"), Blob::from("x"), std::monostate{}});
}

TEST(Row, ReadsTypedColumnsByPositionAndName) {
  const Row row = sample();
  EXPECT_EQ(*row.get<std::int64_t>(0), 7);
  EXPECT_EQ(*row.get<double>("ratio"), 0.5);
  EXPECT_EQ(*row.get<std::string>("name"), "seven");
  EXPECT_EQ(*row.get<Blob>(3), Blob::from("x"));
  EXPECT_EQ(*row.get<double>("id"), 7.0);  // an integer reads as a real number
}

TEST(Row, RefusesTheWrongType) {
  const Row row = sample();
  auto wrong = row.get<std::int64_t>("name");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().kind, StoreError::Kind::invalid);
  EXPECT_NE(wrong.error().message.find("name"), std::string::npos);
  EXPECT_FALSE(row.get<std::string>("data"));
  EXPECT_FALSE(row.get<Blob>("name"));
  EXPECT_FALSE(row.get<bool>("ratio"));
}

TEST(Row, NullIsAnErrorUnlessOptional) {
  const Row row = sample();
  EXPECT_FALSE(row.get<std::string>("missing"));
  auto maybe = row.get_optional<std::string>("missing");
  ASSERT_TRUE(maybe);
  EXPECT_FALSE(maybe->has_value());
  auto present = row.get_optional<std::int64_t>(0);
  ASSERT_TRUE(present);
  EXPECT_EQ(**present, 7);
}

TEST(Row, UnknownColumnsAreErrors) {
  const Row row = sample();
  EXPECT_EQ(row.get<std::int64_t>(5).error().kind, StoreError::Kind::invalid);
  EXPECT_EQ(row.get<std::int64_t>("nope").error().kind, StoreError::Kind::invalid);
  EXPECT_EQ(row.find("nope"), nullptr);
}

TEST(Row, BoolReadsZeroOrOne) {
  auto columns = std::make_shared<std::vector<std::string>>(std::vector<std::string>{"a", "b", "c"});
  const Row row(columns, {std::int64_t{1}, std::int64_t{0}, std::int64_t{2}});
  EXPECT_TRUE(*row.get<bool>(0));
  EXPECT_FALSE(*row.get<bool>(1));
  EXPECT_FALSE(row.get<bool>(2));
}

}  // namespace
}  // namespace ucedge::store
