#include "turn/admin/probe.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <span>
#include <system_error>
#include <utility>

#include <sodium.h>

#include "turn/admin/turn_servers.hpp"
#include "turn/auth/credentials.hpp"
#include "turn/codec/stun.hpp"

namespace ucedge::turn {

namespace {

using Steady = std::chrono::steady_clock;
using Deadline = Steady::time_point;
using std::chrono::milliseconds;

constexpr std::uint8_t kUdpProtocol = 17;      // REQUESTED-TRANSPORT (RFC 8656 §18.7)
constexpr std::uint16_t kAlgorithmMd5 = 0x0001;  // RFC 8489 §18.5
constexpr std::uint16_t kAlgorithmSha256 = 0x0002;
constexpr int kMaxSends = 7;                   // Rc (RFC 8489 §6.2.1)
constexpr std::size_t kMaxAddresses = 4;       // of one host name
constexpr std::size_t kMaxMessage = 20 + 65535;

std::string errno_text(int error) { return std::error_code(error, std::system_category()).message(); }

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

struct Endpoint {
  sockaddr_storage address{};
  socklen_t length = 0;
  std::string text;  // "ip:port", "[ip]:port"
};

std::string endpoint_text(const sockaddr* sa) {
  char ip[INET6_ADDRSTRLEN] = {};
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    ::inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
    return std::string(ip) + ":" + std::to_string(ntohs(in->sin_port));
  }
  const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
  ::inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
  return "[" + std::string(ip) + "]:" + std::to_string(ntohs(in6->sin6_port));
}

std::string address_text(const stun::TransportAddress& a) {
  char ip[INET6_ADDRSTRLEN] = {};
  if (a.family == stun::TransportAddress::Family::ipv4) {
    ::inet_ntop(AF_INET, a.ip.data(), ip, sizeof ip);
    return std::string(ip) + ":" + std::to_string(a.port);
  }
  ::inet_ntop(AF_INET6, a.ip.data(), ip, sizeof ip);
  return "[" + std::string(ip) + "]:" + std::to_string(a.port);
}

core::Result<std::vector<Endpoint>> resolve(const HostPort& hp, int socktype) {
  addrinfo hints{};
  hints.ai_family = hp.ipv6_literal ? AF_INET6 : AF_UNSPEC;
  hints.ai_socktype = socktype;
  hints.ai_flags = AI_NUMERICSERV;
  in6_addr scratch6{};
  in_addr scratch4{};
  if (hp.ipv6_literal || ::inet_pton(AF_INET, hp.host.c_str(), &scratch4) == 1 ||
      ::inet_pton(AF_INET6, hp.host.c_str(), &scratch6) == 1) {
    hints.ai_flags |= AI_NUMERICHOST;
  }
  addrinfo* list = nullptr;
  const std::string port = std::to_string(hp.port);
  int rc = ::getaddrinfo(hp.host.c_str(), port.c_str(), &hints, &list);
  if (rc != 0) return core::fail("cannot resolve " + hp.host + ": " + ::gai_strerror(rc));
  std::vector<Endpoint> out;
  for (addrinfo* ai = list; ai && out.size() < kMaxAddresses; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
    if (ai->ai_addrlen > sizeof(sockaddr_storage)) continue;
    Endpoint e;
    std::memcpy(&e.address, ai->ai_addr, ai->ai_addrlen);
    e.length = ai->ai_addrlen;
    e.text = endpoint_text(ai->ai_addr);
    bool seen = std::any_of(out.begin(), out.end(), [&](const Endpoint& o) { return o.text == e.text; });
    if (!seen) out.push_back(std::move(e));
  }
  ::freeaddrinfo(list);
  if (out.empty()) return core::fail("cannot resolve " + hp.host + ": no IPv4 or IPv6 address");
  return out;
}

int poll_ms(Deadline until) {
  auto left = std::chrono::ceil<milliseconds>(until - Steady::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, 60'000));
}

stun::TransactionId new_transaction_id() {
  stun::TransactionId id;
  randombytes_buf(id.data(), id.size());
  return id;
}

// One request, one answer (or none).
struct Exchange {
  enum class Status { answered, timeout, failed } status = Status::failed;
  std::string error;
  std::vector<std::uint8_t> bytes;  // the answer
  double rtt_ms = 0;
};

// True for a success or error response to the request `id` that parses.
bool answers(std::span<const std::uint8_t> bytes, const stun::TransactionId& id) {
  if (!stun::looks_like_stun(bytes)) return false;
  auto m = stun::parse(bytes);
  if (!m) return false;
  if (m->transaction_id() != id) return false;
  if (m->message_class() != stun::Class::success && m->message_class() != stun::Class::error) return false;
  // A FINGERPRINT that is there must be right (RFC 8489 §7.3).
  return stun::check_fingerprint(*m) != stun::Check::invalid;
}

double elapsed_ms(Steady::time_point since) {
  return std::chrono::duration<double, std::milli>(Steady::now() - since).count();
}

// The client side of one transport: connected to one server address, it
// carries one transaction at a time.
class Connection {
 public:
  virtual ~Connection() = default;
  virtual Exchange exchange(std::span<const std::uint8_t> request, const stun::TransactionId& id,
                            Deadline deadline) = 0;
};

class UdpConnection final : public Connection {
 public:
  UdpConnection(Fd fd, milliseconds initial_rto) : fd_(std::move(fd)), initial_rto_(initial_rto) {}

  static core::Result<std::unique_ptr<Connection>> open(const Endpoint& to, milliseconds initial_rto) {
    Fd fd(::socket(to.address.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) return core::fail("socket: " + errno_text(errno));
    // A connected socket hears only this server, and hears its ICMP port
    // unreachable as ECONNREFUSED.
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&to.address), to.length) != 0) {
      return core::fail("connect to " + to.text + ": " + errno_text(errno));
    }
    return std::unique_ptr<Connection>(new UdpConnection(std::move(fd), initial_rto));
  }

  // RFC 8489 §6.2.1: sent again after RTO, 2*RTO, 4*RTO... at most Rc
  // times in all, until the deadline.
  Exchange exchange(std::span<const std::uint8_t> request, const stun::TransactionId& id,
                    Deadline deadline) override {
    Exchange out;
    milliseconds rto = initial_rto_;
    int sends = 0;
    Steady::time_point last_send{};
    Deadline next_send = Steady::now();
    std::array<std::uint8_t, 2048> buffer;
    for (;;) {
      auto now = Steady::now();
      if (now >= deadline) {
        out.status = Exchange::Status::timeout;
        return out;
      }
      if (now >= next_send && sends < kMaxSends) {
        if (::send(fd_.get(), request.data(), request.size(), MSG_NOSIGNAL) < 0) {
          int e = errno;
          if (e == ECONNREFUSED) return refused();
          if (e != EINTR && e != EAGAIN && e != ENOBUFS) return failed("send: " + errno_text(e));
        }
        last_send = now;
        ++sends;
        next_send = now + (sends == 1 ? rto : (rto *= 2));
      }
      Deadline wake = sends < kMaxSends ? std::min(next_send, deadline) : deadline;
      pollfd p{fd_.get(), POLLIN, 0};
      int n = ::poll(&p, 1, poll_ms(wake));
      if (n < 0 && errno != EINTR) return failed("poll: " + errno_text(errno));
      if (n <= 0) continue;
      ssize_t got = ::recv(fd_.get(), buffer.data(), buffer.size(), MSG_DONTWAIT);
      if (got < 0) {
        int e = errno;
        if (e == ECONNREFUSED) return refused();
        if (e == EINTR || e == EAGAIN || e == EWOULDBLOCK) continue;
        return failed("recv: " + errno_text(e));
      }
      std::span<const std::uint8_t> datagram(buffer.data(), static_cast<std::size_t>(got));
      if (!answers(datagram, id)) continue;  // not ours, or not STUN: keep waiting
      out.status = Exchange::Status::answered;
      // From the last send: an answer to an earlier copy looks faster than it
      // was, never slower (Karn's ambiguity).
      out.rtt_ms = elapsed_ms(last_send);
      out.bytes.assign(datagram.begin(), datagram.end());
      return out;
    }
  }

 private:
  static Exchange failed(std::string error) {
    Exchange out;
    out.status = Exchange::Status::failed;
    out.error = std::move(error);
    return out;
  }
  static Exchange refused() { return failed("connection refused (ICMP port unreachable: nothing listens there)"); }

  Fd fd_;
  milliseconds initial_rto_;
};

class TcpConnection final : public Connection {
 public:
  explicit TcpConnection(Fd fd) : fd_(std::move(fd)) {}

  static core::Result<std::unique_ptr<Connection>> open(const Endpoint& to, Deadline deadline) {
    Fd fd(::socket(to.address.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (fd.get() < 0) return core::fail("socket: " + errno_text(errno));
    int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&to.address), to.length) != 0) {
      if (errno != EINPROGRESS) return core::fail("connect to " + to.text + ": " + errno_text(errno));
      for (;;) {
        pollfd p{fd.get(), POLLOUT, 0};
        int n = ::poll(&p, 1, poll_ms(deadline));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return core::fail("poll: " + errno_text(errno));
        if (n == 0) return core::fail("connect to " + to.text + ": timed out");
        break;
      }
      int error = 0;
      socklen_t len = sizeof error;
      if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &len) != 0) error = errno;
      if (error != 0) return core::fail("connect to " + to.text + ": " + errno_text(error));
    }
    return std::unique_ptr<Connection>(new TcpConnection(std::move(fd)));
  }

  // RFC 8489 §6.2.2: no retransmission over a reliable transport.
  Exchange exchange(std::span<const std::uint8_t> request, const stun::TransactionId& id,
                    Deadline deadline) override {
    Exchange out;
    const auto sent_at = Steady::now();
    std::size_t written = 0;
    while (written < request.size()) {
      ssize_t n = ::send(fd_.get(), request.data() + written, request.size() - written, MSG_NOSIGNAL);
      if (n > 0) {
        written += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        return failed("send: " + errno_text(errno));
      }
      pollfd p{fd_.get(), POLLOUT, 0};
      if (::poll(&p, 1, poll_ms(deadline)) == 0 && Steady::now() >= deadline) return timeout();
    }
    for (;;) {
      // Whole frames already buffered first: the server may send several.
      while (true) {
        auto size = stun::stream_frame_size(buffered_);
        if (!size) return failed("the server sent bytes that are neither STUN nor ChannelData");
        if (*size == 0 || buffered_.size() < *size) break;
        std::span<const std::uint8_t> frame(buffered_.data(), *size);
        bool ours = answers(frame, id);
        if (ours) {
          out.status = Exchange::Status::answered;
          out.rtt_ms = elapsed_ms(sent_at);
          out.bytes.assign(frame.begin(), frame.end());
        }
        buffered_.erase(buffered_.begin(), buffered_.begin() + static_cast<std::ptrdiff_t>(*size));
        if (ours) return out;
      }
      if (Steady::now() >= deadline) return timeout();
      pollfd p{fd_.get(), POLLIN, 0};
      int n = ::poll(&p, 1, poll_ms(deadline));
      if (n < 0 && errno != EINTR) return failed("poll: " + errno_text(errno));
      if (n <= 0) continue;
      std::array<std::uint8_t, 4096> chunk;
      ssize_t got = ::recv(fd_.get(), chunk.data(), chunk.size(), 0);
      if (got == 0) return failed("the server closed the connection");
      if (got < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
        return failed("recv: " + errno_text(errno));
      }
      if (buffered_.size() + static_cast<std::size_t>(got) > kMaxMessage) {
        return failed("the server sent a frame larger than a STUN message can be");
      }
      buffered_.insert(buffered_.end(), chunk.begin(), chunk.begin() + got);
    }
  }

 private:
  static Exchange failed(std::string error) {
    Exchange out;
    out.status = Exchange::Status::failed;
    out.error = std::move(error);
    return out;
  }
  static Exchange timeout() {
    Exchange out;
    out.status = Exchange::Status::timeout;
    return out;
  }

  Fd fd_;
  std::vector<std::uint8_t> buffered_;
};

// What an error response means for the allocation (RFC 8656 §7.2 and §20,
// RFC 8489 §14.8).
std::string allocation_outcome(int code) {
  switch (code) {
    case 401: return "unauthorized";
    case 431: return "integrity_failure";
    case 438: return "stale_nonce";
    case 486: return "quota";
    default: return "error " + std::to_string(code);
  }
}

struct Credentials {
  std::string username;
  std::string password;
};

// The long-term credential state a 401 (or 438) hands the client (RFC 8489 §9.2.3).
struct Challenge {
  std::string realm;
  std::string nonce;
  std::vector<std::uint8_t> algorithms;  // PASSWORD-ALGORITHMS as sent, to echo back (§9.2.4)
  std::uint16_t algorithm = 0;           // 0 = none offered: MD5 and MESSAGE-INTEGRITY
};

// MD5 when offered (or nothing offered), else SHA-256 (RFC 8489 §18.5).
std::uint16_t pick_algorithm(std::span<const std::uint8_t> list) {
  bool md5 = false, sha256 = false;
  std::size_t at = 0;
  while (at + 4 <= list.size()) {
    std::uint16_t algorithm = static_cast<std::uint16_t>(list[at] << 8 | list[at + 1]);
    std::size_t params = static_cast<std::size_t>(list[at + 2] << 8 | list[at + 3]);
    md5 = md5 || algorithm == kAlgorithmMd5;
    sha256 = sha256 || algorithm == kAlgorithmSha256;
    at += 4 + ((params + 3) & ~std::size_t{3});
  }
  if (md5) return kAlgorithmMd5;
  if (sha256) return kAlgorithmSha256;
  return 0;
}

bool read_challenge(const stun::Message& m, Challenge& challenge) {
  auto realm = m.find(stun::attr::realm);
  auto nonce = m.find(stun::attr::nonce);
  if (!nonce) return false;
  if (realm) challenge.realm = std::string(stun::as_text(*realm));
  if (challenge.realm.empty()) return false;
  challenge.nonce = std::string(stun::as_text(*nonce));
  if (auto list = m.find(stun::attr::password_algorithms)) {
    challenge.algorithms.assign(list->begin(), list->end());
    challenge.algorithm = pick_algorithm(*list);
  }
  return true;
}

class ProbeRun {
 public:
  ProbeRun(const ProbeOptions& options, Connection& connection, Deadline overall)
      : options_(options), connection_(connection), overall_(overall) {}

  Deadline transaction_deadline() const { return std::min(Steady::now() + options_.transaction_timeout, overall_); }

  Exchange send(std::span<const std::uint8_t> request, const stun::TransactionId& id) {
    if (request.empty()) {  // the builder ran out of room: credentials or SOFTWARE too long
      Exchange out;
      out.error = "the request does not fit in a STUN message buffer";
      return out;
    }
    return connection_.exchange(request, id, transaction_deadline());
  }

  void binding(ProbeResult& result) {
    auto id = new_transaction_id();
    std::array<std::uint8_t, 1024> buffer;
    stun::Builder b(buffer, stun::Method::binding, stun::Class::request, id);
    b.add_text(stun::attr::software, options_.software).add_fingerprint();
    auto ex = send(b.finish(), id);
    if (ex.status == Exchange::Status::timeout) {
      result.error = "no answer to a Binding request within " +
                     std::to_string(options_.transaction_timeout.count()) + " ms";
      return;
    }
    if (ex.status == Exchange::Status::failed) {
      result.error = ex.error;
      return;
    }
    auto m = stun::parse(ex.bytes);
    result.reachable = true;
    result.rtt_ms = ex.rtt_ms;
    if (m->message_class() == stun::Class::error) {
      result.error = "Binding answered " + error_text(*m);
      return;
    }
    if (auto xma = m->find(stun::attr::xor_mapped_address)) {
      if (auto a = stun::decode_xor_address(*xma, id)) result.mapped_address = address_text(*a);
    } else if (auto ma = m->find(stun::attr::mapped_address)) {
      if (auto a = stun::decode_address(*ma)) result.mapped_address = address_text(*a);
    }
  }

  void allocate(ProbeResult& result, const Credentials& credentials) {
    // First without credentials: the server answers with its realm and a nonce.
    auto id = new_transaction_id();
    std::array<std::uint8_t, 2048> buffer;
    stun::Builder first(buffer, stun::Method::allocate, stun::Class::request, id);
    first.add_requested_transport(kUdpProtocol).add_text(stun::attr::software, options_.software).add_fingerprint();
    auto ex = send(first.finish(), id);
    if (!answered(ex, result, "Allocate")) return;
    auto m = stun::parse(ex.bytes);
    if (m->message_class() == stun::Class::success) {
      // A server without authentication.
      accept_allocation(result, *m, id, nullptr);
      if (result.allocation == "ok") release(result, nullptr, credentials);
      return;
    }
    int code = error_code(*m);
    if (code != 401) {
      result.allocation = allocation_outcome(code);
      result.error = "Allocate answered " + error_text(*m);
      return;
    }
    if (!read_challenge(*m, challenge_)) {
      result.allocation = "bad_response";
      result.error = "the 401 answer to Allocate has no REALM or NONCE";
      return;
    }

    // Again with credentials; a stale nonce is replaced once (RFC 8489 §9.2.5).
    for (int attempt = 0; attempt < 2; ++attempt) {
      id = new_transaction_id();
      stun::Builder b(buffer, stun::Method::allocate, stun::Class::request, id);
      b.add_requested_transport(kUdpProtocol).add_text(stun::attr::software, options_.software);
      auto key = authenticate(b, credentials);
      ex = send(b.finish(), id);
      if (!answered(ex, result, "Allocate")) return;
      m = stun::parse(ex.bytes);
      if (m->message_class() == stun::Class::success) {
        accept_allocation(result, *m, id, &key);
        if (result.allocation == "ok") release(result, &key, credentials);
        return;
      }
      code = error_code(*m);
      if (code == 438 && attempt == 0 && read_challenge(*m, challenge_)) continue;
      result.allocation = allocation_outcome(code);
      result.error = "Allocate with credentials answered " + error_text(*m);
      if (code == 401) result.error += " (wrong username or password, or an unknown user in realm \"" +
                                       challenge_.realm + "\")";
      return;
    }
  }

 private:
  using Key = std::vector<std::uint8_t>;

  // USERNAME, REALM, NONCE, the password algorithm when the server offered
  // some, then the integrity and the fingerprint (RFC 8489 §9.2.3).
  Key authenticate(stun::Builder& b, const Credentials& credentials) const {
    b.add_text(stun::attr::username, credentials.username)
        .add_text(stun::attr::realm, challenge_.realm)
        .add_text(stun::attr::nonce, challenge_.nonce);
    if (!challenge_.algorithms.empty()) {
      std::uint16_t algorithm = challenge_.algorithm == 0 ? kAlgorithmMd5 : challenge_.algorithm;
      const std::array<std::uint8_t, 4> chosen = {static_cast<std::uint8_t>(algorithm >> 8),
                                                  static_cast<std::uint8_t>(algorithm), 0, 0};
      b.add(stun::attr::password_algorithms, challenge_.algorithms).add(stun::attr::password_algorithm, chosen);
    }
    Key key;
    if (challenge_.algorithm == kAlgorithmSha256) {
      auto k = stun::long_term_key_sha256(credentials.username, challenge_.realm, credentials.password);
      key.assign(k.begin(), k.end());
      b.add_integrity_sha256(key);
    } else {
      auto k = stun::long_term_key_md5(credentials.username, challenge_.realm, credentials.password);
      key.assign(k.begin(), k.end());
      b.add_integrity(key);
    }
    b.add_fingerprint();
    return key;
  }

  void accept_allocation(ProbeResult& result, const stun::Message& m, const stun::TransactionId& id,
                         const Key* key) {
    // RFC 8489 §9.2.5: an answer to an authenticated request carries
    // integrity under the same key; one that fails it is not from the server.
    if (key && (m.integrity_index() || m.integrity_sha256_index()) &&
        stun::check_integrity(m, *key) == stun::Check::invalid) {
      result.allocation = "bad_response";
      result.error = "the Allocate success answer fails its MESSAGE-INTEGRITY check";
      return;
    }
    std::optional<stun::TransportAddress> address;
    if (auto relayed = m.find(stun::attr::xor_relayed_address)) {
      if (auto a = stun::decode_xor_address(*relayed, id)) address = *a;
    }
    if (!address) {
      result.allocation = "bad_response";
      result.error = "the Allocate success answer has no valid XOR-RELAYED-ADDRESS";
      return;
    }
    result.allocation = "ok";
    result.relayed_address = address_text(*address);
    if (result.mapped_address.empty()) {
      if (auto xma = m.find(stun::attr::xor_mapped_address)) {
        if (auto a = stun::decode_xor_address(*xma, id)) result.mapped_address = address_text(*a);
      }
    }
  }

  // Refresh with LIFETIME 0 deletes the allocation at once (RFC 8656 §8).
  void release(ProbeResult& result, const Key* key, const Credentials& credentials) {
    std::array<std::uint8_t, 2048> buffer;
    for (int attempt = 0; attempt < 2; ++attempt) {
      auto id = new_transaction_id();
      stun::Builder b(buffer, stun::Method::refresh, stun::Class::request, id);
      b.add_u32(stun::attr::lifetime, 0).add_text(stun::attr::software, options_.software);
      if (key) authenticate(b, credentials);
      else b.add_fingerprint();
      auto ex = send(b.finish(), id);
      if (ex.status != Exchange::Status::answered) {
        result.error = "the allocation was granted but releasing it failed: " +
                       (ex.status == Exchange::Status::timeout ? std::string("no answer to Refresh") : ex.error);
        return;
      }
      auto m = stun::parse(ex.bytes);
      if (m->message_class() == stun::Class::success) {
        result.released = true;
        return;
      }
      if (key && error_code(*m) == 438 && attempt == 0 && read_challenge(*m, challenge_)) continue;
      result.error = "the allocation was granted but Refresh (LIFETIME 0) answered " + error_text(*m);
      return;
    }
  }

  static bool answered(const Exchange& ex, ProbeResult& result, std::string_view what) {
    if (ex.status == Exchange::Status::answered) return true;
    result.allocation = "no_response";
    result.error = ex.status == Exchange::Status::timeout ? "no answer to " + std::string(what) : ex.error;
    return false;
  }

  static int error_code(const stun::Message& m) {
    auto value = m.find(stun::attr::error_code);
    if (!value) return 0;
    auto e = stun::decode_error_code(*value);
    return e ? e->code : 0;
  }

  static std::string error_text(const stun::Message& m) {
    auto value = m.find(stun::attr::error_code);
    if (!value) return "an error without ERROR-CODE";
    auto e = stun::decode_error_code(*value);
    if (!e) return "an error with a malformed ERROR-CODE";
    std::string text = std::to_string(e->code);
    if (!e->reason.empty()) text += " " + std::string(e->reason);
    return text;
  }

  const ProbeOptions& options_;
  Connection& connection_;
  Deadline overall_;
  Challenge challenge_;
};

std::optional<Credentials> credentials_for(const ProbeTarget& target, const core::Clock& clock) {
  if (target.use_short_term_credentials && !target.shared_secret.empty()) {
    auto now = std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch()).count();
    Credentials c;
    c.username = std::to_string(now + 3600) + ":ucedge-probe";
    c.password = rest_api_password(target.shared_secret, c.username);
    return c;
  }
  if (!target.use_short_term_credentials && !target.username.empty()) {
    return Credentials{target.username, target.password};
  }
  return std::nullopt;
}

}  // namespace

TurnProbe::TurnProbe(ProbeOptions options, const core::Clock& clock) : options_(std::move(options)), clock_(clock) {}

std::vector<ProbeResult> TurnProbe::probe(const ProbeTarget& target) const {
  const Deadline overall = Steady::now() + options_.total_timeout;
  const auto credentials = credentials_for(target, clock_);
  std::vector<ProbeResult> results;

  auto host = parse_host_port(target.server_address);
  auto run = [&](bool tcp, std::uint16_t port) {
    ProbeResult result;
    result.transport = tcp ? "tcp" : "udp";
    if (!host) {
      result.error = "serverAddress: " + host.error();
      return result;
    }
    HostPort hp = *host;
    hp.port = port;
    result.server = hp.ipv6_literal ? "[" + hp.host + "]:" + std::to_string(port) : hp.host + ":" + std::to_string(port);
    auto endpoints = resolve(hp, tcp ? SOCK_STREAM : SOCK_DGRAM);
    if (!endpoints) {
      result.error = endpoints.error();
      return result;
    }
    for (const auto& endpoint : *endpoints) {
      if (Steady::now() >= overall) {
        if (result.error.empty()) result.error = "the probe ran out of time";
        break;
      }
      result.server = endpoint.text;
      auto connection = tcp ? TcpConnection::open(endpoint, std::min(Steady::now() + options_.transaction_timeout,
                                                                     overall))
                            : UdpConnection::open(endpoint, options_.initial_rto);
      if (!connection) {
        result.error = connection.error();
        continue;
      }
      ProbeRun run(options_, **connection, overall);
      result.error.clear();
      run.binding(result);
      if (!result.reachable) continue;
      if (credentials) run.allocate(result, *credentials);
      break;
    }
    return result;
  };

  results.push_back(run(false, host ? host->port : kDefaultTurnPort));
  if (target.tcp_port != 0) results.push_back(run(true, target.tcp_port));
  return results;
}

}  // namespace ucedge::turn
