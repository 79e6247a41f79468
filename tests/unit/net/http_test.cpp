#include "net/http.hpp"

#include <gtest/gtest.h>

using namespace ucedge::net;

TEST(Http, HeadersAreCaseInsensitive) {
  Request r;
  r.headers.push_back({"User-Agent", "Cisco-CP-8841-3PCC/11.0 (00562b043615)"});
  EXPECT_EQ(r.header("user-agent"), "Cisco-CP-8841-3PCC/11.0 (00562b043615)");
  EXPECT_EQ(r.header("accept"), "");
}

TEST(Http, QueryParametersAreDecoded) {
  Request r;
  r.query = "a=1&name=J%C3%BCrgen+M&flag&x=%zz";
  EXPECT_EQ(r.query_param("a"), "1");
  EXPECT_EQ(r.query_param("name"), "Jürgen M");
  EXPECT_EQ(r.query_param("flag"), "");
  EXPECT_FALSE(r.query_param("missing"));
  EXPECT_FALSE(r.query_param("x"));  // malformed escape
}

TEST(Http, ProblemDetailsAreValidJsonWithEscaping) {
  auto r = Response::problem(400, "Bad Request", "a \"quoted\"\nline");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, R"({"type":"about:blank","title":"Bad Request","status":400,"detail":"a \"quoted\"\nline"})");
  ASSERT_FALSE(r.headers.empty());
  EXPECT_EQ(r.headers[0].value, "application/problem+json");
}

TEST(Http, PercentDecoding) {
  EXPECT_EQ(percent_decode("a%2Fb"), "a/b");
  EXPECT_EQ(percent_decode("a+b", true), "a b");
  EXPECT_EQ(percent_decode("a+b"), "a+b");
  EXPECT_FALSE(percent_decode("%"));
  EXPECT_FALSE(percent_decode("%4"));
  EXPECT_FALSE(percent_decode("%g0"));
  // Long runs between escapes, escapes at both ends, and one cut short at the end.
  EXPECT_EQ(percent_decode("%41abcdefghijklmnop+qrstuvwxyz0123456789%2b%2B", true),
            "Aabcdefghijklmnop qrstuvwxyz0123456789++");
  EXPECT_EQ(percent_decode("eyJhbGciOiJSUzI1NiJ9.eyJwcml2YXRlIjoi.c2ln"), "eyJhbGciOiJSUzI1NiJ9.eyJwcml2YXRlIjoi.c2ln");
  EXPECT_FALSE(percent_decode("abcdefghijklmnopqrstuvwxyz%4"));
  EXPECT_FALSE(percent_decode("abcdefghijklmnopqrstuvwxyz%zz0123456789"));
}

TEST(Http, ResponseSetReplacesAHeader) {
  Response r;
  r.set("X-A", "1").set("x-a", "2");
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].value, "2");
}
