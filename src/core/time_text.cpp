#include "core/time_text.hpp"

#include <ctime>

namespace ucedge::core {

namespace {

std::string format_utc(std::int64_t unix_seconds, const char* format) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}

}  // namespace

std::string utc_timestamp(std::int64_t unix_seconds) { return format_utc(unix_seconds, "%Y-%m-%dT%H:%M:%SZ"); }

std::string utc_readable(std::int64_t unix_seconds) { return format_utc(unix_seconds, "%Y-%m-%d %H:%M:%S UTC"); }

}  // namespace ucedge::core
