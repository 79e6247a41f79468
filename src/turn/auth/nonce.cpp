#include "turn/auth/nonce.hpp"

#include <sodium.h>

#include <cstring>

#include "core/secure_compare.hpp"

namespace ucedge::turn {

namespace {

// "EEEEEEEEEEEEEEEE" (the expiry, unix seconds, 16 hex digits) followed by
// 32 hex digits of HMAC-SHA256(key, expiry || family || client IP). The
// client's port is left out: over TCP a client may retry from a new port.
constexpr std::size_t kExpiryDigits = 16;
constexpr std::size_t kMacBytes = 16;
constexpr std::size_t kNonceChars = kExpiryDigits + 2 * kMacBytes;

std::int64_t unix_seconds(const core::Clock& clock) {
  return std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch()).count();
}

void write_hex(char* out, const std::uint8_t* bytes, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0x0f];
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// The MAC of a nonce, hex, written to `out` (2 * kMacBytes chars).
void mac_hex(const std::array<std::uint8_t, 32>& key, std::uint64_t expiry,
             const stun::TransportAddress& client, char* out) {
  std::uint8_t message[8 + 1 + 16];
  for (int i = 0; i < 8; ++i) message[i] = static_cast<std::uint8_t>(expiry >> (56 - 8 * i));
  message[8] = static_cast<std::uint8_t>(client.family);
  const std::size_t ip_bytes = client.ip_bytes();
  std::memcpy(message + 9, client.ip.data(), ip_bytes);
  std::uint8_t mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256(mac, message, 9 + ip_bytes, key.data());
  write_hex(out, mac, kMacBytes);
  sodium_memzero(mac, sizeof mac);
}

}  // namespace

NonceIssuer::NonceIssuer(std::span<const std::uint8_t> key, std::chrono::seconds lifetime,
                         const core::Clock& clock)
    : lifetime_(lifetime), clock_(clock) {
  // A 32-byte key is used as is; any other length is hashed to 32 bytes.
  if (key.size() == key_.size()) {
    std::memcpy(key_.data(), key.data(), key_.size());
  } else {
    crypto_hash_sha256(key_.data(), key.data(), key.size());
  }
}

std::string NonceIssuer::issue(const stun::TransportAddress& client) const {
  const auto expiry = static_cast<std::uint64_t>(unix_seconds(clock_) + lifetime_.count());
  std::string nonce(kNonceChars, '0');
  std::uint8_t expiry_bytes[8];
  for (int i = 0; i < 8; ++i) expiry_bytes[i] = static_cast<std::uint8_t>(expiry >> (56 - 8 * i));
  write_hex(nonce.data(), expiry_bytes, sizeof expiry_bytes);
  mac_hex(key_, expiry, client, nonce.data() + kExpiryDigits);
  return nonce;
}

NonceIssuer::Verdict NonceIssuer::check(std::string_view nonce, const stun::TransportAddress& client) const {
  if (nonce.size() != kNonceChars) return Verdict::invalid;
  std::uint64_t expiry = 0;
  for (std::size_t i = 0; i < kExpiryDigits; ++i) {
    const int v = hex_value(nonce[i]);
    if (v < 0) return Verdict::invalid;
    expiry = (expiry << 4) | static_cast<std::uint64_t>(v);
  }
  char expected[2 * kMacBytes];
  mac_hex(key_, expiry, client, expected);
  if (!core::secure_equal(nonce.substr(kExpiryDigits), std::string_view(expected, sizeof expected))) {
    return Verdict::invalid;
  }
  const auto now = static_cast<std::uint64_t>(unix_seconds(clock_));
  return now < expiry ? Verdict::valid : Verdict::stale;
}

}  // namespace ucedge::turn
