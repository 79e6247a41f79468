#pragma once
// Stateless nonces (RFC 8489 §9.2): the expiry time and an HMAC of it and the
// client's address under a server key. Nothing is stored per client, so an
// unauthenticated packet costs one HMAC and no memory.
#include <array>
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "turn/codec/stun.hpp"

namespace ucedge::turn {

class NonceIssuer {
 public:
  NonceIssuer(std::span<const std::uint8_t> key, std::chrono::seconds lifetime,
              const core::Clock& clock = core::RealClock::instance());

  std::string issue(const stun::TransportAddress& client) const;

  enum class Verdict { valid, stale, invalid };
  // invalid: not one of ours, or for another address; stale: ours but expired.
  Verdict check(std::string_view nonce, const stun::TransportAddress& client) const;

 private:
  std::array<std::uint8_t, 32> key_{};
  std::chrono::seconds lifetime_;
  const core::Clock& clock_;
};

}  // namespace ucedge::turn
