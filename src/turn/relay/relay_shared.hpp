#pragma once
// What every relay thread reads: settings, credentials, the peer policy, the
// relay ports, quotas and metrics. Written before the threads start, except
// the quota table, which has its own lock.
#include <openssl/ssl.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/failure_limiter.hpp"
#include "core/metrics.hpp"
#include "turn/address_policy.hpp"
#include "turn/auth/authenticator.hpp"
#include "turn/config.hpp"
#include "turn/relay/endpoint.hpp"
#include "turn/relay/relay_ports.hpp"

namespace ucedge::turn {

// The current TLS context of the "turns" interface, kept alive by the
// returned owner for as long as a connection uses it.
using TlsContextSource = std::function<std::shared_ptr<void>(SSL_CTX** context)>;

struct RelayMetrics {
  core::Gauge* allocations = nullptr;
  core::Counter* allocations_created = nullptr;
  core::Counter* packets_to_peers = nullptr;
  core::Counter* bytes_to_peers = nullptr;
  core::Counter* packets_from_peers = nullptr;
  core::Counter* bytes_from_peers = nullptr;
  core::Counter* dropped_no_permission = nullptr;
  core::Counter* dropped_bandwidth = nullptr;
  core::Counter* dropped_no_allocation = nullptr;
  core::Counter* peers_refused = nullptr;       // CreatePermission/ChannelBind/Send to a denied peer
  core::Counter* binding_requests = nullptr;
  core::Counter* stream_connections = nullptr;          // TCP/TLS connections accepted
  core::Counter* stream_connections_refused = nullptr;  // closed at once: too many open
  std::unordered_map<std::string, core::Counter*> auth_failures;  // by reason label
  std::unordered_map<std::string, core::Counter*> errors;         // answers by error code

  static RelayMetrics create(core::MetricsRegistry& registry);
  void auth_failure(std::string_view label) const;
  void error_answer(int code) const;
};

// RFC 6062: peer connections waiting for the client's ConnectionBind, which
// may arrive on a data connection another thread accepted.
class TcpConnectionTable {
 public:
  struct Entry {
    int fd = -1;
    Endpoint peer;
    std::string username;
    std::shared_ptr<std::atomic<bool>> allocation_alive;
    std::shared_ptr<std::atomic<bool>> open;
    std::int64_t expires = 0;  // steady seconds
  };
  ~TcpConnectionTable();
  std::uint32_t add(Entry entry);
  std::optional<Entry> take(std::uint32_t id);
  void expire(std::int64_t now);  // closes what waited 30 s (RFC 6062 §5.3)

 private:
  std::mutex mutex_;
  std::unordered_map<std::uint32_t, Entry> entries_;
};

struct RelayShared {
  RelayShared(const TurnConfig& config, const Authenticator& authenticator, const AddressPolicy& policy,
              core::MetricsRegistry& registry);

  const TurnConfig& config;
  const Authenticator& authenticator;
  const AddressPolicy& policy;
  RelayMetrics metrics;
  RelayPorts ports;
  core::FailureLimiter auth_failures;
  std::string software;  // SOFTWARE attribute: "ucedge/VERSION"
  TlsContextSource tls;

  std::optional<Endpoint> relay_v4;     // where relayed sockets bind
  std::optional<Endpoint> relay_v6;
  std::optional<Endpoint> advertised_v4;  // what XOR-RELAYED-ADDRESS says
  std::optional<Endpoint> advertised_v6;

  std::atomic<std::uint64_t> next_allocation_id{1};
  TcpConnectionTable tcp_connections;
  // TCP and TLS connections open on this node: beyond max_stream_connections
  // a new one is closed at once.
  std::atomic<int> stream_connections{0};
  int max_stream_connections = 0;
  // Added to the relay threads' clock: lets tests see lifetimes run out
  // without waiting minutes. Always 0 in the daemon.
  std::atomic<std::int64_t> clock_shift_ms{0};
  // Answers to requests that failed authentication, per thread per second.
  double challenges_per_second_per_thread = 20'000;

  // Quotas: allocations per username and in total.
  enum class Quota { ok, user, total };
  Quota acquire(const std::string& username);
  void release(const std::string& username);
  int total() const { return total_.load(std::memory_order_relaxed); }

 private:
  std::mutex quota_mutex_;
  std::unordered_map<std::string, int> per_user_;
  std::atomic<int> total_{0};
};

}  // namespace ucedge::turn
