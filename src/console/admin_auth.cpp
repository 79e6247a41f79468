#include "console/admin_auth.hpp"

#include "console/admin_accounts.hpp"
#include "core/digest.hpp"

namespace ucedge::console {

namespace {

constexpr auto kRemembered = std::chrono::minutes(5);

net::Response unauthorized(std::string_view detail) {
  auto r = net::Response::problem(401, "Unauthorized", detail);
  r.set("WWW-Authenticate", "Basic realm=\"ucedge admin\", charset=\"UTF-8\"");
  return r;
}

}  // namespace

AdminAuth::AdminAuth(store::Store& store, int failures_per_minute, const core::Clock& clock)
    : store_(store), failures_(failures_per_minute, clock) {}

std::optional<net::Response> AdminAuth::refuse(const net::Request& request) {
  std::string_view header = request.header("Authorization");
  if (header.empty()) return unauthorized("administrator credentials are required (HTTP Basic)");
  const std::string digest = core::digest_hex(header);
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mutex_);
    auto it = verified_.find(digest);
    if (it != verified_.end() && it->second > now) return std::nullopt;
  }
  if (auto wait = failures_.retry_after(request.remote_address); wait > 0) {
    auto r = net::Response::problem(429, "Too Many Requests", "too many failed sign-ins from this address");
    r.set("Retry-After", std::to_string(wait));
    return r;
  }
  auto credentials = net::basic_credentials(header);
  if (credentials && verify_admin(store_, credentials->first, credentials->second)) {
    std::lock_guard lock(mutex_);
    if (verified_.size() > 10'000) verified_.clear();
    verified_[digest] = now + kRemembered;
    return std::nullopt;
  }
  failures_.failed(request.remote_address);
  return unauthorized("wrong administrator name or password");
}

net::Handler AdminAuth::guard(net::Handler handler) {
  return [this, handler = std::move(handler)](net::Request& request) {
    if (auto refused = refuse(request)) return std::move(*refused);
    return handler(request);
  };
}

}  // namespace ucedge::console
