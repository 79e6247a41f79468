// Request paths from the network against a router with every kind of route,
// and fuzzed patterns added at start: match must answer, never crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "net/router.hpp"

using namespace ucedge::net;

namespace {

const Router& sample_router() {
  static Router router = [] {
    Router r;
    Handler ok = [](Request&) { return Response::text(200, "ok"); };
    r.get("/healthz", ok);
    r.get("/api/v1/devices/{mac}", ok);
    r.post("/api/v1/devices/{mac}/files/{name}", ok);
    r.get("/prov/{*path}", ok);
    r.get("/a/b/c", ok);
    return r;
  }();
  return router;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  Method method = static_cast<Method>(data[0] % 8);
  std::string input(reinterpret_cast<const char*>(data + 1), size - 1);

  RouteMatch m = sample_router().match(method, input);
  if (m.outcome == RouteOutcome::found && m.handler == nullptr) __builtin_trap();

  // The same bytes as a pattern, then as a path against it.
  Router fresh;
  if (fresh.add(Method::get, input, [](Request&) { return Response::text(200, "x"); }).ok()) {
    fresh.match(Method::get, input);
  }
  return 0;
}
