#pragma once
// A tiny STUN/TURN responder on 127.0.0.1 (UDP or TCP, port 0) for the
// probe's tests: it answers Binding with XOR-MAPPED-ADDRESS, plays the
// long-term credential dance on Allocate and Refresh (401 with REALM and
// NONCE, then checks MESSAGE-INTEGRITY), and writes down what it saw.
// Not a TURN server: nothing is relayed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "turn/codec/stun.hpp"

namespace ucedge::turn::testing {

// A port on 127.0.0.1 that was free a moment ago (SOCK_DGRAM or
// SOCK_STREAM): nothing listens there.
inline std::uint16_t closed_port(int type) {
  int fd = ::socket(AF_INET, type, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

struct FakeTurnBehaviour {
  int ignore_first = 0;                 // requests dropped unanswered before any is answered
  bool require_auth = true;             // false: Allocate succeeds without credentials
  std::string realm = "fake.example";
  std::string username = "alice";       // the one long-term user
  std::string password = "wonderland";
  std::string shared_secret;            // set: REST API usernames are checked against it instead
  bool integrity_failure_431 = false;   // a wrong MESSAGE-INTEGRITY is answered 431, not 401
  int allocate_error = 0;               // an authenticated Allocate is answered with this error
  int stale_nonce_times = 0;            // authenticated requests answered 438 this many times first
  bool sign_responses = true;           // MESSAGE-INTEGRITY on answers to authenticated requests
  bool corrupt_response_integrity = false;
};

struct FakeTurnLog {
  int requests = 0;                     // every request received, dropped ones included
  int bindings = 0;
  int allocates = 0;
  int authenticated_allocates = 0;      // with valid credentials
  int releases = 0;                     // Refresh LIFETIME 0 with valid credentials
  bool fingerprints_valid = true;       // every request carried a right FINGERPRINT
  std::vector<std::string> usernames;
  std::vector<int> requested_transports;
  std::vector<std::string> passwords_seen;  // the REST password the fake computed for a username
};

// base64(HMAC-SHA1(secret, username)), written here with OpenSSL so the test
// does not lean on the code it checks.
inline std::string fake_rest_password(const std::string& secret, const std::string& username) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha1(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(username.data()), username.size(), mac, &length);
  unsigned char out[64];
  int n = EVP_EncodeBlock(out, mac, static_cast<int>(length));
  return std::string(reinterpret_cast<const char*>(out), static_cast<std::size_t>(n));
}

inline stun::TransportAddress fake_address(const char* ip, std::uint16_t port) {
  stun::TransportAddress a;
  ::inet_pton(AF_INET, ip, a.ip.data());
  a.port = port;
  return a;
}

class FakeTurnServer {
 public:
  static constexpr std::uint16_t kRelayedPort = 50123;

  explicit FakeTurnServer(FakeTurnBehaviour behaviour, bool tcp = false)
      : behaviour_(std::move(behaviour)), tcp_(tcp) {
    fd_ = ::socket(AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("bind");
    if (tcp && ::listen(fd_, 4) != 0) throw std::runtime_error("listen");
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    if (::pipe(stop_) != 0) throw std::runtime_error("pipe");
    thread_ = std::thread([this] { run(); });
  }

  ~FakeTurnServer() {
    char c = 0;
    (void)!::write(stop_[1], &c, 1);
    thread_.join();
    for (auto& conn : connections_) ::close(conn.fd);
    ::close(fd_);
    ::close(stop_[0]);
    ::close(stop_[1]);
  }

  std::uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  FakeTurnLog log() const {
    std::lock_guard lock(mutex_);
    return log_;
  }

 private:
  struct Connection {
    int fd;
    sockaddr_in peer;
    std::vector<std::uint8_t> buffer;
  };

  void run() {
    for (;;) {
      std::vector<pollfd> fds = {{stop_[0], POLLIN, 0}, {fd_, POLLIN, 0}};
      for (const auto& c : connections_) fds.push_back({c.fd, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), -1) < 0) continue;
      if (fds[0].revents) return;
      if (fds[1].revents & POLLIN) tcp_ ? accept_one() : read_datagram();
      for (std::size_t i = 2; i < fds.size(); ++i) {
        if (fds[i].revents) read_stream(connections_[i - 2]);
      }
      std::erase_if(connections_, [](const Connection& c) { return c.fd < 0; });
    }
  }

  void accept_one() {
    sockaddr_in peer{};
    socklen_t len = sizeof peer;
    int fd = ::accept(fd_, reinterpret_cast<sockaddr*>(&peer), &len);
    if (fd >= 0) connections_.push_back({fd, peer, {}});
  }

  void read_datagram() {
    std::array<std::uint8_t, 2048> buf;
    sockaddr_in peer{};
    socklen_t len = sizeof peer;
    ssize_t n = ::recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&peer), &len);
    if (n <= 0) return;
    auto answer = handle({buf.data(), static_cast<std::size_t>(n)}, peer);
    if (!answer.empty()) ::sendto(fd_, answer.data(), answer.size(), 0, reinterpret_cast<sockaddr*>(&peer), len);
  }

  void read_stream(Connection& c) {
    std::array<std::uint8_t, 2048> buf;
    ssize_t n = ::recv(c.fd, buf.data(), buf.size(), 0);
    if (n <= 0) {
      ::close(c.fd);
      c.fd = -1;
      return;
    }
    c.buffer.insert(c.buffer.end(), buf.begin(), buf.begin() + n);
    for (;;) {
      auto size = stun::stream_frame_size(c.buffer);
      if (!size || *size == 0 || c.buffer.size() < *size) return;
      std::vector<std::uint8_t> frame(c.buffer.begin(), c.buffer.begin() + static_cast<std::ptrdiff_t>(*size));
      c.buffer.erase(c.buffer.begin(), c.buffer.begin() + static_cast<std::ptrdiff_t>(*size));
      auto answer = handle(frame, c.peer);
      if (!answer.empty()) (void)!::send(c.fd, answer.data(), answer.size(), MSG_NOSIGNAL);
    }
  }

  std::vector<std::uint8_t> reply(stun::Builder& b) {
    auto bytes = b.finish();
    return {bytes.begin(), bytes.end()};
  }

  std::vector<std::uint8_t> error(const stun::Message& m, int code, const char* reason, bool challenge) {
    stun::Builder b(out_, m.method(), stun::Class::error, m.transaction_id());
    b.add_error(code, reason);
    if (challenge) b.add_text(stun::attr::realm, behaviour_.realm).add_text(stun::attr::nonce, nonce_);
    b.add_fingerprint();
    return reply(b);
  }

  std::vector<std::uint8_t> handle(std::span<const std::uint8_t> bytes, const sockaddr_in& peer) {
    auto parsed = stun::parse(bytes);
    if (!parsed || parsed->message_class() != stun::Class::request) return {};
    const stun::Message& m = *parsed;
    std::lock_guard lock(mutex_);
    ++log_.requests;
    if (stun::check_fingerprint(m) != stun::Check::valid) log_.fingerprints_valid = false;
    if (behaviour_.ignore_first > 0) {
      --behaviour_.ignore_first;
      return {};
    }
    stun::TransportAddress source;
    std::memcpy(source.ip.data(), &peer.sin_addr, 4);
    source.port = ntohs(peer.sin_port);

    if (m.method() == stun::Method::binding) {
      ++log_.bindings;
      stun::Builder b(out_, stun::Method::binding, stun::Class::success, m.transaction_id());
      b.add_xor_address(stun::attr::xor_mapped_address, source).add_fingerprint();
      return reply(b);
    }
    if (m.method() != stun::Method::allocate && m.method() != stun::Method::refresh) {
      return error(m, 400, "Bad Request", false);
    }
    if (m.method() == stun::Method::allocate) {
      ++log_.allocates;
      if (auto t = m.find(stun::attr::requested_transport)) {
        if (auto p = stun::decode_requested_transport(*t)) log_.requested_transports.push_back(*p);
      }
    }

    std::optional<std::array<std::uint8_t, 16>> key;
    if (!m.integrity_index()) {
      if (behaviour_.require_auth) return error(m, 401, "Unauthorized", true);
    } else {
      auto user = m.find(stun::attr::username);
      auto realm = m.find(stun::attr::realm);
      auto nonce = m.find(stun::attr::nonce);
      if (!user || !realm || !nonce) return error(m, 400, "Bad Request", false);
      std::string username(stun::as_text(*user));
      log_.usernames.push_back(username);
      if (stun::as_text(*nonce) != nonce_ || behaviour_.stale_nonce_times > 0) {
        if (behaviour_.stale_nonce_times > 0) --behaviour_.stale_nonce_times;
        nonce_ += "x";
        return error(m, 438, "Stale Nonce", true);
      }
      std::string password;
      if (!behaviour_.shared_secret.empty()) {
        password = fake_rest_password(behaviour_.shared_secret, username);
        log_.passwords_seen.push_back(password);
      } else if (username == behaviour_.username) {
        password = behaviour_.password;
      } else {
        return error(m, 401, "Unauthorized", true);
      }
      key = stun::long_term_key_md5(username, behaviour_.realm, password);
      if (stun::check_integrity(m, *key) != stun::Check::valid) {
        return behaviour_.integrity_failure_431 ? error(m, 431, "Integrity Check Failure", false)
                                                : error(m, 401, "Unauthorized", true);
      }
    }

    stun::Builder b(out_, m.method(), stun::Class::success, m.transaction_id());
    if (m.method() == stun::Method::allocate) {
      if (key) ++log_.authenticated_allocates;
      if (behaviour_.allocate_error) return error(m, behaviour_.allocate_error, "Refused", false);
      b.add_xor_address(stun::attr::xor_relayed_address, fake_address("203.0.113.7", kRelayedPort))
          .add_xor_address(stun::attr::xor_mapped_address, source)
          .add_u32(stun::attr::lifetime, 600);
    } else {
      auto lifetime = m.find(stun::attr::lifetime);
      auto seconds = lifetime ? stun::decode_u32(*lifetime) : core::Result<std::uint32_t, stun::ParseError>(600u);
      if (seconds && *seconds == 0) ++log_.releases;
      b.add_u32(stun::attr::lifetime, seconds ? *seconds : 600);
    }
    if (key && behaviour_.sign_responses) {
      if (behaviour_.corrupt_response_integrity) {
        auto wrong = *key;
        wrong[0] ^= 0xFF;
        b.add_integrity(wrong);
      } else {
        b.add_integrity(*key);
      }
    }
    b.add_fingerprint();
    return reply(b);
  }

  FakeTurnBehaviour behaviour_;
  bool tcp_;
  int fd_ = -1;
  int stop_[2] = {-1, -1};
  std::uint16_t port_ = 0;
  std::string nonce_ = "nonce-1";
  std::array<std::uint8_t, 1024> out_{};
  std::vector<Connection> connections_;
  mutable std::mutex mutex_;
  FakeTurnLog log_;
  std::thread thread_;
};

}  // namespace ucedge::turn::testing
