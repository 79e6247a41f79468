// Any bytes as a User-Agent header and as a requested file name: the parsers
// answer a device or a typed error, and every MAC they give is 12 lower-case
// hex digits.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>

#include "prov/codec/device_names.hpp"
#include "prov/codec/user_agent.hpp"

namespace {

bool is_ma(std::string_view s) {
  if (s.size() != 12) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  using namespace ucedge::prov;

  auto ua = parse_user_agent(text);
  if (ua) {
    if (ua->vendor != "Cisco" && ua->vendor != "Linksys") __builtin_trap();
    if (ua->model.empty() || ua->firmware.empty()) __builtin_trap();
    if (!ua->mac.empty() && !is_ma(ua->mac)) __builtin_trap();
    if (ua->mac.empty() && ua->serial.empty() && text.find('(') != std::string_view::npos) __builtin_trap();
    if (product_series(ua->model).size() > ua->model.size()) __builtin_trap();
  } else if (to_string(ua.error()).empty()) {
    __builtin_trap();
  }

  if (auto mac = normalize_mac(text)) {
    if (!is_ma(*mac)) __builtin_trap();
    if (normalize_mac(*mac) != mac) __builtin_trap();
    if (normalize_mac(colon_mac(*mac)) != mac) __builtin_trap();
    if (normalize_mac(upper_mac(*mac)) != mac) __builtin_trap();
  }

  std::unordered_set<std::string> seen;
  for (const auto& candidate : mac_candidates(text)) {
    if (!is_ma(candidate) || !seen.insert(candidate).second) __builtin_trap();
  }

  std::string series = product_series(text);
  if (!series.empty() && text.find(series) == std::string_view::npos) __builtin_trap();
  return 0;
}
