#include "turn/config.hpp"

#include <arpa/inet.h>

#include "core/config_table.hpp"
#include "net/listen_address.hpp"
#include "turn/address_policy.hpp"

namespace ucedge::turn {

namespace {

std::string ip_address(core::ConfigTable& table, std::string_view key, std::string fallback, int family) {
  std::string text = table.string(key, std::move(fallback));
  unsigned char buffer[16];
  if (!text.empty() && ::inet_pton(family, text.c_str(), buffer) != 1) {
    table.error(key, family == AF_INET ? "expected an IPv4 address, or \"\"" : "expected an IPv6 address, or \"\"");
  }
  return text;
}

std::vector<std::string> cidr_list(core::ConfigTable& table, std::string_view key) {
  auto list = table.strings(key, {});
  for (const auto& entry : list) {
    if (auto valid = validate_cidr(entry); !valid) table.error(key, valid.error());
  }
  return list;
}

}  // namespace

TurnConfig parse_turn_config(core::ConfigTable& table) {
  using namespace std::chrono_literals;
  using std::chrono::duration_cast;
  using std::chrono::seconds;
  TurnConfig c;
  c.enabled = table.boolean("enabled", c.enabled);
  c.listen_udp = net::listen_addresses_key(table, "listen_udp", c.listen_udp);
  c.listen_tcp = net::listen_addresses_key(table, "listen_tcp", c.listen_tcp);
  c.listen_tls = net::listen_addresses_key(table, "listen_tls", c.listen_tls);
  c.threads = static_cast<int>(table.integer("threads", c.threads, 0, 256));

  c.relay_address = ip_address(table, "relay_address", c.relay_address, AF_INET);
  c.relay_address_v6 = ip_address(table, "relay_address_v6", c.relay_address_v6, AF_INET6);
  c.external_address = ip_address(table, "external_address", c.external_address, AF_INET);
  c.external_address_v6 = ip_address(table, "external_address_v6", c.external_address_v6, AF_INET6);
  if (c.relay_address.empty() && c.relay_address_v6.empty()) {
    table.error("relay_address", "relay_address and relay_address_v6 are both empty: nothing to relay from");
  }
  std::string ports = table.string("relay_ports", "49152-65535");
  unsigned low = 0, high = 0;
  char tail = 0;
  if (std::sscanf(ports.c_str(), "%u-%u%c", &low, &high, &tail) != 2 || low < 1024 || high > 65535 || low > high) {
    table.error("relay_ports", "expected \"LOW-HIGH\" within 1024-65535, like \"49152-65535\"");
  } else {
    c.relay_port_min = static_cast<std::uint16_t>(low);
    c.relay_port_max = static_cast<std::uint16_t>(high);
  }

  c.realm = table.string("realm", c.realm);
  if (c.realm.empty() || c.realm.size() > 127) table.error("realm", "must be 1 to 127 characters");
  c.nonce_lifetime = duration_cast<seconds>(table.duration("nonce_lifetime", c.nonce_lifetime, 10s, 24h));
  c.default_lifetime = duration_cast<seconds>(table.duration("default_lifetime", c.default_lifetime, 60s, 24h));
  c.max_lifetime = duration_cast<seconds>(table.duration("max_lifetime", c.max_lifetime, 60s, 24h));
  if (c.max_lifetime < c.default_lifetime) table.error("max_lifetime", "must not be below default_lifetime");
  c.long_term_credentials = table.boolean("long_term_credentials", c.long_term_credentials);
  c.shared_secrets = table.boolean("shared_secrets", c.shared_secrets);
  c.integrity_failure_431 = table.boolean("integrity_failure_431", c.integrity_failure_431);
  c.auth_failures_per_minute =
      static_cast<int>(table.integer("auth_failures_per_minute", c.auth_failures_per_minute, 1, 1'000'000));

  c.allow_peers = cidr_list(table, "allow_peers");
  c.deny_peers = cidr_list(table, "deny_peers");

  c.user_quota = static_cast<int>(table.integer("user_quota", c.user_quota, 1, 1'000'000));
  c.total_quota = static_cast<int>(table.integer("total_quota", c.total_quota, 1, 1'000'000));
  c.max_bps = static_cast<std::uint64_t>(table.integer("max_bps", 0, 0, 1LL << 40));
  table.finish();
  return c;
}

}  // namespace ucedge::turn
