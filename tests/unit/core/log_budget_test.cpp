// The budget that keeps traffic-triggered log lines few.
#include <gtest/gtest.h>

#include "core/clock.hpp"
#include "core/log_budget.hpp"

namespace ucedge::core {
namespace {

TEST(LogBudget, AllowsABurstThenCountsWhatItDrops) {
  ManualClock clock;
  LogBudget budget(3, std::chrono::seconds(10), clock);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(budget.take(), std::optional<std::uint64_t>(0));
  EXPECT_EQ(budget.take(), std::nullopt);
  EXPECT_EQ(budget.take(), std::nullopt);
  clock.advance(std::chrono::seconds(9));
  EXPECT_EQ(budget.take(), std::nullopt);
  clock.advance(std::chrono::seconds(1));
  // A new window: the first line reports the three dropped before it.
  EXPECT_EQ(budget.take(), std::optional<std::uint64_t>(3));
  EXPECT_EQ(budget.take(), std::optional<std::uint64_t>(0));
}

}  // namespace
}  // namespace ucedge::core
