#pragma once
// Relayed transport addresses: UDP sockets bound within the configured port
// range, shared by every relay thread, with the port reservations of EVEN-PORT
// (RFC 8656 §7.2: the R bit keeps port+1 for a later Allocate that presents
// the RESERVATION-TOKEN).
#include <array>
#include <bitset>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <unordered_map>

#include "turn/relay/endpoint.hpp"

namespace ucedge::turn {

// An owned, bound, non-blocking UDP socket.
class RelaySocket {
 public:
  RelaySocket() = default;
  explicit RelaySocket(int fd, Endpoint local) : fd_(fd), local_(local) {}
  RelaySocket(RelaySocket&& o) noexcept : fd_(o.fd_), local_(o.local_) { o.fd_ = -1; }
  RelaySocket& operator=(RelaySocket&& o) noexcept;
  RelaySocket(const RelaySocket&) = delete;
  RelaySocket& operator=(const RelaySocket&) = delete;
  ~RelaySocket();

  int fd() const { return fd_; }
  const Endpoint& local() const { return local_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
  Endpoint local_;
};

class RelayPorts {
 public:
  RelayPorts(std::uint16_t min_port, std::uint16_t max_port);

  // A socket on `address` (port ignored) at a free port of the range; an even
  // one when asked. Tries every port before giving up (508 for the caller).
  std::optional<RelaySocket> open(const Endpoint& address, bool even);
  // The socket at exactly `port`, if it is free.
  std::optional<RelaySocket> open_at(const Endpoint& address, std::uint16_t port);
  // RFC 6062: a listening TCP socket on `address` at a free port, bound so
  // that connect_from() can open connections from the same address and port.
  std::optional<RelaySocket> open_tcp(const Endpoint& address);
  // A non-blocking connect to `peer` from `local` (a TCP relayed address); -1 on failure.
  static int connect_from(const Endpoint& local, const Endpoint& peer);
  // Gives a port back when its socket closes.
  void release(std::uint16_t port);

  // EVEN-PORT with R: keeps `socket` (port+1) for 30 s under a random token.
  std::uint64_t reserve(RelaySocket socket);
  // The reserved socket, once; nullopt for an unknown or expired token.
  std::optional<RelaySocket> take_reservation(std::uint64_t token);
  void expire_reservations();

 private:
  std::optional<RelaySocket> bind_locked(const Endpoint& address, std::uint16_t port);

  struct Reservation {
    RelaySocket socket;
    std::chrono::steady_clock::time_point expires;
  };
  const std::uint16_t min_;
  const std::uint16_t max_;
  std::mutex mutex_;
  std::bitset<65536> used_;
  std::mt19937_64 random_;
  std::unordered_map<std::uint64_t, Reservation> reservations_;
};

}  // namespace ucedge::turn
