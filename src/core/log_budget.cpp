#include "core/log_budget.hpp"

#include <utility>

namespace ucedge::core {

LogBudget::LogBudget(int burst, std::chrono::seconds period, const Clock& clock)
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

}  // namespace ucedge::core
