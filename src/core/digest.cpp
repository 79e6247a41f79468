#include "core/digest.hpp"

#include <sodium.h>

#include <algorithm>

namespace ucedge::core {

std::string digest_hex(std::string_view data, std::size_t bytes) {
  bytes = std::clamp<std::size_t>(bytes, crypto_generichash_BYTES_MIN, crypto_generichash_BYTES_MAX);
  unsigned char digest[crypto_generichash_BYTES_MAX];
  crypto_generichash(digest, bytes, reinterpret_cast<const unsigned char*>(data.data()), data.size(), nullptr, 0);
  std::string hex(bytes * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), digest, bytes);
  hex.pop_back();
  return hex;
}

}  // namespace ucedge::core
