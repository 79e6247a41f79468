#pragma once
// Time comes from a Clock so tests can move it instead of sleeping.
#include <atomic>
#include <chrono>

namespace ucedge::core {

class Clock {
 public:
  using SystemTime = std::chrono::system_clock::time_point;
  using SteadyTime = std::chrono::steady_clock::time_point;

  virtual ~Clock() = default;
  // Wall-clock time: token expiry, timestamps shown to people.
  virtual SystemTime now() const = 0;
  // Monotonic time: timeouts, rate limits, intervals.
  virtual SteadyTime steady_now() const = 0;
};

class RealClock final : public Clock {
 public:
  SystemTime now() const override { return std::chrono::system_clock::now(); }
  SteadyTime steady_now() const override { return std::chrono::steady_clock::now(); }
  static const RealClock& instance();
};

// A clock that only moves when told to; both time lines move together.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(SystemTime start = SystemTime{std::chrono::hours(24 * 365 * 56)})
      : system_ns_(start.time_since_epoch().count()), steady_ns_(0) {}

  SystemTime now() const override { return SystemTime{SystemTime::duration{system_ns_.load()}}; }
  SteadyTime steady_now() const override { return SteadyTime{SteadyTime::duration{steady_ns_.load()}}; }

  void advance(std::chrono::nanoseconds d) {
    system_ns_ += std::chrono::duration_cast<SystemTime::duration>(d).count();
    steady_ns_ += std::chrono::duration_cast<SteadyTime::duration>(d).count();
  }

 private:
  std::atomic<SystemTime::rep> system_ns_;
  std::atomic<SteadyTime::rep> steady_ns_;
};

}  // namespace ucedge::core
