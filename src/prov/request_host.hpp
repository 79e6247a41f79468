#pragma once
// What a client used to reach ucedge ($SCHEME, $SERV, $PORT), from the Host
// header: the profile rules ucedge hands out (activation, CGI resync) and the
// templates it renders name the server the way the phone reached it.
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "net/http.hpp"
#include "prov/device.hpp"

namespace ucedge::prov {

struct RequestHost {
  std::string scheme;  // "http" or "https"
  std::string host;    // without brackets or port
  std::string port;    // the default port of the scheme when the header has none
};

RequestHost request_host(const net::Request& request);

// The rule `device` is told to fetch from: its own profile_rule, else
// `fallback`, macro-expanded for the device and `host`.
core::Result<std::string> profile_rule_for(const Device& device, std::string_view fallback, const RequestHost& host);

}  // namespace ucedge::prov
