#include "core/metrics.hpp"

#include <gtest/gtest.h>

#include <thread>

using namespace ucedge::core;

TEST(Metrics, RendersCountersGaugesAndHistogramsInTextFormat) {
  MetricsRegistry r;
  r.counter("x_total", "Things.", "k=\"a\"").inc(3);
  r.counter("x_total", "Things.", "k=\"b\"").inc();
  r.gauge("y", "Level.").set(-2);
  r.gauge_fn("z", "Computed.", "", [] { return 1.5; });
  auto& h = r.histogram("lat_seconds", "Latency.", "l=\"h\"");
  h.observe(0.0002);
  h.observe(3.0);
  std::string text = r.render();
  EXPECT_NE(text.find("# HELP x_total Things.\n# TYPE x_total counter\nx_total{k=\"a\"} 3\nx_total{k=\"b\"} 1\n"),
            std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE y gauge\ny -2\n"), std::string::npos);
  EXPECT_NE(text.find("z 1.5\n"), std::string::npos);
  EXPECT_NE(text.find("lat_seconds_bucket{l=\"h\",le=\"0.0001\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_seconds_bucket{l=\"h\",le=\"0.00025\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_seconds_bucket{l=\"h\",le=\"1\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_seconds_bucket{l=\"h\",le=\"10\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_seconds_bucket{l=\"h\",le=\"+Inf\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_seconds_count{l=\"h\"} 2\n"), std::string::npos) << text;
}

TEST(Metrics, SameNameAndLabelsGiveTheSameCounter) {
  MetricsRegistry r;
  EXPECT_EQ(&r.counter("a", "h", "x=\"1\""), &r.counter("a", "h", "x=\"1\""));
  EXPECT_NE(&r.counter("a", "h", "x=\"1\""), &r.counter("a", "h", "x=\"2\""));
}

TEST(Metrics, CountersAreExactUnderConcurrency) {
  MetricsRegistry r;
  auto& c = r.counter("n_total", "h");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back([&] { for (int i = 0; i < 100000; ++i) c.inc(); });
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), 400000u);
}

TEST(Metrics, LabelValuesAreEscaped) {
  EXPECT_EQ(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}
