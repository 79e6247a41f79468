#pragma once
// Internal to ucedge_tls: the "tls" logger and a budget that keeps log lines
// a peer can trigger (a refused client certificate) from flooding the log.
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>

#include "core/clock.hpp"

namespace spdlog {
class logger;
}

namespace ucedge::net::tls {

// core::logger("tls"): every line of this module goes there.
std::shared_ptr<spdlog::logger> tls_log();

// At most `burst` lines per `period`.
class LogBudget {
 public:
  LogBudget(int burst, std::chrono::seconds period, const core::Clock& clock);
  // nullopt: stay silent. Otherwise how many lines were dropped since the
  // last one allowed, to be mentioned in this one.
  std::optional<std::uint64_t> take();

 private:
  const int burst_;
  const std::chrono::seconds period_;
  const core::Clock& clock_;
  std::mutex mutex_;
  core::Clock::SteadyTime window_start_{};
  int used_ = 0;
  std::uint64_t dropped_ = 0;
};

}  // namespace ucedge::net::tls
