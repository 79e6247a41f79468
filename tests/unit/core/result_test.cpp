#include "core/result.hpp"

#include <gtest/gtest.h>

#include <memory>

using namespace ucedge::core;

namespace {
Result<int> half(int n) {
  if (n % 2 != 0) return fail(std::string("odd"));
  return n / 2;
}
}  // namespace

TEST(Result, CarriesAValueOrAnError) {
  auto a = half(8);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, 4);
  auto b = half(3);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error(), "odd");
}

TEST(Result, HoldsMoveOnlyValuesAndVoid) {
  Result<std::unique_ptr<int>> p = std::make_unique<int>(5);
  auto owned = std::move(p).value();
  EXPECT_EQ(*owned, 5);
  Result<void> ok;
  EXPECT_TRUE(ok.ok());
  Result<void> bad = fail(std::string("no"));
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), "no");
}
