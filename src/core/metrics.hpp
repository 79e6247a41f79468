#pragma once
// Prometheus metrics: lock-free counters, gauges and histograms, and a
// registry that renders the text exposition format (version 0.0.4).
// Registration takes a lock; updating a metric never does.
#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace ucedge::core {

class Counter {
 public:
  void inc(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Gauge {
 public:
  void add(std::int64_t n) { value_.fetch_add(n, std::memory_order_relaxed); }
  void set(std::int64_t n) { value_.store(n, std::memory_order_relaxed); }
  std::int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

// Fixed buckets in seconds, from 100 µs to 10 s: wide enough for a request.
class Histogram {
 public:
  static constexpr std::array<double, 14> bounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                    0.005,  0.01,    0.025,  0.05,  0.1,
                                                    0.25,   0.5,     1.0,    10.0};
  void observe(double seconds);
  // Appends the _bucket, _sum and _count lines.
  void render(std::string_view name, std::string_view labels, std::string& out) const;

 private:
  std::array<std::atomic<std::uint64_t>, bounds.size() + 1> buckets_{};
  std::atomic<std::uint64_t> sum_ns_{0};
  std::atomic<std::uint64_t> count_{0};
};

class MetricsRegistry {
 public:
  enum class Type { counter, gauge, histogram };
  // labels: the inside of the braces, e.g. R"(listener="http")", or "".
  Counter& counter(std::string name, std::string help, std::string labels = {});
  Gauge& gauge(std::string name, std::string help, std::string labels = {});
  Histogram& histogram(std::string name, std::string help, std::string labels = {});
  // A value read when scraped.
  void gauge_fn(std::string name, std::string help, std::string labels, std::function<double()> read);

  std::string render() const;

 private:
  struct Series {
    std::string labels;
    Counter* counter = nullptr;
    Gauge* gauge = nullptr;
    Histogram* histogram = nullptr;
    std::function<double()> read;
  };
  struct Family {
    std::string name, help;
    Type type;
    std::vector<Series> series;
  };
  Family& family(std::string name, std::string help, Type type);
  template <class Metric>
  Metric& find_or_add(std::deque<Metric>& storage, Metric* Series::*slot, std::string name, std::string help,
                      Type type, std::string labels);

  mutable std::mutex mutex_;
  std::deque<Family> families_;
  std::deque<Counter> counters_;
  std::deque<Gauge> gauges_;
  std::deque<Histogram> histograms_;
};

// Escapes a label value for the exposition format.
std::string escape_label(std::string_view value);

}  // namespace ucedge::core
