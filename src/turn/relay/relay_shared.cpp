#include "turn/relay/relay_shared.hpp"

#include "turn/relay/allocation.hpp"

#include <arpa/inet.h>
#include <openssl/rand.h>
#include <unistd.h>

#include "ucedge/build_info.hpp"

namespace ucedge::turn {

namespace {

std::optional<Endpoint> endpoint_of(const std::string& ip, int family) {
  if (ip.empty()) return std::nullopt;
  stun::TransportAddress a;
  a.family = family == AF_INET ? stun::TransportAddress::Family::ipv4 : stun::TransportAddress::Family::ipv6;
  if (::inet_pton(family, ip.c_str(), a.ip.data()) != 1) return std::nullopt;
  return Endpoint::from(a);
}

}  // namespace

RelayMetrics RelayMetrics::create(core::MetricsRegistry& r) {
  RelayMetrics m;
  m.allocations = &r.gauge("ucedge_turn_allocations", "TURN allocations alive now.");
  m.allocations_created = &r.counter("ucedge_turn_allocations_created_total", "TURN allocations created.");
  const std::string packets = "ucedge_turn_relayed_packets_total";
  const std::string packets_help = "Datagrams relayed, counted as they pass.";
  const std::string bytes = "ucedge_turn_relayed_bytes_total";
  const std::string bytes_help = "Application bytes relayed, counted as they pass.";
  m.packets_to_peers = &r.counter(packets, packets_help, R"(direction="to_peer")");
  m.packets_from_peers = &r.counter(packets, packets_help, R"(direction="from_peer")");
  m.bytes_to_peers = &r.counter(bytes, bytes_help, R"(direction="to_peer")");
  m.bytes_from_peers = &r.counter(bytes, bytes_help, R"(direction="from_peer")");
  const std::string dropped = "ucedge_turn_dropped_packets_total";
  const std::string dropped_help = "Datagrams the relay did not forward, by reason.";
  m.dropped_no_permission = &r.counter(dropped, dropped_help, R"(reason="no_permission")");
  m.dropped_bandwidth = &r.counter(dropped, dropped_help, R"(reason="bandwidth")");
  m.dropped_no_allocation = &r.counter(dropped, dropped_help, R"(reason="no_allocation")");
  m.peers_refused = &r.counter("ucedge_turn_peers_refused_total",
                               "Permissions, channels and Send indications refused by the peer address policy.");
  m.binding_requests = &r.counter("ucedge_turn_binding_requests_total", "STUN Binding requests answered.");
  m.stream_connections = &r.counter("ucedge_turn_stream_connections_total", "TCP and TLS connections accepted.");
  m.stream_connections_refused = &r.counter("ucedge_turn_stream_connections_refused_total",
                                            "TCP and TLS connections closed at once: too many were open.");
  for (std::string_view reason : {"no_credentials", "bad_request", "wrong_realm", "stale_nonce", "bad_nonce",
                                  "unknown_user", "expired", "bad_integrity", "rate_limited", "wrong_credentials"}) {
    m.auth_failures.emplace(std::string(reason),
                            &r.counter("ucedge_turn_auth_failures_total",
                                       "Requests refused by authentication, by reason (no per-user labels).",
                                       "reason=\"" + std::string(reason) + "\""));
  }
  for (int code : {400, 403, 420, 437, 440, 441, 442, 443, 446, 447, 486, 500, 508}) {
    m.errors.emplace(std::to_string(code),
                     &r.counter("ucedge_turn_error_answers_total", "Error answers other than authentication, by code.",
                                "code=\"" + std::to_string(code) + "\""));
  }
  return m;
}

void RelayMetrics::auth_failure(std::string_view label) const {
  auto it = auth_failures.find(std::string(label));
  if (it != auth_failures.end()) it->second->inc();
}

void RelayMetrics::error_answer(int code) const {
  auto it = errors.find(std::to_string(code));
  if (it != errors.end()) it->second->inc();
}

RelayShared::RelayShared(const TurnConfig& c, const Authenticator& a, const AddressPolicy& p,
                         core::MetricsRegistry& registry)
    : config(c),
      authenticator(a),
      policy(p),
      metrics(RelayMetrics::create(registry)),
      ports(c.relay_port_min, c.relay_port_max),
      auth_failures(c.auth_failures_per_minute),
      software(std::string("ucedge/") + build::version),
      relay_v4(endpoint_of(c.relay_address, AF_INET)),
      relay_v6(endpoint_of(c.relay_address_v6, AF_INET6)),
      advertised_v4(c.external_address.empty() ? relay_v4 : endpoint_of(c.external_address, AF_INET)),
      advertised_v6(c.external_address_v6.empty() ? relay_v6 : endpoint_of(c.external_address_v6, AF_INET6)),
      // Every allocation may have its control connection and a data connection,
      // plus room for clients still authenticating.
      max_stream_connections(c.total_quota * 2 + 1024) {}

RelayShared::Quota RelayShared::acquire(const std::string& username) {
  std::lock_guard lock(quota_mutex_);
  if (total_.load(std::memory_order_relaxed) >= config.total_quota) return Quota::total;
  int& mine = per_user_[username];
  if (mine >= config.user_quota) {
    if (mine == 0) per_user_.erase(username);
    return Quota::user;
  }
  ++mine;
  total_.fetch_add(1, std::memory_order_relaxed);
  return Quota::ok;
}

void RelayShared::release(const std::string& username) {
  std::lock_guard lock(quota_mutex_);
  auto it = per_user_.find(username);
  if (it != per_user_.end() && --it->second <= 0) per_user_.erase(it);
  total_.fetch_sub(1, std::memory_order_relaxed);
}

TcpConnectionTable::~TcpConnectionTable() {
  for (auto& [id, e] : entries_) {
    ::close(e.fd);
    if (e.open) e.open->store(false);
  }
}

std::uint32_t TcpConnectionTable::add(Entry entry) {
  std::lock_guard lock(mutex_);
  std::uint32_t id = 0;
  // Unguessable, and a ConnectionBind must also come with the allocation's credentials.
  do {
    if (::RAND_bytes(reinterpret_cast<unsigned char*>(&id), sizeof id) != 1) id = static_cast<std::uint32_t>(entries_.size() + 1);
  } while (id == 0 || entries_.count(id));
  entries_.emplace(id, std::move(entry));
  return id;
}

std::optional<TcpConnectionTable::Entry> TcpConnectionTable::take(std::uint32_t id) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return std::nullopt;
  Entry e = std::move(it->second);
  entries_.erase(it);
  return e;
}

void TcpConnectionTable::expire(std::int64_t now) {
  std::lock_guard lock(mutex_);
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.expires <= now || !it->second.allocation_alive->load()) {
      ::close(it->second.fd);
      if (it->second.open) it->second.open->store(false);
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
}

std::string_view to_string(ClientTransport t) {
  switch (t) {
    case ClientTransport::udp: return "udp";
    case ClientTransport::tcp: return "tcp";
    case ClientTransport::tls: return "tls";
  }
  return "udp";
}

}  // namespace ucedge::turn
