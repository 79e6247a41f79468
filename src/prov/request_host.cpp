#include "prov/request_host.hpp"

namespace ucedge::prov {

RequestHost request_host(const net::Request& request) {
  std::string_view header = request.header("Host");
  RequestHost out;
  out.scheme = request.secure ? "https" : "http";
  std::string_view port;
  if (header.starts_with('[')) {
    auto close = header.find(']');
    out.host = std::string(header.substr(1, close == std::string_view::npos ? header.size() - 1 : close - 1));
    if (close != std::string_view::npos && close + 1 < header.size() && header[close + 1] == ':') {
      port = header.substr(close + 2);
    }
  } else {
    auto colon = header.rfind(':');
    out.host = std::string(header.substr(0, colon));
    if (colon != std::string_view::npos) port = header.substr(colon + 1);
  }
  out.port = port.empty() ? (request.secure ? "443" : "80") : std::string(port);
  return out;
}

core::Result<std::string> profile_rule_for(const Device& device, std::string_view fallback, const RequestHost& host) {
  MacroVariables vars;
  vars.set("SCHEME", host.scheme);
  vars.set("SERV", host.host);
  vars.set("SERVIP", host.host);
  vars.set("PORT", host.port);
  add_device_macros(vars, device);
  auto rule = expand_macros(device.profile_rule.empty() ? fallback : device.profile_rule, vars);
  if (!rule) return core::fail("the profile rule has a macro error at byte " + std::to_string(rule.error().offset) +
                               ": " + rule.error().message);
  return std::move(rule).value();
}

}  // namespace ucedge::prov
