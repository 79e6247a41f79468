#include "net/router.hpp"

#include <gtest/gtest.h>

using namespace ucedge::net;

namespace {

Handler answer(std::string body) {
  return [body](Request& r) {
    std::string out = body;
    for (const auto& p : r.params) out += " " + p.name + "=" + p.value;
    return Response::text(200, out);
  };
}

Response call(const Router& router, Method m, std::string path) {
  Request r;
  r.method = m;
  r.path = std::move(path);
  return router.dispatch(r);
}

}  // namespace

TEST(Router, MatchesStaticAndParameterisedRoutes) {
  Router router;
  router.get("/healthz", answer("health"));
  router.get("/api/v1/devices/{mac}", answer("device"));
  router.get("/api/v1/devices/{mac}/files/{name}", answer("file"));
  EXPECT_EQ(call(router, Method::get, "/healthz").body, "health");
  EXPECT_EQ(call(router, Method::get, "/api/v1/devices/00562b043615").body, "device mac=00562b043615");
  EXPECT_EQ(call(router, Method::get, "/api/v1/devices/aa/files/b.cfg").body, "file mac=aa name=b.cfg");
}

TEST(Router, DecodesParametersButNotAcrossSegments) {
  Router router;
  router.get("/u/{name}", answer("u"));
  EXPECT_EQ(call(router, Method::get, "/u/a%20b").body, "u name=a b");
  // An encoded slash stays inside the one segment.
  EXPECT_EQ(call(router, Method::get, "/u/a%2Fb").body, "u name=a/b");
  EXPECT_EQ(call(router, Method::get, "/u/").status, 404);
  EXPECT_EQ(call(router, Method::get, "/u/a/b").status, 404);
}

TEST(Router, TailParameterTakesTheRestButRefusesEncodedSlashes) {
  Router router;
  router.get("/prov/{*path}", answer("prov"));
  EXPECT_EQ(call(router, Method::get, "/prov/acme/CP-7841-3PCC.cfg").body, "prov path=acme/CP-7841-3PCC.cfg");
  EXPECT_EQ(call(router, Method::get, "/prov/..%2F..%2Fetc%2Fpasswd").status, 404);
}

TEST(Router, AnswersNotFoundMethodNotAllowedAndOptions) {
  Router router;
  router.get("/thing", answer("get"));
  router.post("/thing", answer("post"));
  EXPECT_EQ(call(router, Method::get, "/other").status, 404);
  auto r = call(router, Method::delete_, "/thing");
  EXPECT_EQ(r.status, 405);
  ASSERT_FALSE(r.headers.empty());
  bool has_allow = false;
  for (const auto& h : r.headers) {
    if (h.name == "Allow") {
      has_allow = true;
      EXPECT_EQ(h.value, "GET, HEAD, POST, OPTIONS");
    }
  }
  EXPECT_TRUE(has_allow);
  EXPECT_EQ(call(router, Method::options, "/thing").status, 204);
}

TEST(Router, HeadFallsBackToGet) {
  Router router;
  router.get("/x/{id}", answer("x"));
  EXPECT_EQ(call(router, Method::head, "/x/1").body, "x id=1");
}

TEST(Router, RejectsMalformedPaths) {
  Router router;
  router.get("/a", answer("a"));
  EXPECT_EQ(call(router, Method::get, "a").status, 400);
  EXPECT_EQ(call(router, Method::get, "/a%zz").status, 400);
  EXPECT_EQ(call(router, Method::get, "/a%00").status, 400);
  EXPECT_EQ(call(router, Method::get, "/a%4").status, 400);
}

TEST(Router, RefusesMalformedPatterns) {
  Router router;
  EXPECT_FALSE(router.add(Method::get, "no-slash", answer("")).ok());
  EXPECT_FALSE(router.add(Method::get, "/a/{}", answer("")).ok());
  EXPECT_FALSE(router.add(Method::get, "/a/{*rest}/b", answer("")).ok());
  EXPECT_FALSE(router.add(Method::get, "/a/b{c}", answer("")).ok());
  EXPECT_TRUE(router.add(Method::get, "/a/{b}", answer("")).ok());
}

TEST(Router, FirstRegisteredRouteWinsAmongParameterisedOnes) {
  Router router;
  router.get("/d/{a}", answer("first"));
  router.get("/d/{b}", answer("second"));
  EXPECT_EQ(call(router, Method::get, "/d/z").body, "first a=z");
}
