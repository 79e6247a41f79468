#include "turn/relay/relay_ports.hpp"

#include <fcntl.h>
#include <cerrno>
#include <unistd.h>

#include <openssl/rand.h>

#include <random>

namespace ucedge::turn {

namespace {
constexpr auto kReservationLifetime = std::chrono::seconds(30);  // RFC 8656 §7.2
constexpr int kRelaySocketBuffer = 1 << 20;
}  // namespace

RelaySocket& RelaySocket::operator=(RelaySocket&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    local_ = o.local_;
    o.fd_ = -1;
  }
  return *this;
}

RelaySocket::~RelaySocket() {
  if (fd_ >= 0) ::close(fd_);
}

RelayPorts::RelayPorts(std::uint16_t min_port, std::uint16_t max_port)
    : min_(min_port), max_(max_port), random_(std::random_device{}()) {}

std::optional<RelaySocket> RelayPorts::bind_locked(const Endpoint& address, std::uint16_t port) {
  if (used_.test(port)) return std::nullopt;
  int fd = ::socket(address.storage.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  Endpoint local = address;
  if (local.is_v6()) {
    reinterpret_cast<sockaddr_in6*>(&local.storage)->sin6_port = htons(port);
    int only = 1;
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &only, sizeof only);
  } else {
    reinterpret_cast<sockaddr_in*>(&local.storage)->sin_port = htons(port);
  }
  if (::bind(fd, local.sockaddr_ptr(), local.length) != 0) {
    ::close(fd);
    return std::nullopt;
  }
  int size = kRelaySocketBuffer;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  used_.set(port);
  return RelaySocket(fd, local);
}

std::optional<RelaySocket> RelayPorts::open(const Endpoint& address, bool even) {
  std::lock_guard lock(mutex_);
  const std::uint32_t span = static_cast<std::uint32_t>(max_ - min_) + 1;
  std::uint32_t start = static_cast<std::uint32_t>(random_() % span);
  for (std::uint32_t i = 0; i < span; ++i) {
    auto port = static_cast<std::uint16_t>(min_ + (start + i) % span);
    if (even && (port % 2 != 0)) continue;
    if (auto socket = bind_locked(address, port)) return socket;
  }
  return std::nullopt;
}

std::optional<RelaySocket> RelayPorts::open_at(const Endpoint& address, std::uint16_t port) {
  if (port < min_ || port > max_) return std::nullopt;
  std::lock_guard lock(mutex_);
  return bind_locked(address, port);
}

std::optional<RelaySocket> RelayPorts::open_tcp(const Endpoint& address) {
  std::lock_guard lock(mutex_);
  const std::uint32_t span = static_cast<std::uint32_t>(max_ - min_) + 1;
  std::uint32_t start = static_cast<std::uint32_t>(random_() % span);
  for (std::uint32_t i = 0; i < span; ++i) {
    auto port = static_cast<std::uint16_t>(min_ + (start + i) % span);
    if (used_.test(port)) continue;
    int fd = ::socket(address.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return std::nullopt;
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    Endpoint local = address;
    if (local.is_v6()) {
      ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
      reinterpret_cast<sockaddr_in6*>(&local.storage)->sin6_port = htons(port);
    } else {
      reinterpret_cast<sockaddr_in*>(&local.storage)->sin_port = htons(port);
    }
    if (::bind(fd, local.sockaddr_ptr(), local.length) != 0 || ::listen(fd, 64) != 0) {
      ::close(fd);
      continue;
    }
    used_.set(port);
    return RelaySocket(fd, local);
  }
  return std::nullopt;
}

int RelayPorts::connect_from(const Endpoint& local, const Endpoint& peer) {
  int fd = ::socket(local.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (::bind(fd, local.sockaddr_ptr(), local.length) != 0 ||
      (::connect(fd, peer.sockaddr_ptr(), peer.length) != 0 && errno != EINPROGRESS)) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void RelayPorts::release(std::uint16_t port) {
  std::lock_guard lock(mutex_);
  used_.reset(port);
}

std::uint64_t RelayPorts::reserve(RelaySocket socket) {
  std::lock_guard lock(mutex_);
  std::uint64_t token = 0;
  // Unguessable: a token is all it takes to claim the reserved port.
  do {
    if (::RAND_bytes(reinterpret_cast<unsigned char*>(&token), sizeof token) != 1) token = random_();
  } while (token == 0 || reservations_.count(token));
  reservations_.emplace(token, Reservation{std::move(socket), std::chrono::steady_clock::now() + kReservationLifetime});
  return token;
}

std::optional<RelaySocket> RelayPorts::take_reservation(std::uint64_t token) {
  std::lock_guard lock(mutex_);
  auto it = reservations_.find(token);
  if (it == reservations_.end() || it->second.expires < std::chrono::steady_clock::now()) return std::nullopt;
  RelaySocket socket = std::move(it->second.socket);
  reservations_.erase(it);
  return socket;
}

void RelayPorts::expire_reservations() {
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  for (auto it = reservations_.begin(); it != reservations_.end();) {
    if (it->second.expires < now) {
      used_.reset(it->second.socket.local().port());
      it = reservations_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace ucedge::turn
