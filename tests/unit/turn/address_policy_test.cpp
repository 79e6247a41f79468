// The peers a relay may reach: the built-in denied ranges, the IPv6 forms
// that carry an IPv4 address, the operator's allow/deny lists and the
// server's own addresses.
#include "turn/address_policy.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <string>

namespace ucedge::turn {
namespace {

using Verdict = AddressPolicy::Verdict;

stun::TransportAddress addr(const std::string& ip, std::uint16_t port = 40000) {
  stun::TransportAddress a;
  a.port = port;
  if (::inet_pton(AF_INET, ip.c_str(), a.ip.data()) == 1) {
    a.family = stun::TransportAddress::Family::ipv4;
  } else {
    EXPECT_EQ(::inet_pton(AF_INET6, ip.c_str(), a.ip.data()), 1) << ip;
    a.family = stun::TransportAddress::Family::ipv6;
  }
  return a;
}

AddressPolicy policy(const std::vector<std::string>& allow = {}, const std::vector<std::string>& deny = {},
                     OwnAddresses own = {}) {
  auto p = AddressPolicy::create(allow, deny, std::move(own));
  EXPECT_TRUE(p) << p.error();
  return std::move(p).value();
}

TEST(AddressPolicy, EveryBuiltInRangeIsDenied) {
  const auto p = policy();
  for (const char* ip : {
           "0.0.0.0",     "0.255.255.255",    // 0/8, 0.0.0.0 reaching the host (CVE-2020-26262)
           "10.0.0.1",    "10.255.255.255",   // RFC 1918
           "100.64.0.1",  "100.127.255.254",  // CGNAT
           "127.0.0.1",   "127.1.2.3",        // loopback
           "169.254.0.1", "169.254.169.254",  // link-local, cloud metadata
           "172.16.0.1",  "172.31.255.255",   // RFC 1918
           "192.0.0.1",   "192.0.0.255",      // IETF protocol assignments
           "192.168.0.1", "192.168.255.255",  // RFC 1918
           "198.18.0.1",  "198.19.255.255",   // benchmarking
           "224.0.0.1",   "239.255.255.250",  // multicast
           "240.0.0.1",   "255.255.255.255",  // reserved, broadcast
           "::",          "::1",              // unspecified, loopback
           "fc00::1",     "fd12:3456::1",     // unique local
           "fe80::1",     "febf::1",          // link-local
           "ff02::1",     "ff0e::fb",         // multicast
       }) {
    EXPECT_EQ(p.check(addr(ip)), Verdict::denied_by_default) << ip;
    EXPECT_FALSE(p.permits(addr(ip))) << ip;
  }
}

TEST(AddressPolicy, AddressesNextToTheRangesAreAllowed) {
  const auto p = policy();
  for (const char* ip :
       {"1.0.0.1",         "9.255.255.255",   "11.0.0.0",        "100.63.255.255",  "100.128.0.0",
        "126.255.255.255", "128.0.0.0",       "169.253.255.255", "172.15.255.255",  "172.32.0.0",
        "192.0.1.0",       "192.167.255.255", "198.17.255.255",  "198.20.0.0",      "223.255.255.255",
        "8.8.8.8",         "203.0.113.7",     "2001:db8::1",     "2606:4700::1111", "fbff::1",
        "fec0::1",         "::2:0:0:1"}) {
    EXPECT_EQ(p.check(addr(ip)), Verdict::allowed) << ip;
  }
}

TEST(AddressPolicy, Ipv4InsideIpv6IsJudgedByTheIpv4Address) {
  const auto p = policy();
  // IPv4-mapped: a dual-stack socket sends these over IPv4.
  EXPECT_EQ(p.check(addr("::ffff:127.0.0.1")), Verdict::denied_by_default);
  EXPECT_EQ(p.check(addr("::ffff:0.0.0.0")), Verdict::denied_by_default);
  EXPECT_EQ(p.check(addr("::ffff:169.254.169.254")), Verdict::denied_by_default);
  EXPECT_EQ(p.check(addr("::ffff:10.1.2.3")), Verdict::denied_by_default);
  EXPECT_EQ(p.check(addr("::ffff:8.8.8.8")), Verdict::allowed);
  // IPv4-compatible (deprecated, but a tunnel may still honour it).
  EXPECT_EQ(p.check(addr("::127.0.0.1")), Verdict::denied_by_default);
  EXPECT_EQ(p.check(addr("::5")), Verdict::denied_by_default);
  EXPECT_EQ(p.check(addr("::8.8.8.8")), Verdict::allowed);
  // NAT64 well-known prefix (RFC 6052).
  EXPECT_EQ(p.check(addr("64:ff9b::127.0.0.1")), Verdict::denied_by_default);
  EXPECT_EQ(p.check(addr("64:ff9b::192.168.1.1")), Verdict::denied_by_default);
  EXPECT_EQ(p.check(addr("64:ff9b::8.8.8.8")), Verdict::allowed);
  // Local-use NAT64 (RFC 8215): where it leads is the operator's business.
  EXPECT_EQ(p.check(addr("64:ff9b:1::808:808")), Verdict::denied_by_default);
  // 6to4: the IPv4 address in bits 16-48 receives the tunnelled packet.
  EXPECT_EQ(p.check(addr("2002:7f00:1::1")), Verdict::denied_by_default);          // 127.0.0.1
  EXPECT_EQ(p.check(addr("2002:a9fe:a9fe::")), Verdict::denied_by_default);        // 169.254.169.254
  EXPECT_EQ(p.check(addr("2002:0a00:0001:1234::1")), Verdict::denied_by_default);  // 10.0.0.1
  EXPECT_EQ(p.check(addr("2002:0808:0808::1")), Verdict::allowed);                 // 8.8.8.8
}

TEST(AddressPolicy, AllowOverridesTheBuiltInRanges) {
  const auto p = policy({"10.1.0.0/16", "127.0.0.1", "fd00::/8"});
  EXPECT_EQ(p.check(addr("10.1.2.3")), Verdict::allowed);
  EXPECT_EQ(p.check(addr("10.2.0.1")), Verdict::denied_by_default);
  EXPECT_EQ(p.check(addr("127.0.0.1")), Verdict::allowed);
  EXPECT_EQ(p.check(addr("127.0.0.2")), Verdict::denied_by_default);
  EXPECT_EQ(p.check(addr("fd00::5")), Verdict::allowed);
  EXPECT_EQ(p.check(addr("fc00::5")), Verdict::denied_by_default);
  // An allowed IPv4 range covers its mapped form too.
  EXPECT_EQ(p.check(addr("::ffff:10.1.9.9")), Verdict::allowed);
}

TEST(AddressPolicy, AllowingAllOfIpv6DoesNotOpenMappedLoopback) {
  const auto p = policy({"::/0"});
  EXPECT_EQ(p.check(addr("::1")), Verdict::allowed);  // named by the entry itself
  EXPECT_EQ(p.check(addr("::ffff:127.0.0.1")), Verdict::denied_by_default);
  EXPECT_EQ(p.check(addr("64:ff9b::10.0.0.1")), Verdict::denied_by_default);
  EXPECT_EQ(p.check(addr("2002:7f00:1::")), Verdict::denied_by_default);
}

TEST(AddressPolicy, MappedEntriesAreTheIpv4RangesTheyMap) {
  const auto p = policy({"::ffff:192.168.7.0/120"});
  EXPECT_EQ(p.check(addr("192.168.7.20")), Verdict::allowed);
  EXPECT_EQ(p.check(addr("::ffff:192.168.7.20")), Verdict::allowed);
  EXPECT_EQ(p.check(addr("192.168.8.20")), Verdict::denied_by_default);
}

TEST(AddressPolicy, DenyOverridesAllow) {
  const auto p = policy({"10.0.0.0/8", "0.0.0.0/0"}, {"10.9.0.0/16", "203.0.113.0/24", "2001:db8::/32"});
  EXPECT_EQ(p.check(addr("10.1.0.1")), Verdict::allowed);
  EXPECT_EQ(p.check(addr("10.9.0.1")), Verdict::denied_by_config);
  EXPECT_EQ(p.check(addr("203.0.113.9")), Verdict::denied_by_config);
  EXPECT_EQ(p.check(addr("8.8.8.8")), Verdict::allowed);
  EXPECT_EQ(p.check(addr("2001:db8::1")), Verdict::denied_by_config);
  // A denied IPv4 range is denied in every IPv6 form that reaches it.
  EXPECT_EQ(p.check(addr("::ffff:203.0.113.9")), Verdict::denied_by_config);
  EXPECT_EQ(p.check(addr("64:ff9b::203.0.113.9")), Verdict::denied_by_config);
  EXPECT_EQ(p.check(addr("2002:cb00:7109::")), Verdict::denied_by_config);
}

TEST(AddressPolicy, DenyingAnIpv6PrefixCoversWhatItEmbeds) {
  const auto p = policy({}, {"64:ff9b::/96"});
  EXPECT_EQ(p.check(addr("64:ff9b::8.8.8.8")), Verdict::denied_by_config);
  EXPECT_EQ(p.check(addr("8.8.8.8")), Verdict::allowed);
}

TEST(AddressPolicy, OwnAddressesOnlyOpenTheirRelayPorts) {
  OwnAddresses own;
  own.listen = {addr("198.51.100.10", 3478), addr("198.51.100.11", 3478), addr("0.0.0.0", 5349)};
  own.relayed = {addr("198.51.100.10", 0), addr("2001:db8:1::10", 0)};
  own.relay_port_min = 24000;
  own.relay_port_max = 29999;
  const auto p = policy({}, {}, own);
  // Two clients of this server talk through each other's relayed addresses.
  EXPECT_EQ(p.check(addr("198.51.100.10", 24000)), Verdict::allowed);
  EXPECT_EQ(p.check(addr("198.51.100.10", 29999)), Verdict::allowed);
  EXPECT_EQ(p.check(addr("2001:db8:1::10", 25000)), Verdict::allowed);
  EXPECT_EQ(p.check(addr("::ffff:198.51.100.10", 25000)), Verdict::allowed);
  // Anything else on the server: its listeners, other services.
  EXPECT_EQ(p.check(addr("198.51.100.10", 3478)), Verdict::denied_own_address);
  EXPECT_EQ(p.check(addr("198.51.100.10", 23999)), Verdict::denied_own_address);
  EXPECT_EQ(p.check(addr("198.51.100.10", 30000)), Verdict::denied_own_address);
  EXPECT_EQ(p.check(addr("198.51.100.10", 22)), Verdict::denied_own_address);
  EXPECT_EQ(p.check(addr("::ffff:198.51.100.10", 22)), Verdict::denied_own_address);
  EXPECT_EQ(p.check(addr("2001:db8:1::10", 80)), Verdict::denied_own_address);
  EXPECT_EQ(p.check(addr("198.51.100.11", 3478)), Verdict::denied_own_address);
  EXPECT_EQ(p.check(addr("198.51.100.11", 25000)), Verdict::denied_own_address);  // a listener, not relayed
  EXPECT_EQ(p.check(addr("198.51.100.12", 3478)), Verdict::allowed);
}

TEST(AddressPolicy, BuiltInRangesComeBeforeTheRelayPortException) {
  OwnAddresses own;
  own.listen = {addr("127.0.0.1", 3478)};
  own.relayed = {addr("127.0.0.1", 0)};
  // On loopback (a development setup) relay-to-relay needs allow_peers...
  EXPECT_EQ(policy({}, {}, own).check(addr("127.0.0.1", 50000)), Verdict::denied_by_default);
  // ...which then wins over the own-address rule as well.
  const auto allowed = policy({"127.0.0.1"}, {}, own);
  EXPECT_EQ(allowed.check(addr("127.0.0.1", 50000)), Verdict::allowed);
  EXPECT_EQ(allowed.check(addr("127.0.0.1", 3478)), Verdict::allowed);
}

TEST(AddressPolicy, ValidateCidrExplainsWhatIsWrong) {
  for (const char* good : {"10.0.0.0/8", "10.1.2.3", "10.1.2.3/32", "0.0.0.0/0", "2001:db8::/32", "::1",
                           "::/0", "::ffff:10.0.0.0/104", "fe80::/10"}) {
    EXPECT_TRUE(validate_cidr(good)) << good;
  }
  auto error = [](const char* text) {
    auto r = validate_cidr(text);
    EXPECT_FALSE(r) << text;
    return r ? std::string() : r.error();
  };
  EXPECT_EQ(error(""), "an empty entry is not an address");
  EXPECT_NE(error("example.com").find("\"example.com\" is not an IPv4 or IPv6 address"), std::string::npos);
  EXPECT_NE(error("10.0.0").find("is not an IPv4 or IPv6 address"), std::string::npos);
  EXPECT_NE(error("256.0.0.1").find("is not an IPv4 or IPv6 address"), std::string::npos);
  EXPECT_NE(error("fe80::1%eth0").find("is not an IPv4 or IPv6 address"), std::string::npos);
  EXPECT_NE(error(" 10.0.0.0/8").find("is not an IPv4 or IPv6 address"), std::string::npos);
  EXPECT_EQ(error("10.0.0.0/33"),
            "\"10.0.0.0/33\": the prefix length must be a number from 0 to 32 for IPv4");
  EXPECT_EQ(error("2001:db8::/129"),
            "\"2001:db8::/129\": the prefix length must be a number from 0 to 128 for IPv6");
  EXPECT_NE(error("10.0.0.0/").find("prefix length"), std::string::npos);
  EXPECT_NE(error("10.0.0.0/-1").find("prefix length"), std::string::npos);
  EXPECT_NE(error("10.0.0.0/+8").find("prefix length"), std::string::npos);
  EXPECT_NE(error("10.0.0.0/8/8").find("prefix length"), std::string::npos);
  EXPECT_EQ(error("192.168.1.10/24"),
            "\"192.168.1.10/24\" has address bits set past the prefix length; the network is 192.168.1.0/24");
  EXPECT_EQ(error("2001:db8::1/32"),
            "\"2001:db8::1/32\" has address bits set past the prefix length; the network is 2001:db8::/32");
}

TEST(AddressPolicy, CreateNamesEveryBadEntry) {
  auto p = AddressPolicy::create({"10.0.0.0/8", "nonsense"}, {"1.2.3.4/40"}, {});
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().find("allow_peers: \"nonsense\""), std::string::npos) << p.error();
  EXPECT_NE(p.error().find("deny_peers: \"1.2.3.4/40\""), std::string::npos) << p.error();
  OwnAddresses empty_range;
  empty_range.relay_port_min = 3000;
  empty_range.relay_port_max = 2000;
  EXPECT_FALSE(AddressPolicy::create({}, {}, empty_range));
}

TEST(AddressPolicy, VerdictsHaveNames) {
  EXPECT_EQ(to_string(Verdict::allowed), "allowed");
  EXPECT_EQ(to_string(Verdict::denied_by_config), "denied_by_config");
  EXPECT_EQ(to_string(Verdict::denied_by_default), "denied_by_default");
  EXPECT_EQ(to_string(Verdict::denied_own_address), "denied_own_address");
}

}  // namespace
}  // namespace ucedge::turn
