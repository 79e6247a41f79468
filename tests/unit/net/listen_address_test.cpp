#include "net/listen_address.hpp"

#include <gtest/gtest.h>

using namespace ucedge::net;

TEST(ListenAddress, ParsesV4V6AndLocalhost) {
  auto a = parse_listen_address("127.0.0.1:8080");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 8080);
  auto b = parse_listen_address("[::1]:0");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->port, 0);
  auto c = parse_listen_address("localhost:443");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->host, "127.0.0.1");
}

TEST(ListenAddress, RejectsBadInput) {
  for (const char* bad : {"", "8080", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "::1:80", "[::1]",
                          "host.example:80", "1.2.3:80", "[zz]:80", "127.0.0.1:8o"}) {
    EXPECT_FALSE(parse_listen_address(bad)) << bad;
  }
}
