#include "net/listen_address.hpp"

#include "core/config_table.hpp"

#include <arpa/inet.h>

namespace ucedge::net {

std::optional<ListenAddress> parse_listen_address(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == text.size()) return std::nullopt;
  std::string_view host = text.substr(0, colon);
  std::string_view port_text = text.substr(colon + 1);
  if (port_text.size() > 5) return std::nullopt;
  unsigned port = 0;
  for (char c : port_text) {
    if (c < '0' || c > '9') return std::nullopt;
    port = port * 10 + static_cast<unsigned>(c - '0');
  }
  if (port > 65535) return std::nullopt;

  ListenAddress out;
  out.port = static_cast<std::uint16_t>(port);
  unsigned char buf[16];
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    out.host = std::string(host.substr(1, host.size() - 2));
    if (inet_pton(AF_INET6, out.host.c_str(), buf) != 1) return std::nullopt;
    return out;
  }
  if (host == "localhost") {
    out.host = "127.0.0.1";
    return out;
  }
  out.host = std::string(host);
  if (inet_pton(AF_INET, out.host.c_str(), buf) != 1) return std::nullopt;
  return out;
}

std::string listen_address_key(core::ConfigTable& table, std::string_view key, std::string fallback) {
  std::string address = table.string(key, std::move(fallback));
  if (!address.empty() && !parse_listen_address(address)) {
    table.error(key, "\"" + address + "\" is not an address such as \"127.0.0.1:8080\" or \"[::1]:8080\", "
                     "nor \"\" to turn it off");
  }
  return address;
}

std::vector<std::string> listen_addresses_key(core::ConfigTable& table, std::string_view key,
                                              std::vector<std::string> fallback) {
  auto list = table.string_or_strings(key, std::move(fallback));
  for (const auto& address : list) {
    if (!parse_listen_address(address)) {
      table.error(key, "\"" + address + "\" is not an address such as \"127.0.0.1:3478\" or \"[::1]:3478\"");
    }
  }
  return list;
}

}  // namespace ucedge::net
