#include "core/failure_limiter.hpp"

namespace ucedge::core {

namespace {
constexpr std::size_t kMaxKeys = 100'000;
constexpr std::int64_t kWindowSeconds = 60;
}

FailureLimiter::FailureLimiter(int failures_per_minute, const Clock& clock)
    : limit_(failures_per_minute), clock_(clock) {}

std::int64_t FailureLimiter::now_seconds() const {
  return std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch()).count();
}

std::int64_t FailureLimiter::retry_after(const std::string& key) {
  const std::int64_t now = now_seconds();
  std::lock_guard lock(mutex_);
  auto it = windows_.find(key);
  if (it == windows_.end() || it->second.failures < limit_) return 0;
  const std::int64_t ends = it->second.started + kWindowSeconds;
  return ends > now ? ends - now : 0;
}

void FailureLimiter::failed(const std::string& key) {
  const std::int64_t now = now_seconds();
  auto expired = [now](const Window& w) { return now - w.started >= kWindowSeconds; };
  std::lock_guard lock(mutex_);
  if (windows_.size() >= kMaxKeys) {
    // Finished windows first; a flood of fresh addresses may clear them all.
    std::erase_if(windows_, [&](const auto& entry) { return expired(entry.second); });
    if (windows_.size() >= kMaxKeys) windows_.clear();
  }
  Window& w = windows_[key];
  if (w.failures == 0 || expired(w)) w = Window{now, 0};
  ++w.failures;
}

}  // namespace ucedge::core
