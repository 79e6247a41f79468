#include "prov/codec/user_agent.hpp"

#include <algorithm>
#include <optional>

#include "core/strings.hpp"
#include "prov/codec/device_names.hpp"

namespace ucedge::prov {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool is_alnum(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// Model names are letters, digits and '-' (CP-8841-3PCC, SPA508G, ATA192-3PCC);
// firmware versions add '.', '_' and '+' (11.0, 7.4.4, 11-3-7MPP0001).
bool valid_model(std::string_view s) {
  return !s.empty() && is_alnum(s.front()) && std::all_of(s.begin(), s.end(), [](char c) {
    return is_alnum(c) || c == '-' || c == '_' || c == '.';
  });
}

bool valid_firmware(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return is_alnum(c) || c == '-' || c == '_' || c == '.' || c == '+';
  });
}

// The content of a "( ... )" group: printable ASCII, spaces only inside.
bool valid_group(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

}  // namespace

std::string_view to_string(UserAgentError e) {
  switch (e) {
    case UserAgentError::empty:
      return "empty User-Agent";
    case UserAgentError::unknown_vendor:
      return "not a Cisco or Linksys provisioning client";
    case UserAgentError::malformed:
      return "malformed Cisco/Linksys User-Agent";
  }
  return "unknown User-Agent error";
}

core::Result<DeviceUserAgent, UserAgentError> parse_user_agent(std::string_view user_agent) {
  std::string_view ua = trim(user_agent);
  if (ua.empty()) return core::fail(UserAgentError::empty);

  DeviceUserAgent out;
  std::size_t vendor_end = ua.find_first_of("-/ \t(");
  std::string_view vendor = ua.substr(0, vendor_end);
  if (core::iequals(vendor, "Cisco")) {
    out.vendor = "Cisco";
  } else if (core::iequals(vendor, "Linksys")) {
    out.vendor = "Linksys";
  } else {
    return core::fail(UserAgentError::unknown_vendor);
  }
  if (vendor_end == std::string_view::npos) return core::fail(UserAgentError::malformed);
  char separator = ua[vendor_end];

  std::string_view rest = ua.substr(vendor_end + 1);
  std::size_t product_end = std::min(rest.find_first_of(" \t("), rest.size());
  std::string_view product = rest.substr(0, product_end);
  rest.remove_prefix(product_end);

  std::string_view model, firmware;
  if (separator == '-' && out.vendor == "Cisco") {
    // MPP: Cisco-<model>/<firmware>
    std::size_t slash = product.find('/');
    if (slash == std::string_view::npos) return core::fail(UserAgentError::malformed);
    model = product.substr(0, slash);
    firmware = product.substr(slash + 1);
  } else if (separator == '/') {
    // SPA: <vendor>/<model>-<firmware>; the firmware is what follows the last
    // '-' before a digit, so "SPA508G-7.4.4" splits as SPA508G and 7.4.4.
    std::size_t dash = std::string_view::npos;
    for (std::size_t i = product.size(); i-- > 0;) {
      if (product[i] == '-' && i + 1 < product.size() && product[i + 1] >= '0' && product[i + 1] <= '9') {
        dash = i;
        break;
      }
    }
    if (dash == std::string_view::npos) return core::fail(UserAgentError::malformed);
    model = product.substr(0, dash);
    firmware = product.substr(dash + 1);
  } else {
    return core::fail(UserAgentError::malformed);
  }
  if (!valid_model(model) || !valid_firmware(firmware)) return core::fail(UserAgentError::malformed);
  out.model = std::string(model);
  out.firmware = std::string(firmware);

  // Then up to two groups: "(<mac>)", "(<mac>)(<serial>)" or "(<serial>)".
  std::string_view groups[2];
  std::size_t count = 0;
  rest = trim(rest);
  while (!rest.empty()) {
    if (rest.front() != '(' || count == 2) return core::fail(UserAgentError::malformed);
    std::size_t close = rest.find(')');
    if (close == std::string_view::npos) return core::fail(UserAgentError::malformed);
    std::string_view inner = trim(rest.substr(1, close - 1));
    if (!valid_group(inner) || inner.find('(') != std::string_view::npos) {
      return core::fail(UserAgentError::malformed);
    }
    groups[count++] = inner;
    rest = trim(rest.substr(close + 1));
  }
  if (count >= 1) {
    // A group of 12 hex digits is the MAC; anything else is a serial number
    // (old Linksys firmware sends only its serial).
    if (auto mac = normalize_mac(groups[0])) {
      out.mac = std::move(*mac);
    } else {
      out.serial = std::string(groups[0]);
    }
  }
  if (count == 2) {
    if (out.mac.empty()) return core::fail(UserAgentError::malformed);
    out.serial = std::string(groups[1]);
  }
  return out;
}

}  // namespace ucedge::prov
