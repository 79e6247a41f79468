#pragma once
// Secrets at rest (device keys and passwords the server must give back, such
// as a profile's AES key): sealed with XChaCha20-Poly1305 (libsodium
// crypto_secretbox) under a master key kept outside the database, in
// DATA_DIR/master.key (0600, created on first use) or given by the
// environment (UCEDGE_MASTER_KEY, 64 hex digits) so a cluster shares one.
// Sealed text is "v1:" + base64(nonce || ciphertext).
#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace ucedge::core {

class SecretBox {
 public:
  static constexpr std::size_t kKeyBytes = 32;
  using Key = std::array<std::uint8_t, kKeyBytes>;

  explicit SecretBox(const Key& key);

  // UCEDGE_MASTER_KEY if set, else DATA_DIR/master.key, created (0600,
  // written durably) when missing. A malformed key is an error.
  static Result<SecretBox> open(const std::filesystem::path& data_dir);

  std::string seal(std::string_view plaintext) const;
  // Error for text that was not sealed by this key, or was altered.
  Result<std::string> unseal(std::string_view sealed) const;

  // A keyed hash (BLAKE2b under a sub-key of the master key), hex: lets the
  // store index a secret (an activation code) without holding it.
  std::string keyed_hash(std::string_view data) const;

 private:
  Key key_;
  Key hash_key_;
};

}  // namespace ucedge::core
