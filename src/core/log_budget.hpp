#pragma once
// Keeps log lines that traffic can trigger (a refused certificate, a failing
// accept, a malformed packet) from flooding the log: at most `burst` lines a
// `period`, and the next line allowed says how many were dropped.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>

#include "core/clock.hpp"

namespace ucedge::core {

class LogBudget {
 public:
  LogBudget(int burst, std::chrono::seconds period, const Clock& clock = RealClock::instance());
  // nullopt: stay silent. Otherwise how many lines were dropped since the
  // last one allowed, to be mentioned in this one.
  std::optional<std::uint64_t> take();

 private:
  const int burst_;
  const std::chrono::seconds period_;
  const Clock& clock_;
  std::mutex mutex_;
  Clock::SteadyTime window_start_{};
  int used_ = 0;
  std::uint64_t dropped_ = 0;
};

}  // namespace ucedge::core
