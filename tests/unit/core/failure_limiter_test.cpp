#include "core/failure_limiter.hpp"

#include <gtest/gtest.h>

using namespace ucedge::core;

TEST(FailureLimiter, RefusesAKeyUntilAMinuteAfterItsFirstFailureOnceItReachedTheLimit) {
  ManualClock clock(ManualClock::SystemTime{std::chrono::seconds(600)});
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
  EXPECT_EQ(limiter.retry_after("192.0.2.1"), 0);  // the minute has passed
  limiter.failed("192.0.2.1");
  EXPECT_EQ(limiter.retry_after("192.0.2.1"), 0);  // a new minute counts from this failure
}

TEST(FailureLimiter, FailuresAcrossTheTurnOfAClockMinuteStillCountTogether) {
  ManualClock clock(ManualClock::SystemTime{std::chrono::seconds(659)});  // 1 s before a clock minute
  FailureLimiter limiter(2, clock);
  limiter.failed("192.0.2.1");
  clock.advance(std::chrono::seconds(2));
  limiter.failed("192.0.2.1");
  EXPECT_EQ(limiter.retry_after("192.0.2.1"), 58);
  clock.advance(std::chrono::seconds(57));
  EXPECT_EQ(limiter.retry_after("192.0.2.1"), 1);
  clock.advance(std::chrono::seconds(1));
  EXPECT_EQ(limiter.retry_after("192.0.2.1"), 0);
}

TEST(FailureLimiter, AFailureAfterTheMinuteStartsAFreshCount) {
  ManualClock clock(ManualClock::SystemTime{std::chrono::seconds(1000)});
  FailureLimiter limiter(2, clock);
  limiter.failed("192.0.2.1");
  clock.advance(std::chrono::seconds(70));
  limiter.failed("192.0.2.1");
  EXPECT_EQ(limiter.retry_after("192.0.2.1"), 0);  // the first failure no longer counts
  limiter.failed("192.0.2.1");
  EXPECT_EQ(limiter.retry_after("192.0.2.1"), 60);
}
