#pragma once
// Maps a method and a path to a handler. Patterns are literal segments,
// "{name}" segments that capture one decoded segment, and a final "{*name}"
// that captures the decoded rest of the path. Paths without parameters are
// found by one hash look-up; the rest by a scan in registration order.
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.hpp"
#include "net/http.hpp"

namespace ucedge::net {

enum class RouteOutcome { found, not_found, method_not_allowed, bad_path };

// Where a handler runs. Most answer at once, on the event-loop thread that
// owns the connection. Handlers that wait (a store commit) or compute long
// (Argon2, RSA) run on the HTTP server's worker threads instead, so that
// thread's other connections are not held up and cores stay busy while
// some requests wait.
enum class Runs { on_event_loop, on_worker };

struct RouteMatch {
  RouteOutcome outcome = RouteOutcome::not_found;
  const Handler* handler = nullptr;
  const DeferredHandler* deferred = nullptr;  // instead of `handler`, for add_deferred() routes
  Runs runs = Runs::on_event_loop;
  std::vector<PathParam> params;
  std::string allow;  // methods the path answers, for 405 and OPTIONS
};

class Router {
 public:
  // Adds a route; a malformed pattern is a programming error reported here.
  core::Result<void> add(Method method, std::string_view pattern, Handler handler,
                         Runs runs = Runs::on_event_loop);
  void get(std::string_view pattern, Handler handler, Runs runs = Runs::on_event_loop);
  void post(std::string_view pattern, Handler handler, Runs runs = Runs::on_event_loop);
  // A route whose handler answers through a Reply, on the event loop.
  void add_deferred(Method method, std::string_view pattern, DeferredHandler handler);

  RouteMatch match(Method method, std::string_view path) const;
  // Runs the matched handler, or answers 400/404/405 (and OPTIONS) itself.
  // A deferred handler is run and waited for.
  Response dispatch(Request& request) const;
  // dispatch() for a match already made that is not deferred.
  static Response respond(RouteMatch match, Request& request);

 private:
  struct Segment {
    enum class Kind { literal, param, tail } kind;
    std::string text;  // literal text or parameter name
  };
  struct Route {
    Method method;
    std::string pattern;
    std::vector<Segment> segments;
    Handler handler;
    Runs runs;
    DeferredHandler deferred;
  };
  core::Result<void> add_route(Route route);
  static bool matches(const Route& route, const std::vector<std::string>& segments,
                      std::vector<PathParam>& params);

  std::unordered_map<std::string, std::vector<Route>> static_routes_;
  std::vector<Route> dynamic_routes_;
};

// Splits an absolute path into percent-decoded segments; an error for a path
// not starting with '/', a bad escape, or a decoded NUL.
core::Result<std::vector<std::string>> split_path(std::string_view path);

}  // namespace ucedge::net
