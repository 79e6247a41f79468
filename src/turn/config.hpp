#pragma once
// The [turn] table: STUN/TURN listeners, relayed addresses and ports,
// credentials, peer policy and quotas.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace ucedge::core {
class ConfigTable;
}

namespace ucedge::turn {

struct TurnConfig {
  bool enabled = true;
  // Addresses of each transport; empty turns it off. UDP and TCP carry
  // STUN/TURN in the clear, TLS uses the TLS policy of interface "turns".
  std::vector<std::string> listen_udp = {"127.0.0.1:3478"};
  std::vector<std::string> listen_tcp = {"127.0.0.1:3478"};
  std::vector<std::string> listen_tls = {"127.0.0.1:5349"};
  int threads = 0;  // relay threads; 0 = [server] threads

  std::string relay_address = "127.0.0.1";  // IPv4 relayed addresses are bound here; "" = no IPv4 relay
  std::string relay_address_v6;             // "" = no IPv6 relay (RFC 6156)
  std::string external_address;             // advertised instead of relay_address (1:1 NAT)
  std::string external_address_v6;
  std::uint16_t relay_port_min = 49152;
  std::uint16_t relay_port_max = 65535;

  std::string realm = "ucedge";
  std::chrono::seconds nonce_lifetime{600};
  std::chrono::seconds default_lifetime{600};   // RFC 8656 §7.2
  std::chrono::seconds max_lifetime{3600};
  bool long_term_credentials = true;  // users managed by `ucedge turn user`
  bool shared_secrets = true;         // TURN REST API, secrets managed by `ucedge turn secret`
  bool integrity_failure_431 = false;
  int auth_failures_per_minute = 20;  // per client address; beyond it requests are dropped

  std::vector<std::string> allow_peers;
  std::vector<std::string> deny_peers;

  int user_quota = 10;        // allocations per username (486)
  int total_quota = 10'000;   // allocations on this node (508)
  std::uint64_t max_bps = 0;  // bytes per second per allocation, each way; 0 = no cap
};

TurnConfig parse_turn_config(core::ConfigTable& table);

}  // namespace ucedge::turn
