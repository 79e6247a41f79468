#pragma once
// Socket addresses on the relay's data path: one fixed-size form that serves
// as a hash key, converts to and from sockaddr and from the codec's
// TransportAddress without allocating.
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "turn/codec/stun.hpp"

namespace ucedge::turn {

struct Endpoint {
  sockaddr_storage storage{};
  socklen_t length = 0;

  static Endpoint from(const stun::TransportAddress& a);
  static Endpoint from(const sockaddr* sa, socklen_t len);
  stun::TransportAddress transport_address() const;

  bool is_v6() const { return storage.ss_family == AF_INET6; }
  std::uint16_t port() const;
  const sockaddr* sockaddr_ptr() const { return reinterpret_cast<const sockaddr*>(&storage); }
  sockaddr* sockaddr_ptr() { return reinterpret_cast<sockaddr*>(&storage); }
  std::string to_string() const;     // "1.2.3.4:5", "[::1]:5"
  std::string ip_string() const;     // without the port

  // Same family, address and port.
  bool same(const Endpoint& other) const;
  // Same family and address (a permission is per IP address, RFC 8656 §9).
  bool same_ip(const Endpoint& other) const;
};

// A (family, IP, port) key of 20 bytes for hash maps.
struct EndpointKey {
  std::array<std::uint8_t, 16> ip{};
  std::uint16_t port = 0;
  std::uint8_t family = 0;
  bool operator==(const EndpointKey&) const = default;
  static EndpointKey of(const Endpoint& e);
};

struct EndpointKeyHash {
  std::size_t operator()(const EndpointKey& k) const {
    std::uint64_t a, b;
    std::memcpy(&a, k.ip.data(), 8);
    std::memcpy(&b, k.ip.data() + 8, 8);
    std::uint64_t h = a * 0x9E3779B97F4A7C15ULL ^ (b + 0x632BE59BD9B4E019ULL + (h_seed(k)));
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ULL;
    return static_cast<std::size_t>(h ^ (h >> 32));
  }
  static std::uint64_t h_seed(const EndpointKey& k) {
    return (static_cast<std::uint64_t>(k.port) << 8 | k.family) * 0x94D049BB133111EBULL;
  }
};

}  // namespace ucedge::turn
