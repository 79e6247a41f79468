#pragma once
// Which peers a relay may send to (RFC 8656 §21.2.3 leaves it to the
// operator). By default: no loopback, RFC 1918, CGNAT (100.64/10), link-local
// (169.254/16, cloud metadata included, fe80::/10), ULA (fc00::/7),
// multicast, 0.0.0.0/8, ::, ::1, IPv4-mapped forms of all of them, nor the
// server's own addresses except the relay ports of its relayed addresses
// (two clients of one server talk through both allocations).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "turn/codec/stun.hpp"

namespace ucedge::turn {

struct OwnAddresses {
  std::vector<stun::TransportAddress> listen;   // ports matter: every listener of the server
  std::vector<stun::TransportAddress> relayed;  // advertised relayed addresses (port ignored)
  std::uint16_t relay_port_min = 49152;
  std::uint16_t relay_port_max = 65535;
};

class AddressPolicy {
 public:
  enum class Verdict {
    allowed,
    denied_by_config,   // a [turn] deny_peers entry
    denied_by_default,  // one of the built-in ranges
    denied_own_address, // the server itself, outside its relay ports
  };

  // `allow` and `deny` are CIDR ("10.1.0.0/16", "2001:db8::/32") or single
  // addresses. deny wins over allow; allow wins over the built-in ranges and
  // the own-address rule. Errors name every bad entry.
  static core::Result<AddressPolicy, std::string> create(const std::vector<std::string>& allow,
                                                         const std::vector<std::string>& deny,
                                                         OwnAddresses own);
  Verdict check(const stun::TransportAddress& peer) const;
  bool permits(const stun::TransportAddress& peer) const { return check(peer) == Verdict::allowed; }

 private:
  struct Range {
    stun::TransportAddress::Family family;
    std::array<std::uint8_t, 16> prefix{};
    int bits = 0;
  };
  AddressPolicy() = default;
  std::vector<Range> allow_;
  std::vector<Range> deny_;
  OwnAddresses own_;
};

std::string_view to_string(AddressPolicy::Verdict v);

// Parses "a.b.c.d", "a.b.c.d/n", "x::y", "x::y/n".
core::Result<void, std::string> validate_cidr(std::string_view text);

}  // namespace ucedge::turn
