#pragma once
// TurnProbe: is a TURN server up, how far away is it, and do our credentials
// get an allocation? A real STUN/TURN client exchange (RFC 8489, RFC 8656)
// with blocking sockets and poll(), for the admin API's
// /api/v1/turnServers/{id}/status. Every exchange is bounded in time, so the
// admin request that runs it is too.
//
// Per transport (UDP to server_address; TCP to tcp_port of the same host when
// set): a Binding request gives reachability, the round-trip time and the
// mapped address. With credentials it then asks for an allocation (an
// Allocate for a UDP relay, answered 401 with REALM and NONCE, asked again
// with MESSAGE-INTEGRITY) and releases it at once (Refresh, LIFETIME 0).
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"

namespace ucedge::turn {

struct ProbeTarget {
  std::string server_address;  // "host" or "host:port" (IPv6 in brackets), port 3478 by default
  std::uint16_t tcp_port = 0;  // also probe over TCP to this port; 0 = UDP only
  // Long-term credentials, used when both are set and short-term ones are not.
  std::string username;
  std::string password;
  // TURN REST API credentials: username "<now+3600>:ucedge-probe",
  // password base64(HMAC-SHA1(shared_secret, username)).
  bool use_short_term_credentials = false;
  std::string shared_secret;
};

struct ProbeOptions {
  // How long one transaction may take. Over UDP the request is sent again
  // after initial_rto, then after twice that, and so on (RFC 8489 §6.2.1)
  // until the transaction's time is up.
  std::chrono::milliseconds transaction_timeout{3000};
  std::chrono::milliseconds initial_rto{500};
  // The whole probe (every address, transport and transaction) ends by then.
  std::chrono::milliseconds total_timeout{10000};
  std::string software = "ucedge-probe";
};

struct ProbeResult {
  std::string transport = "udp";  // "udp" or "tcp"
  std::string server;             // the address the probe reached or tried last, "ip:port"
  bool reachable = false;         // the server answered a Binding request (success or error)
  std::optional<double> rtt_ms;   // of the Binding transaction
  std::string mapped_address;     // XOR-MAPPED-ADDRESS of the Binding response, "ip:port"
  // "not_tried" (no credentials or not reachable), "ok", "unauthorized" (401
  // with credentials), "integrity_failure" (431), "stale_nonce" (438 again
  // after a fresh nonce), "quota" (486), "error NNN" (any other error code),
  // "no_response" (no answer to an Allocate in time, or the connection
  // failed), "bad_response" (an answer without what it must carry, or whose
  // MESSAGE-INTEGRITY is wrong).
  std::string allocation = "not_tried";
  std::string relayed_address;    // XOR-RELAYED-ADDRESS of the allocation, "ip:port"
  bool released = false;          // the Refresh with LIFETIME 0 succeeded
  std::string error;              // why something failed, for people; "" when all went well
};

class TurnProbe {
 public:
  explicit TurnProbe(ProbeOptions options = {}, const core::Clock& clock = core::RealClock::instance());

  // UDP first, then TCP when target.tcp_port is set. A host name is resolved
  // with getaddrinfo; its addresses are tried in order until one answers.
  std::vector<ProbeResult> probe(const ProbeTarget& target) const;

  const ProbeOptions& options() const { return options_; }
  // Wall-clock time, for the REST username's expiry and reports.
  const core::Clock& clock() const { return clock_; }

 private:
  ProbeOptions options_;
  const core::Clock& clock_;
};

}  // namespace ucedge::turn
