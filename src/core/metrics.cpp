#include "core/metrics.hpp"

#include <cmath>
#include <charconv>

namespace ucedge::core {

namespace {

void append_number(std::string& out, double v) {
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general);  // shortest that reads back the same
  out.append(buf, end);
}

void append_series_name(std::string& out, std::string_view name, std::string_view labels) {
  out += name;
  if (!labels.empty()) {
    out += '{';
    out += labels;
    out += '}';
  }
}

}  // namespace

std::string escape_label(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

void Histogram::observe(double seconds) {
  std::size_t i = 0;
  while (i < bounds.size() && seconds > bounds[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<std::uint64_t>(seconds * 1e9), std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

void Histogram::render(std::string_view name, std::string_view labels, std::string& out) const {
  std::uint64_t cumulative = 0;
  std::string prefix(labels);
  if (!prefix.empty()) prefix += ',';
  for (std::size_t i = 0; i <= bounds.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    out += name;
    out += "_bucket{";
    out += prefix;
    out += "le=\"";
    if (i < bounds.size()) append_number(out, bounds[i]);
    else out += "+Inf";
    out += "\"} ";
    out += std::to_string(cumulative);
    out += '\n';
  }
  std::string sum_name = std::string(name) + "_sum";
  append_series_name(out, sum_name, labels);
  out += ' ';
  append_number(out, static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9);
  out += '\n';
  std::string count_name = std::string(name) + "_count";
  append_series_name(out, count_name, labels);
  out += ' ';
  out += std::to_string(count_.load(std::memory_order_relaxed));
  out += '\n';
}

MetricsRegistry::Family& MetricsRegistry::family(std::string name, std::string help, Type type) {
  for (auto& f : families_) {
    if (f.name == name) return f;
  }
  families_.push_back(Family{std::move(name), std::move(help), type, {}});
  return families_.back();
}

template <class Metric>
Metric& MetricsRegistry::find_or_add(std::deque<Metric>& storage, Metric* Series::*slot, std::string name,
                                     std::string help, Type type, std::string labels) {
  std::lock_guard lock(mutex_);
  auto& f = family(std::move(name), std::move(help), type);
  for (auto& s : f.series) {
    if (s.labels == labels && s.*slot != nullptr) return *(s.*slot);
  }
  Metric& m = storage.emplace_back();
  Series added;
  added.labels = std::move(labels);
  added.*slot = &m;
  f.series.push_back(std::move(added));
  return m;
}

Counter& MetricsRegistry::counter(std::string name, std::string help, std::string labels) {
  return find_or_add(counters_, &Series::counter, std::move(name), std::move(help), Type::counter, std::move(labels));
}

Gauge& MetricsRegistry::gauge(std::string name, std::string help, std::string labels) {
  return find_or_add(gauges_, &Series::gauge, std::move(name), std::move(help), Type::gauge, std::move(labels));
}

Histogram& MetricsRegistry::histogram(std::string name, std::string help, std::string labels) {
  return find_or_add(histograms_, &Series::histogram, std::move(name), std::move(help), Type::histogram,
                     std::move(labels));
}

void MetricsRegistry::gauge_fn(std::string name, std::string help, std::string labels,
                               std::function<double()> read) {
  std::lock_guard lock(mutex_);
  auto& f = family(std::move(name), std::move(help), Type::gauge);
  Series added;
  added.labels = std::move(labels);
  added.read = std::move(read);
  f.series.push_back(std::move(added));
}

std::string MetricsRegistry::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  out.reserve(4096);
  for (const auto& f : families_) {
    out += "# HELP " + f.name + ' ' + f.help + '\n';
    out += "# TYPE " + f.name + ' ';
    out += f.type == Type::counter ? "counter" : f.type == Type::gauge ? "gauge" : "histogram";
    out += '\n';
    for (const auto& s : f.series) {
      if (s.histogram != nullptr) {
        s.histogram->render(f.name, s.labels, out);
        continue;
      }
      append_series_name(out, f.name, s.labels);
      out += ' ';
      if (s.counter != nullptr) out += std::to_string(s.counter->value());
      else if (s.gauge != nullptr) out += std::to_string(s.gauge->value());
      else append_number(out, s.read());
      out += '\n';
    }
  }
  return out;
}

}  // namespace ucedge::core
