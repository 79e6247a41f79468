#include "turn/address_policy.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace ucedge::turn {

namespace {

using Family = stun::TransportAddress::Family;

struct Cidr {
  Family family = Family::ipv4;
  std::array<std::uint8_t, 16> prefix{};
  int bits = 0;
};

// One built-in range, written as bytes so the table needs no parsing.
struct DefaultRange {
  Family family;
  std::array<std::uint8_t, 16> prefix;
  int bits;
};

constexpr DefaultRange v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d, int bits) {
  return {Family::ipv4, {a, b, c, d}, bits};
}

// Addresses a relay must not reach unless the operator allows them. IPv4
// forms embedded in IPv6 (mapped, NAT64, 6to4) are judged by the IPv4 address
// they reach: see effective_address().
constexpr DefaultRange kDefaultDenied[] = {
    v4(0, 0, 0, 0, 8),        // "this network": 0.0.0.0 reaches the host itself (CVE-2020-26262)
    v4(10, 0, 0, 0, 8),       // RFC 1918
    v4(100, 64, 0, 0, 10),    // RFC 6598 shared address space (CGNAT)
    v4(127, 0, 0, 0, 8),      // loopback
    v4(169, 254, 0, 0, 16),   // link-local, cloud metadata (169.254.169.254)
    v4(172, 16, 0, 0, 12),    // RFC 1918
    v4(192, 0, 0, 0, 24),     // RFC 6890 IETF protocol assignments
    v4(192, 168, 0, 0, 16),   // RFC 1918
    v4(198, 18, 0, 0, 15),    // RFC 2544 benchmarking
    v4(224, 0, 0, 0, 4),      // multicast
    v4(240, 0, 0, 0, 4),      // reserved, limited broadcast 255.255.255.255
    {Family::ipv6, {}, 128},  // :: unspecified
    {Family::ipv6, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128},  // ::1 loopback
    {Family::ipv6, {0xfc}, 7},                                              // unique local (RFC 4193)
    {Family::ipv6, {0xfe, 0x80}, 10},                                       // link-local
    {Family::ipv6, {0xff}, 8},                                              // multicast
    {Family::ipv6, {0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}, 48},               // local-use NAT64 (RFC 8215)
};

bool in_range(Family family, const std::array<std::uint8_t, 16>& ip, Family range_family,
              const std::array<std::uint8_t, 16>& prefix, int bits) {
  if (family != range_family) return false;
  const int whole = bits / 8;
  if (std::memcmp(ip.data(), prefix.data(), static_cast<std::size_t>(whole)) != 0) return false;
  const int rest = bits % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (ip[static_cast<std::size_t>(whole)] & mask) == (prefix[static_cast<std::size_t>(whole)] & mask);
}

struct Ip {
  Family family = Family::ipv4;
  std::array<std::uint8_t, 16> bytes{};
  friend bool operator==(const Ip&, const Ip&) = default;
};

Ip ipv4_at(const std::array<std::uint8_t, 16>& from, std::size_t offset) {
  Ip out;
  out.family = Family::ipv4;
  std::memcpy(out.bytes.data(), from.data() + offset, 4);
  return out;
}

// Where a packet to `ip` really goes when the IPv6 form only carries an IPv4
// address: IPv4-mapped (::ffff:a.b.c.d, RFC 4291 §2.5.5.2: a dual-stack
// socket sends it over IPv4), IPv4-compatible (::a.b.c.d, deprecated),
// well-known NAT64 (64:ff9b::a.b.c.d, RFC 6052) and 6to4 (2002:AABB:CCDD::,
// RFC 3056: tunnelled to that IPv4 address). Anything else is itself.
Ip effective_address(Family family, const std::array<std::uint8_t, 16>& ip) {
  Ip same{family, ip};
  if (family == Family::ipv4) {
    std::fill(same.bytes.begin() + 4, same.bytes.end(), std::uint8_t{0});
    return same;
  }
  static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  static constexpr std::uint8_t kCompatible[12] = {};
  static constexpr std::uint8_t kNat64[12] = {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  if (std::memcmp(ip.data(), kMapped, 12) == 0 || std::memcmp(ip.data(), kNat64, 12) == 0)
    return ipv4_at(ip, 12);
  // :: and ::1 are themselves (and denied as such), not 0.0.0.0 and 0.0.0.1.
  if (std::memcmp(ip.data(), kCompatible, 12) == 0 && (ip[12] | ip[13] | ip[14] | (ip[15] & 0xfe)) != 0) {
    return ipv4_at(ip, 12);
  }
  if (ip[0] == 0x20 && ip[1] == 0x02) return ipv4_at(ip, 2);
  return same;
}

Ip effective_address(const stun::TransportAddress& a) { return effective_address(a.family, a.ip); }

core::Result<Cidr, std::string> parse_cidr(std::string_view text) {
  const std::string quoted = "\"" + std::string(text) + "\"";
  if (text.empty()) return core::fail(std::string("an empty entry is not an address"));
  std::string_view address = text;
  std::string_view length_text;
  bool has_length = false;
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    address = text.substr(0, slash);
    length_text = text.substr(slash + 1);
    has_length = true;
  }
  if (address.size() > INET6_ADDRSTRLEN) return core::fail(quoted + " is not an IPv4 or IPv6 address");
  char buffer[INET6_ADDRSTRLEN + 1] = {};
  std::memcpy(buffer, address.data(), address.size());
  Cidr out;
  int max_bits = 0;
  if (::inet_pton(AF_INET, buffer, out.prefix.data()) == 1) {
    out.family = Family::ipv4;
    max_bits = 32;
  } else if (::inet_pton(AF_INET6, buffer, out.prefix.data()) == 1) {
    out.family = Family::ipv6;
    max_bits = 128;
  } else {
    return core::fail(quoted + " is not an IPv4 or IPv6 address (CIDR: address/prefix-length)");
  }
  out.bits = max_bits;
  if (has_length) {
    int bits = -1;
    auto [end, ec] = std::from_chars(length_text.data(), length_text.data() + length_text.size(), bits);
    const bool digits_only =
        !length_text.empty() && length_text.find_first_not_of("0123456789") == std::string_view::npos;
    if (!digits_only || ec != std::errc() || end != length_text.data() + length_text.size() ||
        bits > max_bits) {
      return core::fail(quoted + ": the prefix length must be a number from 0 to " +
                        std::to_string(max_bits) + (max_bits == 32 ? " for IPv4" : " for IPv6"));
    }
    out.bits = bits;
  }
  // Bits past the prefix usually mean a typo in the address or the length:
  // refuse them rather than guess which.
  Cidr network = out;
  for (int bit = out.bits; bit < max_bits; ++bit) {
    network.prefix[static_cast<std::size_t>(bit / 8)] &= static_cast<std::uint8_t>(~(0x80 >> (bit % 8)));
  }
  if (network.prefix != out.prefix) {
    char shown[INET6_ADDRSTRLEN] = {};
    ::inet_ntop(out.family == Family::ipv4 ? AF_INET : AF_INET6, network.prefix.data(), shown, sizeof shown);
    return core::fail(quoted + " has address bits set past the prefix length; the network is " + shown + "/" +
                      std::to_string(out.bits));
  }
  // An IPv4-mapped range is the IPv4 range it maps, so that it applies the
  // way the relay judges mapped peers.
  static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (out.family == Family::ipv6 && out.bits >= 96 && std::memcmp(out.prefix.data(), kMapped, 12) == 0) {
    Cidr mapped;
    mapped.family = Family::ipv4;
    std::memcpy(mapped.prefix.data(), out.prefix.data() + 12, 4);
    mapped.bits = out.bits - 96;
    return mapped;
  }
  return out;
}

}  // namespace

core::Result<void, std::string> validate_cidr(std::string_view text) {
  auto parsed = parse_cidr(text);
  if (!parsed) return core::fail(parsed.error());
  return {};
}

core::Result<AddressPolicy, std::string> AddressPolicy::create(const std::vector<std::string>& allow,
                                                               const std::vector<std::string>& deny,
                                                               OwnAddresses own) {
  AddressPolicy policy;
  std::string errors;
  auto add_all = [&errors](const std::vector<std::string>& entries, std::vector<Range>& into,
                           const char* list) {
    for (const auto& entry : entries) {
      auto parsed = parse_cidr(entry);
      if (!parsed) {
        if (!errors.empty()) errors += "; ";
        errors += std::string(list) + ": " + parsed.error();
        continue;
      }
      into.push_back(Range{parsed->family, parsed->prefix, parsed->bits});
    }
  };
  add_all(allow, policy.allow_, "allow_peers");
  add_all(deny, policy.deny_, "deny_peers");
  if (!errors.empty()) return core::fail(std::move(errors));
  if (own.relay_port_min > own.relay_port_max) {
    return core::fail("the relay port range " + std::to_string(own.relay_port_min) + "-" +
                      std::to_string(own.relay_port_max) + " is empty");
  }
  policy.own_ = std::move(own);
  return policy;
}

AddressPolicy::Verdict AddressPolicy::check(const stun::TransportAddress& peer) const {
  Ip raw{peer.family, peer.ip};
  if (peer.family == Family::ipv4) std::fill(raw.bytes.begin() + 4, raw.bytes.end(), std::uint8_t{0});
  const Ip effective = effective_address(peer);
  auto in = [](const Ip& ip, Family family, const std::array<std::uint8_t, 16>& prefix, int bits) {
    return in_range(ip.family, ip.bytes, family, prefix, bits);
  };

  // A deny entry catches a peer in either form (so "deny 64:ff9b::/96" shuts
  // NAT64 off whole); an allow entry must name where the packet really goes,
  // or "allow ::/0" would let ::ffff:127.0.0.1 through.
  for (const auto& r : deny_) {
    if (in(raw, r.family, r.prefix, r.bits) || in(effective, r.family, r.prefix, r.bits)) {
      return Verdict::denied_by_config;
    }
  }
  for (const auto& r : allow_) {
    if (in(effective, r.family, r.prefix, r.bits)) return Verdict::allowed;
  }
  for (const auto& r : kDefaultDenied) {
    if (in(raw, r.family, r.prefix, r.bits) || in(effective, r.family, r.prefix, r.bits)) {
      return Verdict::denied_by_default;
    }
  }
  // Two clients of this server reach each other through their relayed
  // addresses; everything else on the server's own addresses is off limits.
  for (const auto& relayed : own_.relayed) {
    if (effective_address(relayed) == effective) {
      if (peer.port >= own_.relay_port_min && peer.port <= own_.relay_port_max) return Verdict::allowed;
      return Verdict::denied_own_address;
    }
  }
  for (const auto& listen : own_.listen) {
    if (effective_address(listen) == effective) return Verdict::denied_own_address;
  }
  return Verdict::allowed;
}

std::string_view to_string(AddressPolicy::Verdict v) {
  switch (v) {
    case AddressPolicy::Verdict::allowed: return "allowed";
    case AddressPolicy::Verdict::denied_by_config: return "denied_by_config";
    case AddressPolicy::Verdict::denied_by_default: return "denied_by_default";
    case AddressPolicy::Verdict::denied_own_address: return "denied_own_address";
  }
  return "unknown";
}

}  // namespace ucedge::turn
