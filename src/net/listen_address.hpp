#pragma once
// "host:port" as written in the configuration: an IPv4 literal, "[IPv6]",
// or "localhost" (loopback, IPv4), and a port 0..65535.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ucedge::net {

struct ListenAddress {
  std::string host;  // address literal, brackets removed
  std::uint16_t port = 0;
};

std::optional<ListenAddress> parse_listen_address(std::string_view text);

}  // namespace ucedge::net

namespace ucedge::core {
class ConfigTable;
}

namespace ucedge::net {

// Reads a listener's address from `table`: "" (turned off) or one
// parse_listen_address() accepts; anything else is a configuration error.
std::string listen_address_key(core::ConfigTable& table, std::string_view key, std::string fallback);
// The same for a key that may list several addresses (or "" for none).
std::vector<std::string> listen_addresses_key(core::ConfigTable& table, std::string_view key,
                                              std::vector<std::string> fallback);

}  // namespace ucedge::net
