#pragma once
// Times as APIs and people read them, in UTC.
// utc_timestamp: RFC 3339, "2026-11-23T14:02:11Z".
#include <cstdint>
#include <string>

namespace ucedge::core {

std::string utc_timestamp(std::int64_t unix_seconds);
// For tables people read: "2026-11-23 14:02:11 UTC".
std::string utc_readable(std::int64_t unix_seconds);

}  // namespace ucedge::core
