#include "turn/relay/endpoint.hpp"

#include <arpa/inet.h>

namespace ucedge::turn {

Endpoint Endpoint::from(const stun::TransportAddress& a) {
  Endpoint e;
  if (a.family == stun::TransportAddress::Family::ipv4) {
    auto* in = reinterpret_cast<sockaddr_in*>(&e.storage);
    in->sin_family = AF_INET;
    in->sin_port = htons(a.port);
    std::memcpy(&in->sin_addr, a.ip.data(), 4);
    e.length = sizeof(sockaddr_in);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&e.storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(a.port);
    std::memcpy(&in6->sin6_addr, a.ip.data(), 16);
    e.length = sizeof(sockaddr_in6);
  }
  return e;
}

Endpoint Endpoint::from(const sockaddr* sa, socklen_t len) {
  Endpoint e;
  if (len > sizeof(e.storage)) len = sizeof(e.storage);
  std::memcpy(&e.storage, sa, len);
  e.length = len;
  return e;
}

stun::TransportAddress Endpoint::transport_address() const {
  stun::TransportAddress a;
  if (storage.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&storage);
    a.family = stun::TransportAddress::Family::ipv6;
    std::memcpy(a.ip.data(), &in6->sin6_addr, 16);
    a.port = ntohs(in6->sin6_port);
  } else {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&storage);
    a.family = stun::TransportAddress::Family::ipv4;
    std::memcpy(a.ip.data(), &in->sin_addr, 4);
    a.port = ntohs(in->sin_port);
  }
  return a;
}

std::uint16_t Endpoint::port() const {
  if (storage.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
}

std::string Endpoint::ip_string() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (storage.ss_family == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr, text, sizeof text);
  } else {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, text, sizeof text);
  }
  return text;
}

std::string Endpoint::to_string() const {
  if (storage.ss_family == AF_INET6) return "[" + ip_string() + "]:" + std::to_string(port());
  return ip_string() + ":" + std::to_string(port());
}

bool Endpoint::same_ip(const Endpoint& other) const {
  if (storage.ss_family != other.storage.ss_family) return false;
  if (storage.ss_family == AF_INET6) {
    return std::memcmp(&reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr,
                       &reinterpret_cast<const sockaddr_in6*>(&other.storage)->sin6_addr, 16) == 0;
  }
  return reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr.s_addr ==
         reinterpret_cast<const sockaddr_in*>(&other.storage)->sin_addr.s_addr;
}

bool Endpoint::same(const Endpoint& other) const { return same_ip(other) && port() == other.port(); }

EndpointKey EndpointKey::of(const Endpoint& e) {
  EndpointKey k;
  k.family = static_cast<std::uint8_t>(e.storage.ss_family);
  k.port = e.port();
  if (e.storage.ss_family == AF_INET6) {
    std::memcpy(k.ip.data(), &reinterpret_cast<const sockaddr_in6*>(&e.storage)->sin6_addr, 16);
  } else {
    std::memcpy(k.ip.data(), &reinterpret_cast<const sockaddr_in*>(&e.storage)->sin_addr, 4);
  }
  return k;
}

}  // namespace ucedge::turn
