// Stateless nonces: valid for their lifetime and for the address they were
// given to, stale after, invalid when altered or someone else's.
#include "turn/auth/nonce.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "core/clock.hpp"

namespace ucedge::turn {
namespace {

using namespace std::chrono_literals;
using Verdict = NonceIssuer::Verdict;

stun::TransportAddress addr(const char* ip, std::uint16_t port) {
  stun::TransportAddress a;
  a.port = port;
  if (::inet_pton(AF_INET, ip, a.ip.data()) != 1) {
    EXPECT_EQ(::inet_pton(AF_INET6, ip, a.ip.data()), 1);
    a.family = stun::TransportAddress::Family::ipv6;
  }
  return a;
}

const std::vector<std::uint8_t> kKey(32, 0x42);

TEST(Nonce, IsValidForItsLifetimeThenStale) {
  core::ManualClock clock;
  NonceIssuer nonces(kKey, 600s, clock);
  const auto client = addr("198.51.100.7", 50000);
  const auto nonce = nonces.issue(client);
  EXPECT_EQ(nonce.size(), 48u);
  EXPECT_EQ(nonce.find_first_not_of("0123456789abcdef"), std::string::npos) << nonce;
  EXPECT_EQ(nonces.check(nonce, client), Verdict::valid);
  clock.advance(599s);
  EXPECT_EQ(nonces.check(nonce, client), Verdict::valid);
  clock.advance(1s);
  EXPECT_EQ(nonces.check(nonce, client), Verdict::stale);
  clock.advance(24h);
  EXPECT_EQ(nonces.check(nonce, client), Verdict::stale);
  // A fresh one works again.
  EXPECT_EQ(nonces.check(nonces.issue(client), client), Verdict::valid);
}

TEST(Nonce, IsBoundToTheClientAddressButNotItsPort) {
  core::ManualClock clock;
  NonceIssuer nonces(kKey, 600s, clock);
  const auto nonce = nonces.issue(addr("198.51.100.7", 50000));
  // Over TCP a client may come back from another port.
  EXPECT_EQ(nonces.check(nonce, addr("198.51.100.7", 50001)), Verdict::valid);
  EXPECT_EQ(nonces.check(nonce, addr("198.51.100.8", 50000)), Verdict::invalid);
  EXPECT_EQ(nonces.check(nonce, addr("::ffff:198.51.100.7", 50000)), Verdict::invalid);

  const auto v6 = nonces.issue(addr("2001:db8::7", 1234));
  EXPECT_EQ(nonces.check(v6, addr("2001:db8::7", 4321)), Verdict::valid);
  EXPECT_EQ(nonces.check(v6, addr("2001:db8::8", 1234)), Verdict::invalid);
}

TEST(Nonce, AnotherKeyOrAnAlterationIsInvalid) {
  core::ManualClock clock;
  NonceIssuer nonces(kKey, 600s, clock);
  NonceIssuer other(std::vector<std::uint8_t>(32, 0x43), 600s, clock);
  const auto client = addr("203.0.113.1", 3478);
  const auto nonce = nonces.issue(client);
  EXPECT_EQ(other.check(nonce, client), Verdict::invalid);

  // Pushing the expiry forward breaks the MAC.
  auto later = nonce;
  later[15] = later[15] == 'f' ? 'e' : 'f';
  EXPECT_EQ(nonces.check(later, client), Verdict::invalid);
  auto bad_mac = nonce;
  bad_mac[47] = bad_mac[47] == '0' ? '1' : '0';
  EXPECT_EQ(nonces.check(bad_mac, client), Verdict::invalid);

  std::string upper = nonce;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper != nonce) {
    EXPECT_EQ(nonces.check(upper, client), Verdict::invalid);
  }
  for (std::string junk : {std::string(), std::string("x"), nonce.substr(0, 47), nonce + "0",
                           std::string(48, 'z'), std::string(48, '\0')}) {
    EXPECT_EQ(nonces.check(junk, client), Verdict::invalid) << junk;
  }
}

TEST(Nonce, KeysOfAnyLengthWork) {
  core::ManualClock clock;
  const std::vector<std::uint8_t> short_key = {1, 2, 3};
  NonceIssuer nonces(short_key, 60s, clock);
  NonceIssuer same(short_key, 60s, clock);
  const auto client = addr("203.0.113.1", 3478);
  EXPECT_EQ(same.check(nonces.issue(client), client), Verdict::valid);
  NonceIssuer empty(std::span<const std::uint8_t>(), 60s, clock);
  EXPECT_EQ(empty.check(empty.issue(client), client), Verdict::valid);
  EXPECT_EQ(nonces.check(empty.issue(client), client), Verdict::invalid);
}

}  // namespace
}  // namespace ucedge::turn
