#pragma once
// One TURN allocation (RFC 8656 §2.2): the client's 5-tuple, its relayed
// transport addresses (one per family, two for a dual allocation), and the
// permissions and channels that say which peers may use them. Owned and
// touched by one relay thread; counters are readable from others.
#include <atomic>
#include <memory>
#include <cstdint>
#include <string>
#include <vector>

#include "turn/codec/stun.hpp"
#include "turn/relay/endpoint.hpp"
#include "turn/relay/relay_ports.hpp"

namespace ucedge::turn {

class StreamConnection;
class Allocation;

// What an epoll event points at.
struct Handle {
  enum class Kind : std::uint8_t {
    udp_listener,
    tcp_listener,
    stream,
    relay,
    wake,
    tcp_relay_listener,  // RFC 6062: peers connect to a TCP allocation here
    peer_connect,        // RFC 6062: the server's connection to a peer, being made
    pipe_peer,           // RFC 6062: the peer side of a bound data connection
  };
  Kind kind;
  void* owner = nullptr;
  int family_index = 0;  // relay: 0 = IPv4 socket, 1 = IPv6 socket
};

enum class ClientTransport : std::uint8_t { udp, tcp, tls };
std::string_view to_string(ClientTransport t);

// A counter written by one thread and read by others: no locked instruction.
class OwnedCounter {
 public:
  void add(std::uint64_t n) { value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// Bytes per second with a one-second burst; rate 0 = no cap.
class ByteBucket {
 public:
  void set_rate(std::uint64_t bytes_per_second) {
    rate_ = bytes_per_second;
    tokens_ = static_cast<std::int64_t>(bytes_per_second);
  }
  bool take(std::size_t bytes, std::int64_t now_ms) {
    if (rate_ == 0) return true;
    if (now_ms > last_ms_) {
      tokens_ += static_cast<std::int64_t>(rate_) * (now_ms - last_ms_) / 1000;
      if (tokens_ > static_cast<std::int64_t>(rate_)) tokens_ = static_cast<std::int64_t>(rate_);
      last_ms_ = now_ms;
    }
    if (tokens_ < static_cast<std::int64_t>(bytes)) return false;
    tokens_ -= static_cast<std::int64_t>(bytes);
    return true;
  }

 private:
  std::uint64_t rate_ = 0;
  std::int64_t tokens_ = 0;
  std::int64_t last_ms_ = 0;
};

// RFC 6062: a connection to a peer the server made (Connect) and has not
// yet been told its result.
struct PendingConnect {
  int fd = -1;
  Endpoint peer;
  Allocation* allocation = nullptr;
  stun::TransactionId transaction{};
  std::array<std::uint8_t, 16> key{};
  bool sha256 = false;
  std::int64_t deadline = 0;  // steady seconds
  Handle handle{};
};

struct Permission {
  Endpoint peer;            // the port is not part of a permission
  std::int64_t expires = 0; // steady seconds
};

struct Channel {
  std::uint16_t number = 0;
  Endpoint peer;
  std::int64_t expires = 0;
};

class Allocation {
 public:
  std::uint64_t id = 0;
  std::string username;
  std::string realm;
  ClientTransport transport = ClientTransport::udp;
  Endpoint client;
  int listener_fd = -1;                    // UDP: the socket that answers the client
  StreamConnection* connection = nullptr;  // TCP/TLS: the control connection
  std::array<RelaySocket, 2> relays;       // [0] IPv4, [1] IPv6; either may be closed
  std::array<Handle, 2> relay_handles{};
  bool dont_fragment = false;
  // RFC 6062: the relayed address is a listening TCP socket in relays[0/1];
  // `alive` tells data connections on other threads that it ended.
  bool tcp = false;
  std::shared_ptr<std::atomic<bool>> alive = std::make_shared<std::atomic<bool>>(true);
  // Peers with a connection made by Connect, for 446; each flag turns false
  // when its connection closes.
  std::vector<std::pair<Endpoint, std::shared_ptr<std::atomic<bool>>>> tcp_peers;

  stun::TransactionId allocate_transaction{};
  std::vector<std::uint8_t> allocate_response;  // resent on a retransmitted Allocate

  std::int64_t expires = 0;     // steady seconds
  std::int64_t created_unix = 0;
  std::int64_t expires_unix = 0;
  std::vector<Permission> permissions;
  std::vector<Channel> channels;
  bool dead = false;

  ByteBucket to_peer_budget;
  ByteBucket from_peer_budget;
  OwnedCounter packets_to_peers, bytes_to_peers, packets_from_peers, bytes_from_peers, dropped;

  // Hot path look-ups: few peers per allocation, so a scan beats a hash.
  const Permission* permission_for(const Endpoint& peer, std::int64_t now) const {
    for (const auto& p : permissions) {
      if (p.expires > now && p.peer.same_ip(peer)) return &p;
    }
    return nullptr;
  }
  const Channel* channel_by_number(std::uint16_t number, std::int64_t now) const {
    for (const auto& c : channels) {
      if (c.number == number) return c.expires > now ? &c : nullptr;
    }
    return nullptr;
  }
  const Channel* channel_by_peer(const Endpoint& peer, std::int64_t now) const {
    for (const auto& c : channels) {
      if (c.expires > now && c.peer.same(peer)) return &c;
    }
    return nullptr;
  }
  int relay_index_for(const Endpoint& peer) const { return peer.is_v6() ? 1 : 0; }
};

}  // namespace ucedge::turn
