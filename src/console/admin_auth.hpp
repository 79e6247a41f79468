#pragma once
// HTTP Basic authentication of administrators for the admin API. Argon2id
// makes each check cost a fraction of a second, so a verified header is
// remembered (by its BLAKE2b hash) for a few minutes; wrong passwords are
// limited per source address, as guessing is what they are.
#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/clock.hpp"
#include "core/failure_limiter.hpp"
#include "net/http.hpp"
#include "store/store.hpp"

namespace ucedge::console {

class AdminAuth {
 public:
  explicit AdminAuth(store::Store& store, int failures_per_minute = 10,
                     const core::Clock& clock = core::RealClock::instance());

  // nullopt when the request carries an administrator's credentials;
  // otherwise the 401 (or 429) to answer.
  std::optional<net::Response> refuse(const net::Request& request);

  // Wraps a handler so it runs only for administrators.
  net::Handler guard(net::Handler handler);

 private:
  store::Store& store_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> verified_;
  core::FailureLimiter failures_;
};

}  // namespace ucedge::console
