#include "core/failure_limiter.hpp"

#include <gtest/gtest.h>

using namespace ucedge::core;

TEST(FailureLimiter, RefusesAKeyForTheRestOfTheMinuteOnceItReachedTheLimit) {
  ManualClock clock(ManualClock::SystemTime{std::chrono::seconds(600)});  // the start of a minute
  FailureLimiter limiter(3, clock);
  EXPECT_EQ(limiter.retry_after("192.0.2.1"), 0);
  limiter.failed("192.0.2.1");
  limiter.failed("192.0.2.1");
  EXPECT_EQ(limiter.retry_after("192.0.2.1"), 0);
  clock.advance(std::chrono::seconds(15));
  limiter.failed("192.0.2.1");
  EXPECT_EQ(limiter.retry_after("192.0.2.1"), 45);
  EXPECT_EQ(limiter.retry_after("192.0.2.2"), 0);  // other addresses are not punished
  clock.advance(std::chrono::seconds(45));
  EXPECT_EQ(limiter.retry_after("192.0.2.1"), 0);  // a new minute
  limiter.failed("192.0.2.1");
  EXPECT_EQ(limiter.retry_after("192.0.2.1"), 0);
}
