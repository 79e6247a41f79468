#include "core/clock.hpp"

#include <gtest/gtest.h>

using namespace ucedge::core;
using namespace std::chrono_literals;

TEST(ManualClock, MovesOnlyWhenAdvanced) {
  ManualClock clock;
  auto wall = clock.now();
  auto mono = clock.steady_now();
  EXPECT_EQ(clock.now(), wall);
  clock.advance(90s);
  EXPECT_EQ(clock.now() - wall, 90s);
  EXPECT_EQ(clock.steady_now() - mono, 90s);
}

TEST(RealClock, FollowsTheSystemClock) {
  auto before = std::chrono::system_clock::now();
  auto t = RealClock::instance().now();
  EXPECT_GE(t, before);
  EXPECT_LE(t - before, 5s);
}
