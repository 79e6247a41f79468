#pragma once
// The turnServers registry of the admin API: the TURN servers an operator
// points clients and probes at, with the fields of Cisco Meeting Server's
// turnServers object (seed 002) so an operator can copy a CMS configuration
// as it is.
//
// Secrets: `password` and `sharedSecret` are sealed with core::SecretBox in
// the store and never leave through the API. A TurnServer read from the
// registry holds them sealed; JSON shows only `hasPassword` and
// `hasSharedSecret` (read-only), as the CMS API shows no password either.
// probe_target() unseals them for the status probe.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "core/secret_box.hpp"
#include "store/store.hpp"
#include "turn/admin/probe.hpp"

namespace ucedge::turn {

inline constexpr std::uint16_t kDefaultTurnPort = 3478;

// The CMS values of `type`.
enum class TurnServerType { standard, expressway, cms, lync_edge };
std::string_view to_string(TurnServerType type);  // "standard", "expressway", "cms", "lyncEdge"
std::optional<TurnServerType> turn_server_type_from_string(std::string_view text);

struct TurnServer {
  std::string id;              // UUID v4, lower case
  std::string server_address;  // "host" or "host:port"; where probes (and CMS's call bridge) go
  std::string client_address;  // the same for clients (web app, WebRTC); "" = as server_address
  std::string username;        // long-term credential user; "" = none
  std::string password;        // sealed; "" = none
  bool use_short_term_credentials = false;  // TURN REST API credentials from shared_secret
  std::string shared_secret;   // sealed; "" = none
  TurnServerType type = TurnServerType::standard;
  std::uint16_t tcp_port_number_override = 0;  // 0 = no TCP
  std::int64_t num_registrations = 0;
  std::int64_t created_at = 0;  // unix seconds
  std::int64_t updated_at = 0;
};

// A create or a change: each field that is set is written, the others are
// left as they are (or at their defaults on create). Secrets in clear here.
struct TurnServerInput {
  std::optional<std::string> server_address;
  std::optional<std::string> client_address;
  std::optional<std::string> username;
  std::optional<std::string> password;
  std::optional<bool> use_short_term_credentials;
  std::optional<std::string> shared_secret;
  std::optional<std::string> type;
  std::optional<std::int64_t> tcp_port_number_override;
  std::optional<std::int64_t> num_registrations;
};

struct RegistryError {
  enum class Kind {
    invalid,      // the input broke a rule; message says which field and why
    not_found,    // no server with this id
    unavailable,  // the store failed, or a sealed secret cannot be opened
  };
  Kind kind = Kind::invalid;
  std::string message;
};

// "host" or "host:port" with an IPv6 literal in brackets ("[2001:db8::1]:3478").
// The host is an IPv4 or IPv6 literal or a DNS name; the port 1..65535.
struct HostPort {
  std::string host;  // without brackets
  std::uint16_t port = kDefaultTurnPort;
  bool ipv6_literal = false;
};
core::Result<HostPort> parse_host_port(std::string_view text, std::uint16_t default_port = kDefaultTurnPort);

class TurnServerRegistry {
 public:
  TurnServerRegistry(store::Store& store, const core::SecretBox& secrets,
                     const core::Clock& clock = core::RealClock::instance());

  // By created_at (seconds), then id: servers created within one second
  // come in no particular order.
  core::Result<std::vector<TurnServer>, RegistryError> list() const;
  core::Result<TurnServer, RegistryError> get(std::string_view id) const;
  // server_address is required; the id is new and random.
  core::Result<TurnServer, RegistryError> create(const TurnServerInput& input);
  // Changes only the fields `input` sets, then checks the whole record.
  core::Result<TurnServer, RegistryError> update(std::string_view id, const TurnServerInput& input);
  core::Result<void, RegistryError> remove(std::string_view id);

  // What the probe needs, secrets unsealed.
  core::Result<ProbeTarget, RegistryError> probe_target(const TurnServer& server) const;

 private:
  store::Store& store_;
  const core::SecretBox& secrets_;
  const core::Clock& clock_;
};

}  // namespace ucedge::turn
