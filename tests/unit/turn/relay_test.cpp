// The relay threads on loopback, driven the way a TURN client drives them:
// real UDP and TCP sockets, requests built with the codec, answers parsed and
// checked for what a client relies on.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "backend_fixture.hpp"
#include "core/metrics.hpp"
#include "core/secret_box.hpp"
#include "turn/address_policy.hpp"
#include "turn/auth/authenticator.hpp"
#include "turn/auth/credentials.hpp"
#include "turn/auth/nonce.hpp"
#include "turn/relay/relay_engine.hpp"

namespace ucedge::turn {
namespace {

using store::testing::BackendTest;
using Bytes = std::vector<std::uint8_t>;

constexpr const char* kRealm = "relay.test";

stun::TransportAddress loopback(std::uint16_t port) {
  stun::TransportAddress a;
  a.ip[0] = 127;
  a.ip[3] = 1;
  a.port = port;
  return a;
}

stun::TransactionId new_id() {
  static std::uint8_t counter = 0;
  stun::TransactionId id{};
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<std::uint8_t>(rand());
  id[0] = ++counter;
  return id;
}

// A socket that talks to the relay (or plays a peer).
class Socket {
 public:
  explicit Socket(int type = SOCK_DGRAM) {
    fd_ = ::socket(AF_INET, type, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  ~Socket() { ::close(fd_); }
  std::uint16_t port() const {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    return ntohs(a.sin_port);
  }
  bool connect(std::uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    return ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  void send_to(std::uint16_t port, std::span<const std::uint8_t> bytes) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    ::sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  void send(std::span<const std::uint8_t> bytes) { ::send(fd_, bytes.data(), bytes.size(), 0); }
  // One datagram (or what a stream has), or nullopt after `timeout_ms`.
  std::optional<Bytes> receive(int timeout_ms = 2000) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) != 1) return std::nullopt;
    Bytes b(70000);
    auto n = ::recv(fd_, b.data(), b.size(), 0);
    if (n <= 0) return std::nullopt;
    b.resize(static_cast<std::size_t>(n));
    return b;
  }
  // Exactly `size` bytes from a stream.
  std::optional<Bytes> receive_exactly(std::size_t size, int timeout_ms = 2000) {
    Bytes out;
    while (out.size() < size) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, timeout_ms) != 1) return std::nullopt;
      Bytes b(size - out.size());
      auto n = ::recv(fd_, b.data(), b.size(), 0);
      if (n <= 0) return std::nullopt;
      out.insert(out.end(), b.begin(), b.begin() + n);
    }
    return out;
  }
  int fd() const { return fd_; }

 private:
  int fd_;
};

struct Answer {
  Bytes bytes;
  stun::Message message;
  int error = 0;
  std::string realm, nonce;
};

std::optional<Answer> parse_answer(Bytes bytes) {
  Answer a;
  a.bytes = std::move(bytes);
  auto parsed = stun::parse(a.bytes);
  if (!parsed) return std::nullopt;
  a.message = *parsed;
  if (auto e = a.message.find(stun::attr::error_code)) a.error = stun::decode_error_code(*e)->code;
  if (auto r = a.message.find(stun::attr::realm)) a.realm = std::string(stun::as_text(*r));
  if (auto n = a.message.find(stun::attr::nonce)) a.nonce = std::string(stun::as_text(*n));
  return a;
}

class RelayTest : public BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    SecretBoxKey();
    credentials_ = std::make_unique<CredentialStore>(*store_, *box_);
    ASSERT_TRUE(credentials_->load());
    ASSERT_TRUE(credentials_->add_user("alice", kRealm, "wonderland"));
    ASSERT_TRUE(credentials_->add_user("bob", kRealm, "builder"));
    key_ = stun::long_term_key_md5("alice", kRealm, "wonderland");
  }
  void TearDown() override {
    if (engine_) engine_->stop();
    BackendTest::TearDown();
  }
  void SecretBoxKey() {
    core::SecretBox::Key k{};
    k[0] = 7;
    box_ = std::make_unique<core::SecretBox>(k);
  }

  void start(std::vector<std::string> allow = {"127.0.0.1/32"}, int user_quota = 10, bool tcp = false,
             std::string relay_v6 = "") {
    config_.relay_address_v6 = relay_v6;
    if (config_.listen_udp == TurnConfig{}.listen_udp) config_.listen_udp = {"127.0.0.1:0"};
    config_.listen_tcp = tcp ? std::vector<std::string>{"127.0.0.1:0"} : std::vector<std::string>{};
    config_.listen_tls = {};
    config_.realm = kRealm;
    config_.relay_port_min = 40000;
    config_.relay_port_max = 40999;
    config_.user_quota = user_quota;
    nonces_ = std::make_unique<NonceIssuer>(std::span<const std::uint8_t>(key_.data(), key_.size()),
                                            std::chrono::seconds(600));
    AuthSettings settings;
    settings.realm = kRealm;
    authenticator_ = std::make_unique<Authenticator>(settings, *credentials_, *nonces_);
    OwnAddresses own;
    own.relayed.push_back(loopback(0));
    own.relay_port_min = config_.relay_port_min;
    own.relay_port_max = config_.relay_port_max;
    auto policy = AddressPolicy::create(allow, {}, own);
    ASSERT_TRUE(policy) << policy.error();
    policy_.emplace(std::move(policy).value());
    shared_ = std::make_unique<RelayShared>(config_, *authenticator_, *policy_, metrics_);
    if (max_stream_connections_ > 0) shared_->max_stream_connections = max_stream_connections_;
    engine_ = std::make_unique<RelayEngine>(*shared_, 2);
    auto bound = engine_->start();
    ASSERT_TRUE(bound) << bound.error();
    listeners_ = *bound;
    for (const auto& l : *bound) {
      if (l.protocol == "udp" && l.name == "turn_udp") udp_port_ = l.port;
      if (l.protocol == "tcp") tcp_port_ = l.port;
    }
  }

  // Sends a request over UDP and returns the parsed answer.
  std::optional<Answer> ask(Socket& s, std::span<const std::uint8_t> request) {
    s.send_to(udp_port_, request);
    auto got = s.receive();
    if (!got) return std::nullopt;
    return parse_answer(std::move(*got));
  }

  // An authenticated request: fills USERNAME/REALM/NONCE/MI around `extra`.
  template <class F>
  Bytes request(stun::Method method, const std::string& nonce, F extra, const std::string& user = "alice",
                std::optional<stun::TransactionId> id = std::nullopt) {
    Bytes buffer(1500);
    stun::Builder b(buffer, method, stun::Class::request, id ? *id : new_id());
    extra(b);
    b.add_text(stun::attr::username, user);
    b.add_text(stun::attr::realm, kRealm);
    b.add_text(stun::attr::nonce, nonce);
    auto key = user == "alice" ? key_ : stun::long_term_key_md5(user, kRealm, "builder");
    b.add_integrity(key);
    b.add_fingerprint();
    auto out = b.finish();
    return Bytes(out.begin(), out.end());
  }

  // A request and its answer over a TCP connection.
  static std::optional<Answer> ask_stream(Socket& s, std::span<const std::uint8_t> request) {
    if (!request.empty()) s.send(request);
    auto header = s.receive_exactly(20);
    if (!header) return std::nullopt;
    std::size_t length = (*header)[2] << 8 | (*header)[3];
    auto body = s.receive_exactly(length);
    if (!body) return std::nullopt;
    header->insert(header->end(), body->begin(), body->end());
    return parse_answer(*header);
  }

  std::string nonce(Socket& s) {
    Bytes buffer(200);
    stun::Builder b(buffer, stun::Method::allocate, stun::Class::request, new_id());
    b.add_requested_transport(17);
    auto answer = ask(s, b.finish());
    EXPECT_TRUE(answer);
    if (!answer) return {};
    EXPECT_EQ(answer->error, 401);
    return answer->nonce;
  }

  // Allocates for `s`; returns the relayed port.
  std::uint16_t allocate(Socket& s, std::string& nonce_out) {
    nonce_out = nonce(s);
    auto answer = ask(s, request(stun::Method::allocate, nonce_out, [](stun::Builder& b) { b.add_requested_transport(17); }));
    EXPECT_TRUE(answer);
    if (!answer) return 0;
    EXPECT_EQ(answer->message.message_class(), stun::Class::success) << answer->error;
    auto relayed = answer->message.find(stun::attr::xor_relayed_address);
    EXPECT_TRUE(relayed);
    if (!relayed) return 0;
    return stun::decode_xor_address(*relayed, answer->message.transaction_id())->port;
  }

  void permit(Socket& s, const std::string& nonce, std::uint16_t peer_port, int expect_error = 0) {
    auto answer = ask(s, request(stun::Method::create_permission, nonce, [&](stun::Builder& b) {
      b.add_xor_address(stun::attr::xor_peer_address, loopback(peer_port));
    }));
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->error, expect_error);
    if (!expect_error) {
      EXPECT_EQ(stun::check_integrity(answer->message, key_), stun::Check::valid);
    }
  }

  TurnConfig config_;
  std::unique_ptr<core::SecretBox> box_;
  std::unique_ptr<CredentialStore> credentials_;
  std::unique_ptr<NonceIssuer> nonces_;
  std::unique_ptr<Authenticator> authenticator_;
  std::optional<AddressPolicy> policy_;
  core::MetricsRegistry metrics_;
  std::unique_ptr<RelayShared> shared_;
  std::unique_ptr<RelayEngine> engine_;
  LongTermKey key_{};
  std::uint16_t udp_port_ = 0, tcp_port_ = 0;
  std::vector<BoundListener> listeners_;
  int max_stream_connections_ = 0;
};

TEST_P(RelayTest, BindingAnswersTheMappedAddress) {
  start();
  Socket client;
  Bytes buffer(100);
  stun::Builder b(buffer, stun::Method::binding, stun::Class::request, new_id());
  b.add_fingerprint();
  auto answer = ask(client, b.finish());
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->message.message_class(), stun::Class::success);
  auto mapped = answer->message.find(stun::attr::xor_mapped_address);
  ASSERT_TRUE(mapped);
  EXPECT_EQ(stun::decode_xor_address(*mapped, answer->message.transaction_id())->port, client.port());
  EXPECT_TRUE(answer->message.has(stun::attr::software));
  EXPECT_EQ(stun::check_fingerprint(answer->message), stun::Check::valid);
}

TEST_P(RelayTest, ClientsOverIpv6AreAnsweredInIpv6) {
  config_.listen_udp = {"127.0.0.1:0", "[::1]:0"};
  start();
  int fd = ::socket(AF_INET6, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in6 local{};
  local.sin6_family = AF_INET6;
  local.sin6_addr = in6addr_loopback;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local), 0);
  std::uint16_t v6_port = 0;
  for (const auto& l : listeners_) {
    if (l.host == "::1") v6_port = l.port;
  }
  ASSERT_NE(v6_port, 0);
  sockaddr_in6 server = local;
  server.sin6_port = htons(v6_port);
  Bytes buffer(100);
  stun::Builder b(buffer, stun::Method::binding, stun::Class::request, new_id());
  auto request_bytes = b.finish();
  ::sendto(fd, request_bytes.data(), request_bytes.size(), 0, reinterpret_cast<sockaddr*>(&server), sizeof server);
  pollfd p{fd, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 2000), 1);
  Bytes answer_bytes(1500);
  auto n = ::recv(fd, answer_bytes.data(), answer_bytes.size(), 0);
  ::close(fd);
  ASSERT_GT(n, 0);
  answer_bytes.resize(static_cast<std::size_t>(n));
  auto answer = parse_answer(answer_bytes);
  ASSERT_TRUE(answer);
  auto mapped = stun::decode_xor_address(*answer->message.find(stun::attr::xor_mapped_address),
                                         answer->message.transaction_id());
  ASSERT_TRUE(mapped);
  EXPECT_EQ(mapped->family, stun::TransportAddress::Family::ipv6);
  EXPECT_EQ(mapped->ip[15], 1);
}

TEST_P(RelayTest, UnknownComprehensionRequiredAttributeGets420) {
  start();
  Socket client;
  Bytes buffer(100);
  stun::Builder b(buffer, stun::Method::binding, stun::Class::request, new_id());
  const std::uint8_t value[4] = {1, 2, 3, 4};
  b.add(0x0031, value);
  auto answer = ask(client, b.finish());
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->error, 420);
  auto unknown = answer->message.find(stun::attr::unknown_attributes);
  ASSERT_TRUE(unknown);
  ASSERT_EQ(unknown->size(), 2u);
  EXPECT_EQ((*unknown)[0] << 8 | (*unknown)[1], 0x0031);
}

TEST_P(RelayTest, AllocateChallengesThenRelaysBothWaysWithIndicationsAndChannels) {
  start();
  Socket client, peer;
  std::string nonce_value;
  auto first = nonce(client);
  EXPECT_FALSE(first.empty());
  std::uint16_t relayed = allocate(client, nonce_value);
  ASSERT_GE(relayed, 40000);
  ASSERT_LE(relayed, 40999);

  // Without a permission the peer's datagram goes nowhere.
  const Bytes hello = {'h', 'e', 'l', 'l', 'o'};
  peer.send_to(relayed, hello);
  EXPECT_FALSE(client.receive(200));

  permit(client, nonce_value, peer.port());
  peer.send_to(relayed, hello);
  auto data = client.receive();
  ASSERT_TRUE(data);
  auto indication = parse_answer(*data);
  ASSERT_TRUE(indication);
  EXPECT_EQ(indication->message.method(), stun::Method::data);
  EXPECT_EQ(indication->message.message_class(), stun::Class::indication);
  auto payload = indication->message.find(stun::attr::data);
  ASSERT_TRUE(payload);
  EXPECT_EQ(Bytes(payload->begin(), payload->end()), hello);
  auto from = indication->message.find(stun::attr::xor_peer_address);
  ASSERT_TRUE(from);
  EXPECT_EQ(stun::decode_xor_address(*from, indication->message.transaction_id())->port, peer.port());

  // Send indication to the peer.
  Bytes buffer(200);
  stun::Builder send(buffer, stun::Method::send, stun::Class::indication, new_id());
  send.add_xor_address(stun::attr::xor_peer_address, loopback(peer.port()));
  const Bytes world = {'w', 'o', 'r', 'l', 'd', '!'};
  send.add(stun::attr::data, world);
  client.send_to(udp_port_, send.finish());
  auto at_peer = peer.receive();
  ASSERT_TRUE(at_peer);
  EXPECT_EQ(*at_peer, world);

  // ChannelBind, then ChannelData both ways.
  auto bound = ask(client, request(stun::Method::channel_bind, nonce_value, [&](stun::Builder& b) {
    b.add_channel_number(0x4001);
    b.add_xor_address(stun::attr::xor_peer_address, loopback(peer.port()));
  }));
  ASSERT_TRUE(bound);
  EXPECT_EQ(bound->message.message_class(), stun::Class::success) << bound->error;
  Bytes frame(4 + 3);
  stun::write_channel_data_header(frame.data(), 0x4001, 3);
  frame[4] = 'a', frame[5] = 'b', frame[6] = 'c';
  client.send_to(udp_port_, frame);
  at_peer = peer.receive();
  ASSERT_TRUE(at_peer);
  EXPECT_EQ(*at_peer, (Bytes{'a', 'b', 'c'}));
  peer.send_to(relayed, hello);
  data = client.receive();
  ASSERT_TRUE(data);
  auto channel_data = stun::parse_channel_data(*data);
  ASSERT_TRUE(channel_data);
  EXPECT_EQ(channel_data->channel, 0x4001);
  EXPECT_EQ(Bytes(channel_data->payload.begin(), channel_data->payload.end()), hello);

  // The admin view counts the traffic while the allocation lives.
  auto live = engine_->allocations();
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].username, "alice");
  EXPECT_EQ(live[0].packets_to_peers, 2u);
  EXPECT_EQ(live[0].packets_from_peers, 2u);
  EXPECT_EQ(live[0].bytes_from_peers, 10u);
  ASSERT_EQ(live[0].peers.size(), 1u);
  EXPECT_EQ(live[0].peers[0].channel, 0x4001);
}

TEST_P(RelayTest, PermissionsChannelsAndAllocationsRunOut) {
  start();
  Socket client, peer, other_peer;
  std::string n;
  std::uint16_t relayed = allocate(client, n);
  ASSERT_NE(relayed, 0);
  auto bind = [&](std::uint16_t channel, std::uint16_t port) {
    return ask(client, request(stun::Method::channel_bind, n, [&](stun::Builder& b) {
      b.add_channel_number(channel);
      b.add_xor_address(stun::attr::xor_peer_address, loopback(port));
    }));
  };
  auto channel_data = [&](std::uint16_t channel) {
    Bytes frame = {0, 0, 0, 1, 'z'};
    stun::write_channel_data_header(frame.data(), channel, 1);
    client.send_to(udp_port_, frame);
    return peer.receive(300).has_value();
  };
  auto advance = [&](int seconds) { shared_->clock_shift_ms += seconds * 1000LL; };
  ASSERT_EQ(bind(0x4001, peer.port())->message.message_class(), stun::Class::success);
  EXPECT_TRUE(channel_data(0x4001));

  // RFC 8656 §9: a permission lasts 300 s; the channel (600 s) needs it too.
  advance(301);
  peer.send_to(relayed, Bytes{'p'});
  EXPECT_FALSE(client.receive(300));
  EXPECT_FALSE(channel_data(0x4001));
  permit(client, n, peer.port());
  EXPECT_TRUE(channel_data(0x4001));
  auto refreshed = ask(client, request(stun::Method::refresh, n, [](stun::Builder&) {}));
  ASSERT_TRUE(refreshed);
  ASSERT_EQ(refreshed->message.message_class(), stun::Class::success);  // 600 s more from now

  // §12: a channel lasts 600 s, then stays reserved for its peer 5 more minutes.
  advance(300);
  permit(client, n, peer.port());
  EXPECT_FALSE(channel_data(0x4001));
  auto rebind = bind(0x4001, other_peer.port());
  ASSERT_TRUE(rebind);
  EXPECT_EQ(rebind->error, 400);
  EXPECT_EQ(bind(0x4001, peer.port())->message.message_class(), stun::Class::success);
  EXPECT_TRUE(channel_data(0x4001));

  // The allocation itself (600 s by default, from its last refresh) ends too.
  advance(601);
  for (int i = 0; i < 40 && !engine_->allocations().empty(); ++i) ::usleep(50'000);
  EXPECT_TRUE(engine_->allocations().empty());
  permit(client, n, peer.port(), 437);
}

TEST_P(RelayTest, RetransmittedAllocateGetsTheSameAnswerAndAnotherGets437) {
  start();
  Socket client;
  std::string n = nonce(client);
  auto id = new_id();
  auto allocate_request = request(stun::Method::allocate, n, [](stun::Builder& b) { b.add_requested_transport(17); },
                                  "alice", id);
  auto first = ask(client, allocate_request);
  auto again = ask(client, allocate_request);
  ASSERT_TRUE(first && again);
  EXPECT_EQ(first->bytes, again->bytes);
  auto other = ask(client, request(stun::Method::allocate, n, [](stun::Builder& b) { b.add_requested_transport(17); }));
  ASSERT_TRUE(other);
  EXPECT_EQ(other->error, 437);
}

TEST_P(RelayTest, WrongPasswordGets401WithRealmAndNonce) {
  start();
  Socket client;
  std::string n = nonce(client);
  Bytes buffer(300);
  stun::Builder b(buffer, stun::Method::allocate, stun::Class::request, new_id());
  b.add_requested_transport(17);
  b.add_text(stun::attr::username, "alice");
  b.add_text(stun::attr::realm, kRealm);
  b.add_text(stun::attr::nonce, n);
  b.add_integrity(stun::long_term_key_md5("alice", kRealm, "not the password"));
  auto answer = ask(client, b.finish());
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->error, 401);
  EXPECT_EQ(answer->realm, kRealm);
  EXPECT_FALSE(answer->nonce.empty());
  EXPECT_FALSE(answer->message.has(stun::attr::message_integrity));
}

TEST_P(RelayTest, TcpRelayNeedsATcpConnectionAndOtherTransportsGet442) {
  start();
  Socket client;
  std::string n = nonce(client);
  // RFC 6062 §5.1: a TCP allocation asked for over UDP is a bad request.
  auto tcp = ask(client, request(stun::Method::allocate, n, [](stun::Builder& b) { b.add_requested_transport(6); }));
  ASSERT_TRUE(tcp);
  EXPECT_EQ(tcp->error, 400);
  auto sctp = ask(client, request(stun::Method::allocate, n, [](stun::Builder& b) { b.add_requested_transport(132); }));
  ASSERT_TRUE(sctp);
  EXPECT_EQ(sctp->error, 442);
  EXPECT_EQ(stun::check_integrity(sctp->message, key_), stun::Check::valid);
}

TEST_P(RelayTest, PeersInPrivateRangesAreRefusedByDefault) {
  start({});
  Socket client;
  std::string n;
  ASSERT_NE(allocate(client, n), 0);
  permit(client, n, 9, 403);  // 127.0.0.1 is loopback
  auto answer = ask(client, request(stun::Method::create_permission, n, [](stun::Builder& b) {
    stun::TransportAddress metadata;
    metadata.ip = {169, 254, 169, 254};
    metadata.port = 80;
    b.add_xor_address(stun::attr::xor_peer_address, metadata);
  }));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->error, 403);
}

TEST_P(RelayTest, RefreshZeroDeletesTheAllocation) {
  start();
  Socket client;
  std::string n;
  ASSERT_NE(allocate(client, n), 0);
  auto refreshed = ask(client, request(stun::Method::refresh, n, [](stun::Builder& b) { b.add_u32(stun::attr::lifetime, 0); }));
  ASSERT_TRUE(refreshed);
  EXPECT_EQ(refreshed->message.message_class(), stun::Class::success);
  EXPECT_TRUE(engine_->allocations().empty());
  permit(client, n, 9, 437);
}

TEST_P(RelayTest, SecondUserCannotUseTheAllocation441AndQuotaGives486) {
  start({"127.0.0.1/32"}, 1);
  Socket client, other;
  std::string n;
  ASSERT_NE(allocate(client, n), 0);
  auto wrong = ask(client, request(stun::Method::create_permission, n, [](stun::Builder& b) {
    b.add_xor_address(stun::attr::xor_peer_address, loopback(9));
  }, "bob"));
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->error, 441);
  std::string n2 = nonce(other);
  auto second = ask(other, request(stun::Method::allocate, n2, [](stun::Builder& b) { b.add_requested_transport(17); }));
  ASSERT_TRUE(second);
  EXPECT_EQ(second->error, 486);
}

TEST_P(RelayTest, NodeQuotaGives508) {
  config_.total_quota = 1;
  start();
  Socket first, second;
  std::string n;
  ASSERT_NE(allocate(first, n), 0);
  std::string n2 = nonce(second);
  auto answer = ask(second, request(stun::Method::allocate, n2, [](stun::Builder& b) { b.add_requested_transport(17); },
                                    "bob"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->error, 508);
}

TEST_P(RelayTest, EvenPortWithReservationKeepsTheNextPort) {
  start();
  Socket client, second;
  std::string n = nonce(client);
  auto answer = ask(client, request(stun::Method::allocate, n, [](stun::Builder& b) {
    b.add_requested_transport(17);
    b.add_even_port(true);
  }));
  ASSERT_TRUE(answer);
  ASSERT_EQ(answer->message.message_class(), stun::Class::success) << answer->error;
  auto relayed = stun::decode_xor_address(*answer->message.find(stun::attr::xor_relayed_address),
                                          answer->message.transaction_id());
  EXPECT_EQ(relayed->port % 2, 0);
  auto token = answer->message.find(stun::attr::reservation_token);
  ASSERT_TRUE(token);
  ASSERT_EQ(token->size(), 8u);
  Bytes token_bytes(token->begin(), token->end());
  std::string n2 = nonce(second);
  auto paired = ask(second, request(stun::Method::allocate, n2, [&](stun::Builder& b) {
    b.add_requested_transport(17);
    b.add(stun::attr::reservation_token, token_bytes);
  }));
  ASSERT_TRUE(paired);
  ASSERT_EQ(paired->message.message_class(), stun::Class::success) << paired->error;
  auto next = stun::decode_xor_address(*paired->message.find(stun::attr::xor_relayed_address),
                                       paired->message.transaction_id());
  EXPECT_EQ(next->port, relayed->port + 1);
}

TEST_P(RelayTest, TcpControlConnectionCarriesChannelDataPadded) {
  start({"127.0.0.1/32"}, 10, true);
  Socket client(SOCK_STREAM), peer;
  ASSERT_TRUE(client.connect(tcp_port_));
  auto ask_tcp = [&](std::span<const std::uint8_t> bytes) -> std::optional<Answer> {
    client.send(bytes);
    auto header = client.receive_exactly(20);
    if (!header) return std::nullopt;
    std::size_t length = (*header)[2] << 8 | (*header)[3];
    auto body = client.receive_exactly(length);
    if (!body) return std::nullopt;
    header->insert(header->end(), body->begin(), body->end());
    return parse_answer(*header);
  };
  Bytes buffer(200);
  stun::Builder b(buffer, stun::Method::allocate, stun::Class::request, new_id());
  b.add_requested_transport(17);
  auto challenge = ask_tcp(b.finish());
  ASSERT_TRUE(challenge);
  ASSERT_EQ(challenge->error, 401);
  auto allocated = ask_tcp(request(stun::Method::allocate, challenge->nonce, [](stun::Builder& b) { b.add_requested_transport(17); }));
  ASSERT_TRUE(allocated);
  ASSERT_EQ(allocated->message.message_class(), stun::Class::success) << allocated->error;
  auto relayed = stun::decode_xor_address(*allocated->message.find(stun::attr::xor_relayed_address),
                                          allocated->message.transaction_id());
  auto bound = ask_tcp(request(stun::Method::channel_bind, challenge->nonce, [&](stun::Builder& b) {
    b.add_channel_number(0x4002);
    b.add_xor_address(stun::attr::xor_peer_address, loopback(peer.port()));
  }));
  ASSERT_TRUE(bound);
  EXPECT_EQ(bound->message.message_class(), stun::Class::success) << bound->error;
  peer.send_to(relayed->port, Bytes{'x', 'y', 'z'});
  auto frame = client.receive_exactly(8);  // 4 header + 3 data + 1 padding
  ASSERT_TRUE(frame);
  EXPECT_EQ((*frame)[0] << 8 | (*frame)[1], 0x4002);
  EXPECT_EQ((*frame)[3], 3);
  EXPECT_EQ((*frame)[4], 'x');
  // Closing the connection ends the allocation.
  ::shutdown(client.fd(), SHUT_RDWR);
  for (int i = 0; i < 100 && !engine_->allocations().empty(); ++i) ::usleep(10'000);
  EXPECT_TRUE(engine_->allocations().empty());
}

// The relay reads credentials from memory; SQLite is enough to fill it.
INSTANTIATE_TEST_SUITE_P(Sqlite, RelayTest, ::testing::Values(store::Backend::sqlite), store::testing::backend_label);

TEST_P(RelayTest, BandwidthCapDropsWhatExceedsIt) {
  config_.max_bps = 1000;  // one second of burst: five 200-byte datagrams
  start();
  Socket client, peer;
  std::string n;
  std::uint16_t relayed = allocate(client, n);
  ASSERT_NE(relayed, 0);
  permit(client, n, peer.port());
  Bytes payload(200, 'x');
  Bytes buffer(400);
  const auto began = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) {
    stun::Builder send(buffer, stun::Method::send, stun::Class::indication, new_id());
    send.add_xor_address(stun::attr::xor_peer_address, loopback(peer.port()));
    send.add(stun::attr::data, payload);
    client.send_to(udp_port_, send.finish());
  }
  const auto sending_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - began).count();
  int received = 0;
  while (peer.receive(300)) ++received;
  // The full bucket lets 5 through, then one more per 200 ms of sending time
  // (the sends are fast; a slow machine may take a while over them).
  EXPECT_GE(received, 5);
  EXPECT_LE(received, 5 + static_cast<int>(sending_ms / 200) + 1);
  auto live = engine_->allocations();
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].dropped, static_cast<std::uint64_t>(20 - received));
}

TEST_P(RelayTest, GuessingPasswordsEndsInSilence) {
  // The limiter counts per calendar minute: start well inside one.
  while (std::time(nullptr) % 60 > 50) ::usleep(200'000);
  start();
  Socket client;
  std::string n = nonce(client);
  auto guess = [&] {
    Bytes buffer(300);
    stun::Builder b(buffer, stun::Method::allocate, stun::Class::request, new_id());
    b.add_requested_transport(17);
    b.add_text(stun::attr::username, "alice");
    b.add_text(stun::attr::realm, kRealm);
    b.add_text(stun::attr::nonce, n);
    b.add_integrity(stun::long_term_key_md5("alice", kRealm, "guess"));
    client.send_to(udp_port_, b.finish());
    auto got = client.receive(500);
    return got ? parse_answer(std::move(*got)) : std::nullopt;
  };
  for (int i = 0; i < config_.auth_failures_per_minute; ++i) {
    auto answer = guess();
    ASSERT_TRUE(answer) << i;
    EXPECT_EQ(answer->error, 401);
  }
  EXPECT_FALSE(guess());  // the limit is reached: no answer at all
  // Even the right password waits for the minute to end.
  client.send_to(udp_port_, request(stun::Method::allocate, n, [](stun::Builder& b) { b.add_requested_transport(17); }));
  EXPECT_FALSE(client.receive(300));
}

TEST_P(RelayTest, AddressFamiliesRfc6156AndDualAllocation) {
  auto relayed_families = [](const Answer& a) {
    std::vector<stun::TransportAddress::Family> out;
    for (const auto& attribute : a.message.attributes()) {
      if (attribute.type != stun::attr::xor_relayed_address) continue;
      auto value = a.message.bytes().subspan(attribute.offset, attribute.length);
      out.push_back(stun::decode_xor_address(value, a.message.transaction_id())->family);
    }
    return out;
  };
  using Family = stun::TransportAddress::Family;
  {
    start();  // IPv4 relay only
    Socket client;
    std::string n = nonce(client);
    auto v6 = ask(client, request(stun::Method::allocate, n, [](stun::Builder& b) {
      b.add_requested_transport(17);
      b.add_address_family(stun::attr::requested_address_family, Family::ipv6);
    }));
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->error, 440);
    // Dual allocation without IPv6: the IPv4 half stands and says why (RFC 8656 §7.2).
    auto dual = ask(client, request(stun::Method::allocate, n, [](stun::Builder& b) {
      b.add_requested_transport(17);
      b.add_address_family(stun::attr::additional_address_family, Family::ipv6);
    }));
    ASSERT_TRUE(dual);
    ASSERT_EQ(dual->message.message_class(), stun::Class::success) << dual->error;
    EXPECT_EQ(relayed_families(*dual), std::vector<Family>{Family::ipv4});
    EXPECT_TRUE(dual->message.has(stun::attr::address_error_code));
    engine_.reset();  // before start() replaces what it uses
  }
  start({"127.0.0.1/32"}, 10, false, "::1");
  Socket client;
  std::string n = nonce(client);
  auto dual = ask(client, request(stun::Method::allocate, n, [](stun::Builder& b) {
    b.add_requested_transport(17);
    b.add_address_family(stun::attr::additional_address_family, Family::ipv6);
  }));
  ASSERT_TRUE(dual);
  ASSERT_EQ(dual->message.message_class(), stun::Class::success) << dual->error;
  EXPECT_EQ(relayed_families(*dual), (std::vector<Family>{Family::ipv4, Family::ipv6}));
  EXPECT_FALSE(dual->message.has(stun::attr::address_error_code));
  // An IPv6 peer needs the IPv6 half; a CreatePermission for it now works.
  auto permitted = ask(client, request(stun::Method::create_permission, n, [](stun::Builder& b) {
    stun::TransportAddress peer;
    peer.family = Family::ipv6;
    peer.ip = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    peer.port = 5000;
    b.add_xor_address(stun::attr::xor_peer_address, peer);
  }));
  ASSERT_TRUE(permitted);
  EXPECT_EQ(permitted->message.message_class(), stun::Class::success) << permitted->error;
}

TEST_P(RelayTest, TcpConnectionsBeyondTheCapAreClosedAtOnce) {
  max_stream_connections_ = 2;
  start({"127.0.0.1/32"}, 10, true);
  Socket first(SOCK_STREAM), second(SOCK_STREAM), third(SOCK_STREAM);
  ASSERT_TRUE(first.connect(tcp_port_));
  ASSERT_TRUE(second.connect(tcp_port_));
  Bytes buffer(100);
  stun::Builder b(buffer, stun::Method::binding, stun::Class::request, new_id());
  auto binding = b.finish();
  // The first two are served (answering also proves the relay accepted them).
  EXPECT_TRUE(ask_stream(first, binding));
  EXPECT_TRUE(ask_stream(second, binding));
  ASSERT_TRUE(third.connect(tcp_port_));  // the kernel accepts; the relay closes it
  third.send(binding);
  EXPECT_FALSE(third.receive(1000));
  // Closing one makes room again (once the relay has seen the close).
  ::shutdown(first.fd(), SHUT_RDWR);
  bool served = false;
  for (int i = 0; i < 20 && !served; ++i) {
    ::usleep(50'000);
    Socket again(SOCK_STREAM);
    ASSERT_TRUE(again.connect(tcp_port_));
    again.send(binding);
    served = again.receive_exactly(20, 500).has_value();
  }
  EXPECT_TRUE(served);
}

TEST_P(RelayTest, TcpAllocationConnectsToAPeerAndAcceptsOneRfc6062) {
  start({"127.0.0.1/32"}, 10, true);
  Socket control(SOCK_STREAM);
  ASSERT_TRUE(control.connect(tcp_port_));
  Bytes buffer(200);
  stun::Builder b(buffer, stun::Method::allocate, stun::Class::request, new_id());
  b.add_requested_transport(6);
  auto challenge = ask_stream(control, b.finish());
  ASSERT_TRUE(challenge);
  const std::string n = challenge->nonce;
  auto allocated = ask_stream(control, request(stun::Method::allocate, n, [](stun::Builder& b) { b.add_requested_transport(6); }));
  ASSERT_TRUE(allocated);
  ASSERT_EQ(allocated->message.message_class(), stun::Class::success) << allocated->error;
  auto relayed = stun::decode_xor_address(*allocated->message.find(stun::attr::xor_relayed_address),
                                          allocated->message.transaction_id());

  // Connect to a listening peer, then bind a data connection to it.
  Socket peer_listener(SOCK_STREAM);
  ASSERT_EQ(::listen(peer_listener.fd(), 4), 0);
  auto connected = ask_stream(control, request(stun::Method::connect, n, [&](stun::Builder& b) {
    b.add_xor_address(stun::attr::xor_peer_address, loopback(peer_listener.port()));
  }));
  ASSERT_TRUE(connected);
  ASSERT_EQ(connected->message.message_class(), stun::Class::success) << connected->error;
  auto id = stun::decode_u32(*connected->message.find(stun::attr::connection_id));
  ASSERT_TRUE(id);
  int accepted = ::accept(peer_listener.fd(), nullptr, nullptr);
  ASSERT_GE(accepted, 0);
  sockaddr_in from{};
  socklen_t from_length = sizeof from;
  ::getpeername(accepted, reinterpret_cast<sockaddr*>(&from), &from_length);
  EXPECT_EQ(ntohs(from.sin_port), relayed->port);  // the peer sees the relayed address

  Socket data(SOCK_STREAM);
  ASSERT_TRUE(data.connect(tcp_port_));
  auto bound = ask_stream(data, request(stun::Method::connection_bind, n, [&](stun::Builder& b) {
    b.add_u32(stun::attr::connection_id, *id);
  }));
  ASSERT_TRUE(bound);
  ASSERT_EQ(bound->message.message_class(), stun::Class::success) << bound->error;
  data.send(Bytes{'p', 'i', 'n', 'g'});
  Bytes got(4);
  ASSERT_EQ(::recv(accepted, got.data(), 4, MSG_WAITALL), 4);
  EXPECT_EQ(got, (Bytes{'p', 'i', 'n', 'g'}));
  ::send(accepted, "pong", 4, 0);
  EXPECT_EQ(data.receive_exactly(4), (Bytes{'p', 'o', 'n', 'g'}));

  // A second Connect to the same peer is refused while the first lives.
  auto again = ask_stream(control, request(stun::Method::connect, n, [&](stun::Builder& b) {
    b.add_xor_address(stun::attr::xor_peer_address, loopback(peer_listener.port()));
  }));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->error, 446);
  ::close(accepted);

  // A peer with a permission connects to the relayed address: ConnectionAttempt.
  Socket incoming(SOCK_STREAM);
  auto permitted = ask_stream(control, request(stun::Method::create_permission, n, [&](stun::Builder& b) {
    b.add_xor_address(stun::attr::xor_peer_address, loopback(incoming.port()));
  }));
  ASSERT_TRUE(permitted);
  ASSERT_EQ(permitted->message.message_class(), stun::Class::success);
  ASSERT_TRUE(incoming.connect(relayed->port));
  auto attempt = ask_stream(control, {});
  ASSERT_TRUE(attempt);
  EXPECT_EQ(attempt->message.method(), stun::Method::connection_attempt);
  EXPECT_EQ(attempt->message.message_class(), stun::Class::indication);
  EXPECT_EQ(stun::decode_xor_address(*attempt->message.find(stun::attr::xor_peer_address),
                                     attempt->message.transaction_id())->port,
            incoming.port());
  EXPECT_TRUE(attempt->message.has(stun::attr::connection_id));
}

}  // namespace
}  // namespace ucedge::turn
