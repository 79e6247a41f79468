// The status probe against a small STUN/TURN responder in this process: the
// Binding round trip, the Allocate dance with long-term and REST API
// credentials, each way it can be refused, retransmission over UDP, TCP, and
// servers that are not there. (Probes of the ucedge binary and coturn are in
// the integration tests.)
#include "turn/admin/probe.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <regex>

#include "core/clock.hpp"
#include "fake_turn_server.hpp"

namespace ucedge::turn {
namespace {

using namespace std::chrono_literals;
using testing::FakeTurnBehaviour;
using testing::FakeTurnServer;
using testing::closed_port;

ProbeOptions quick_options() {
  ProbeOptions o;
  o.transaction_timeout = 2000ms;
  o.initial_rto = 50ms;
  o.total_timeout = 8000ms;
  return o;
}

ProbeTarget long_term(const FakeTurnServer& server, std::string username = "alice",
                      std::string password = "wonderland") {
  ProbeTarget t;
  t.server_address = server.address();
  t.username = std::move(username);
  t.password = std::move(password);
  return t;
}

TEST(TurnProbe, BindingGivesReachabilityRoundTripAndMappedAddress) {
  FakeTurnServer server({});
  TurnProbe probe(quick_options());
  ProbeTarget target;
  target.server_address = server.address();
  auto results = probe.probe(target);
  ASSERT_EQ(results.size(), 1u);
  const auto& r = results[0];
  EXPECT_TRUE(r.reachable) << r.error;
  EXPECT_EQ(r.transport, "udp");
  EXPECT_EQ(r.server, server.address());
  ASSERT_TRUE(r.rtt_ms);
  EXPECT_GT(*r.rtt_ms, 0.0);
  EXPECT_LT(*r.rtt_ms, 2000.0);
  // The probe's own socket, as the server saw it.
  EXPECT_TRUE(std::regex_match(r.mapped_address, std::regex(R"(127\.0\.0\.1:[0-9]+)"))) << r.mapped_address;
  EXPECT_NE(r.mapped_address, server.address());
  // No credentials: no allocation asked for.
  EXPECT_EQ(r.allocation, "not_tried");
  EXPECT_EQ(r.error, "");
  auto log = server.log();
  EXPECT_EQ(log.bindings, 1);
  EXPECT_EQ(log.allocates, 0);
  EXPECT_TRUE(log.fingerprints_valid);
}

TEST(TurnProbe, LongTermCredentialsGetAnAllocationAndReleaseIt) {
  FakeTurnServer server({});
  TurnProbe probe(quick_options());
  auto results = probe.probe(long_term(server));
  ASSERT_EQ(results.size(), 1u);
  const auto& r = results[0];
  EXPECT_TRUE(r.reachable);
  EXPECT_EQ(r.allocation, "ok") << r.error;
  EXPECT_EQ(r.relayed_address, "203.0.113.7:" + std::to_string(FakeTurnServer::kRelayedPort));
  EXPECT_TRUE(r.released) << r.error;
  EXPECT_EQ(r.error, "");
  auto log = server.log();
  EXPECT_EQ(log.allocates, 2);  // 401 first, then with credentials
  EXPECT_EQ(log.authenticated_allocates, 1);
  EXPECT_EQ(log.releases, 1);
  EXPECT_TRUE(log.fingerprints_valid);
  ASSERT_EQ(log.requested_transports.size(), 2u);
  EXPECT_EQ(log.requested_transports[0], 17);  // UDP (RFC 8656 §18.7)
  EXPECT_EQ(log.requested_transports[1], 17);
  for (const auto& u : log.usernames) EXPECT_EQ(u, "alice");
}

TEST(TurnProbe, WrongPasswordIsUnauthorized) {
  FakeTurnServer server({});
  TurnProbe probe(quick_options());
  auto r = probe.probe(long_term(server, "alice", "not-the-password"))[0];
  EXPECT_TRUE(r.reachable);
  EXPECT_EQ(r.allocation, "unauthorized");
  EXPECT_NE(r.error.find("401"), std::string::npos) << r.error;
  EXPECT_EQ(r.relayed_address, "");
  EXPECT_EQ(server.log().authenticated_allocates, 0);
}

TEST(TurnProbe, UnknownUserIsUnauthorized) {
  FakeTurnServer server({});
  TurnProbe probe(quick_options());
  EXPECT_EQ(probe.probe(long_term(server, "bob", "wonderland"))[0].allocation, "unauthorized");
}

TEST(TurnProbe, ExpresswayStyleIntegrityFailureIs431) {
  FakeTurnBehaviour b;
  b.integrity_failure_431 = true;
  FakeTurnServer server(b);
  TurnProbe probe(quick_options());
  auto r = probe.probe(long_term(server, "alice", "wrong"))[0];
  EXPECT_EQ(r.allocation, "integrity_failure");
  EXPECT_NE(r.error.find("431"), std::string::npos) << r.error;
}

TEST(TurnProbe, QuotaAndOtherErrorsAreNamed) {
  FakeTurnBehaviour quota;
  quota.allocate_error = 486;
  FakeTurnServer full(quota);
  TurnProbe probe(quick_options());
  EXPECT_EQ(probe.probe(long_term(full))[0].allocation, "quota");

  FakeTurnBehaviour capacity;
  capacity.allocate_error = 508;
  FakeTurnServer busy(capacity);
  auto r = probe.probe(long_term(busy))[0];
  EXPECT_EQ(r.allocation, "error 508");
  EXPECT_FALSE(r.released);
}

TEST(TurnProbe, AStaleNonceIsReplacedOnceThenReported) {
  FakeTurnBehaviour once;
  once.stale_nonce_times = 1;
  FakeTurnServer server(once);
  TurnProbe probe(quick_options());
  auto r = probe.probe(long_term(server))[0];
  EXPECT_EQ(r.allocation, "ok") << r.error;
  EXPECT_TRUE(r.released);

  FakeTurnBehaviour always;
  always.stale_nonce_times = 1000;
  FakeTurnServer stale(always);
  EXPECT_EQ(probe.probe(long_term(stale))[0].allocation, "stale_nonce");
}

TEST(TurnProbe, ShortTermCredentialsFollowTheTurnRestApi) {
  FakeTurnBehaviour b;
  b.shared_secret = "s3cr3t-shared";
  FakeTurnServer server(b);
  core::ManualClock clock;
  TurnProbe probe(quick_options(), clock);
  ProbeTarget target;
  target.server_address = server.address();
  target.use_short_term_credentials = true;
  target.shared_secret = "s3cr3t-shared";
  auto r = probe.probe(target)[0];
  EXPECT_EQ(r.allocation, "ok") << r.error;
  EXPECT_TRUE(r.released);
  auto log = server.log();
  ASSERT_FALSE(log.usernames.empty());
  // "<expiry>:ucedge-probe", the expiry an hour from the probe's clock.
  auto now = std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch()).count();
  EXPECT_EQ(log.usernames[0], std::to_string(now + 3600) + ":ucedge-probe");

  // The same server refuses a probe holding another secret.
  target.shared_secret = "another-secret";
  EXPECT_EQ(probe.probe(target)[0].allocation, "unauthorized");
}

TEST(TurnProbe, AServerWithoutAuthenticationStillGetsReleased) {
  FakeTurnBehaviour b;
  b.require_auth = false;
  FakeTurnServer server(b);
  TurnProbe probe(quick_options());
  auto r = probe.probe(long_term(server))[0];
  EXPECT_EQ(r.allocation, "ok") << r.error;
  EXPECT_TRUE(r.released);
  EXPECT_EQ(server.log().allocates, 1);
  EXPECT_EQ(server.log().releases, 1);
}

TEST(TurnProbe, AnAnswerFailingItsIntegrityIsNotTrusted) {
  FakeTurnBehaviour b;
  b.corrupt_response_integrity = true;
  FakeTurnServer server(b);
  TurnProbe probe(quick_options());
  auto r = probe.probe(long_term(server))[0];
  EXPECT_EQ(r.allocation, "bad_response");
  EXPECT_NE(r.error.find("MESSAGE-INTEGRITY"), std::string::npos) << r.error;
}

TEST(TurnProbe, LostRequestsAreSentAgain) {
  FakeTurnBehaviour b;
  b.ignore_first = 2;
  FakeTurnServer server(b);
  TurnProbe probe(quick_options());
  ProbeTarget target;
  target.server_address = server.address();
  auto r = probe.probe(target)[0];
  EXPECT_TRUE(r.reachable) << r.error;
  EXPECT_EQ(server.log().requests, 3);
  EXPECT_EQ(server.log().bindings, 1);
}

// RFC 8489 §6.2.1: with RTO 100 ms the copies go out at 0, 100 and 300 ms
// (the next would be at 700 ms), then the probe gives up at its deadline.
TEST(TurnProbe, ASilentServerIsUnreachableWhenTheTransactionTimesOut) {
  FakeTurnBehaviour b;
  b.ignore_first = 1000;
  FakeTurnServer server(b);
  ProbeOptions o;
  o.initial_rto = 100ms;
  o.transaction_timeout = 600ms;
  o.total_timeout = 5000ms;
  TurnProbe probe(o);
  ProbeTarget target = long_term(server);
  auto started = std::chrono::steady_clock::now();
  auto r = probe.probe(target)[0];
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_FALSE(r.reachable);
  EXPECT_FALSE(r.rtt_ms);
  EXPECT_EQ(r.allocation, "not_tried");
  EXPECT_NE(r.error.find("no answer"), std::string::npos) << r.error;
  EXPECT_GE(took, 600ms);
  EXPECT_LT(took, 1500ms);
  EXPECT_EQ(server.log().requests, 3);
}

TEST(TurnProbe, NobodyListeningIsUnreachableAtOnce) {
  TurnProbe probe(quick_options());
  ProbeTarget target;
  target.server_address = "127.0.0.1:" + std::to_string(closed_port(SOCK_DGRAM));
  auto started = std::chrono::steady_clock::now();
  auto r = probe.probe(target)[0];
  EXPECT_FALSE(r.reachable);
  EXPECT_NE(r.error, "");
  // The ICMP port unreachable ends it before the transaction's time is up.
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2000ms);
}

TEST(TurnProbe, TcpIsProbedToo) {
  FakeTurnServer udp({});
  FakeTurnServer tcp({}, true);
  TurnProbe probe(quick_options());
  ProbeTarget target = long_term(udp);
  target.tcp_port = tcp.port();
  auto results = probe.probe(target);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].transport, "udp");
  EXPECT_TRUE(results[0].reachable);
  EXPECT_EQ(results[1].transport, "tcp");
  EXPECT_EQ(results[1].server, tcp.address());
  EXPECT_TRUE(results[1].reachable) << results[1].error;
  ASSERT_TRUE(results[1].rtt_ms);
  EXPECT_EQ(results[1].allocation, "ok") << results[1].error;
  EXPECT_TRUE(results[1].released);
  auto log = tcp.log();
  EXPECT_EQ(log.bindings, 1);
  EXPECT_EQ(log.authenticated_allocates, 1);
  EXPECT_EQ(log.releases, 1);
  EXPECT_TRUE(log.fingerprints_valid);
}

TEST(TurnProbe, TcpRefusedIsReported) {
  FakeTurnServer udp({});
  TurnProbe probe(quick_options());
  ProbeTarget target;
  target.server_address = udp.address();
  target.tcp_port = closed_port(SOCK_STREAM);
  auto results = probe.probe(target);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[0].reachable);
  EXPECT_FALSE(results[1].reachable);
  EXPECT_NE(results[1].error.find("refused"), std::string::npos) << results[1].error;
}

TEST(TurnProbe, HostNamesAreResolved) {
  FakeTurnServer server({});
  TurnProbe probe(quick_options());
  ProbeTarget target;
  // "localhost" may resolve to ::1 first, where nothing listens: the probe
  // goes on to 127.0.0.1.
  target.server_address = "localhost:" + std::to_string(server.port());
  auto r = probe.probe(target)[0];
  EXPECT_TRUE(r.reachable) << r.error;
  EXPECT_EQ(r.server, server.address());
}

TEST(TurnProbe, ABadAddressIsAnErrorNotACrash) {
  TurnProbe probe(quick_options());
  ProbeTarget target;
  target.server_address = "2001:db8::1";  // an IPv6 address without brackets
  auto r = probe.probe(target)[0];
  EXPECT_FALSE(r.reachable);
  EXPECT_NE(r.error.find("brackets"), std::string::npos) << r.error;
}

}  // namespace
}  // namespace ucedge::turn
