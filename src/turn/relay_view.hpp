#pragma once
// What the relay shows of itself to the admin API: its live allocations, with
// traffic counted as it flows (not when a session ends).
#include <cstdint>
#include <string>
#include <vector>

namespace ucedge::turn {

struct PeerInfo {
  std::string address;            // "ip:port" for a channel, "ip" for a permission
  std::uint16_t channel = 0;      // 0 = permission only
  std::int64_t expires_at = 0;    // unix seconds
};

struct AllocationInfo {
  std::string id;                 // stable while the allocation lives
  std::string username;
  std::string realm;
  std::string client;             // "ip:port" of the client as the server sees it
  std::string transport;          // client to server: "udp", "tcp", "tls"
  std::string relayed;            // "ip:port" of the relayed transport address
  std::int64_t created_at = 0;    // unix seconds
  std::int64_t expires_at = 0;
  std::uint64_t packets_to_peers = 0;
  std::uint64_t bytes_to_peers = 0;
  std::uint64_t packets_from_peers = 0;
  std::uint64_t bytes_from_peers = 0;
  std::uint64_t dropped = 0;      // over the bandwidth cap, or to a peer without permission
  std::vector<PeerInfo> peers;
};

class RelayView {
 public:
  virtual ~RelayView() = default;
  virtual std::vector<AllocationInfo> allocations() const = 0;
};

}  // namespace ucedge::turn
