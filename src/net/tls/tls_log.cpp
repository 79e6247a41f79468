#include "net/tls/tls_log.hpp"

#include <spdlog/spdlog.h>

#include "core/log.hpp"

namespace ucedge::net::tls {

std::shared_ptr<spdlog::logger> tls_log() { return core::logger("tls"); }

LogBudget::LogBudget(int burst, std::chrono::seconds period, const core::Clock& clock)
    : burst_(burst), period_(period), clock_(clock) {}

std::optional<std::uint64_t> LogBudget::take() {
  std::lock_guard lock(mutex_);
  auto now = clock_.steady_now();
  if (used_ == 0 || now - window_start_ >= period_) {
    window_start_ = now;
    used_ = 0;
  }
  if (used_ >= burst_) {
    ++dropped_;
    return std::nullopt;
  }
  ++used_;
  return std::exchange(dropped_, 0);
}

}  // namespace ucedge::net::tls
