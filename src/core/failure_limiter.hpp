#pragma once
// Limits guessing: counts failures per key (a source address, a user name)
// within a minute that starts at the key's first failure; a key that reached
// the limit is refused until that minute has passed. Used wherever a secret
// can be guessed over the network (admin passwords, device credentials,
// activation codes, OAuth clients and sign-ins, TURN credentials).
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/clock.hpp"

namespace ucedge::core {

class FailureLimiter {
 public:
  explicit FailureLimiter(int failures_per_minute, const Clock& clock = RealClock::instance());

  // Seconds until `key` may try again; 0 when it may now.
  std::int64_t retry_after(const std::string& key);
  void failed(const std::string& key);

 private:
  struct Window {
    std::int64_t started = 0;  // seconds since the epoch of the first failure counted
    int failures = 0;
  };
  std::int64_t now_seconds() const;

  const int limit_;
  const Clock& clock_;
  std::mutex mutex_;
  std::unordered_map<std::string, Window> windows_;
};

}  // namespace ucedge::core
