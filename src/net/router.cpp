#include "net/router.hpp"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace ucedge::net {

core::Result<std::vector<std::string>> split_path(std::string_view path) {
  if (path.empty() || path.front() != '/') return core::fail(std::string("path must start with '/'"));
  std::vector<std::string> segments;
  std::size_t start = 1;
  while (true) {
    std::size_t slash = path.find('/', start);
    std::string_view raw = path.substr(start, slash == std::string_view::npos ? path.npos : slash - start);
    auto decoded = percent_decode(raw);
    if (!decoded) return core::fail(std::string("malformed percent-escape in path"));
    if (decoded->find('\0') != std::string::npos) return core::fail(std::string("NUL in path"));
    segments.push_back(std::move(*decoded));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return segments;
}

core::Result<void> Router::add(Method method, std::string_view pattern, Handler handler, Runs runs) {
  return add_route(Route{method, std::string(pattern), {}, std::move(handler), runs, {}});
}

core::Result<void> Router::add_route(Route route) {
  const std::string pattern_text = route.pattern;  // route is moved away below
  const std::string_view pattern = pattern_text;
  if (pattern.empty() || pattern.front() != '/') return core::fail("pattern must start with '/': " + std::string(pattern));
  bool dynamic = false;
  std::size_t start = 1;
  while (true) {
    std::size_t slash = pattern.find('/', start);
    std::string_view seg = pattern.substr(start, slash == std::string_view::npos ? pattern.npos : slash - start);
    if (seg.size() >= 2 && seg.front() == '{' && seg.back() == '}') {
      std::string_view name = seg.substr(1, seg.size() - 2);
      bool tail = !name.empty() && name.front() == '*';
      if (tail) name.remove_prefix(1);
      if (name.empty()) return core::fail("empty parameter name in " + std::string(pattern));
      if (tail && slash != std::string_view::npos) return core::fail("{*" + std::string(name) + "} must be last in " + std::string(pattern));
      route.segments.push_back({tail ? Segment::Kind::tail : Segment::Kind::param, std::string(name)});
      dynamic = true;
    } else {
      if (seg.find_first_of("{}") != std::string_view::npos) return core::fail("stray brace in " + std::string(pattern));
      route.segments.push_back({Segment::Kind::literal, std::string(seg)});
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (dynamic) dynamic_routes_.push_back(std::move(route));
  else static_routes_[std::string(pattern)].push_back(std::move(route));
  return {};
}

void Router::get(std::string_view pattern, Handler handler, Runs runs) {
  auto r = add(Method::get, pattern, std::move(handler), runs);
  if (!r) throw std::invalid_argument(r.error());
}

void Router::add_deferred(Method method, std::string_view pattern, DeferredHandler handler) {
  auto r = add_route(Route{method, std::string(pattern), {}, nullptr, Runs::on_event_loop, std::move(handler)});
  if (!r) throw std::invalid_argument(r.error());
}

void Router::post(std::string_view pattern, Handler handler, Runs runs) {
  auto r = add(Method::post, pattern, std::move(handler), runs);
  if (!r) throw std::invalid_argument(r.error());
}

bool Router::matches(const Route& route, const std::vector<std::string>& segments,
                     std::vector<PathParam>& params) {
  params.clear();
  std::size_t i = 0;
  for (const auto& seg : route.segments) {
    if (seg.kind == Segment::Kind::tail) {
      std::string rest;
      for (std::size_t j = i; j < segments.size(); ++j) {
        // A '/' inside one decoded segment would blur segment boundaries.
        if (segments[j].find('/') != std::string::npos) return false;
        if (j > i) rest += '/';
        rest += segments[j];
      }
      params.push_back({seg.text, std::move(rest)});
      return true;
    }
    if (i >= segments.size()) return false;
    if (seg.kind == Segment::Kind::literal) {
      if (segments[i] != seg.text) return false;
    } else {
      if (segments[i].empty()) return false;
      params.push_back({seg.text, segments[i]});
    }
    ++i;
  }
  return i == segments.size();
}

RouteMatch Router::match(Method method, std::string_view path) const {
  RouteMatch result;
  auto split = split_path(path);
  if (!split) {
    result.outcome = RouteOutcome::bad_path;
    return result;
  }
  const auto& segments = *split;
  std::vector<Method> allowed;
  const Route* found = nullptr;
  const Route* get_fallback = nullptr;
  std::vector<PathParam> params;

  auto consider = [&](const Route& route, std::vector<PathParam>&& route_params) {
    allowed.push_back(route.method);
    if (route.method == method && found == nullptr) {
      found = &route;
      result.params = std::move(route_params);
    } else if (method == Method::head && route.method == Method::get && get_fallback == nullptr) {
      get_fallback = &route;
      if (found == nullptr) result.params = route_params;
    }
  };

  std::string rebuilt;
  for (const auto& s : segments) {
    rebuilt += '/';
    rebuilt += s;
  }
  if (auto it = static_routes_.find(rebuilt); it != static_routes_.end()) {
    for (const auto& route : it->second) consider(route, {});
  }
  for (const auto& route : dynamic_routes_) {
    if (matches(route, segments, params)) consider(route, std::move(params));
  }

  if (found == nullptr && get_fallback != nullptr) found = get_fallback;
  if (found != nullptr) {
    result.outcome = RouteOutcome::found;
    result.handler = &found->handler;
    if (found->deferred) result.deferred = &found->deferred;
    result.runs = found->runs;
    return result;
  }
  result.params.clear();
  if (allowed.empty()) {
    result.outcome = RouteOutcome::not_found;
    return result;
  }
  if (std::find(allowed.begin(), allowed.end(), Method::get) != allowed.end()) allowed.push_back(Method::head);
  allowed.push_back(Method::options);
  std::sort(allowed.begin(), allowed.end());
  allowed.erase(std::unique(allowed.begin(), allowed.end()), allowed.end());
  for (Method m : allowed) {
    if (!result.allow.empty()) result.allow += ", ";
    result.allow += to_string(m);
  }
  result.outcome = RouteOutcome::method_not_allowed;
  return result;
}

namespace {

// Takes a deferred handler's answer for dispatch(), which waits for it
// (tests and tools; the HTTP server has its own Reply::Target).
struct WaitedAnswer {
  std::mutex mutex;
  std::condition_variable answered;
  std::optional<Response> answer;

  void give(Response response) {
    std::lock_guard lock(mutex);
    if (!answer) answer = std::move(response);
    answered.notify_all();
  }
  Response wait() {
    std::unique_lock lock(mutex);
    answered.wait(lock, [&] { return answer.has_value(); });
    return *answer;
  }
};

class WaitedReply final : public Reply::Target, public std::enable_shared_from_this<WaitedReply> {
 public:
  explicit WaitedReply(std::shared_ptr<WaitedAnswer> answer) : answer_(std::move(answer)) {}
  ~WaitedReply() override { answer_->give(Response::problem(500, "Internal Server Error")); }
  void send(Response response) override { answer_->give(std::move(response)); }
  void compute_on_connection(std::function<Response()> work) override { send(work()); }
  // On a thread of its own, as the server's workers would: the caller may be
  // a thread that must not wait (a store's writer thread).
  void compute_on_worker(std::function<Response()> work) override {
    std::thread([self = shared_from_this(), work = std::move(work)] { self->send(work()); }).detach();
  }

 private:
  std::shared_ptr<WaitedAnswer> answer_;
};

}  // namespace

Response Router::dispatch(Request& request) const {
  RouteMatch m = match(request.method, request.path);
  if (m.outcome == RouteOutcome::found && m.deferred != nullptr) {
    request.params = std::move(m.params);
    auto answer = std::make_shared<WaitedAnswer>();
    (*m.deferred)(request, Reply(std::make_shared<WaitedReply>(answer)));
    return answer->wait();
  }
  return respond(std::move(m), request);
}

Response Router::respond(RouteMatch m, Request& request) {
  switch (m.outcome) {
    case RouteOutcome::found:
      request.params = std::move(m.params);
      return (*m.handler)(request);
    case RouteOutcome::bad_path:
      return Response::problem(400, "Bad Request", "the request path is malformed");
    case RouteOutcome::not_found:
      return Response::problem(404, "Not Found");
    case RouteOutcome::method_not_allowed:
      if (request.method == Method::options) {
        Response r;
        r.status = 204;
        r.set("Allow", m.allow);
        return r;
      }
      Response r = Response::problem(405, "Method Not Allowed");
      r.set("Allow", m.allow);
      return r;
  }
  return Response::problem(500, "Internal Server Error");
}

}  // namespace ucedge::net
