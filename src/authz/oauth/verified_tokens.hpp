#pragma once
// Access tokens this node has already verified and decrypted. A resource
// server introspects the same token at every call it serves, so the second
// and later answers cost a hash lookup instead of an RSA verification and a
// decryption. Only what the token itself says is remembered: expiry, issuer
// and revocation are checked at every use, and the whole cache is forgotten
// when the node's key set changes (a retired key must stop being accepted).
// Bounded: a full shard is emptied rather than aged.
#include <array>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "authz/jose/tokens.hpp"

namespace ucedge::authz {

class VerifiedTokens {
 public:
  static constexpr std::size_t kShards = 16;

  explicit VerifiedTokens(std::size_t per_shard = 4096) : per_shard_(per_shard) {}

  // The claims of `token` if it was verified under `keys`; otherwise reads it
  // now (and remembers it when valid).
  core::Result<AccessClaims, TokenError> read(const std::shared_ptr<const KeySet>& keys, std::string_view token);
  // Tokens remembered now, at most kShards * per_shard.
  std::size_t size();

 private:
  struct TokenHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view token) const { return std::hash<std::string_view>{}(token); }
  };
  struct Shard {
    std::mutex mutex;
    // The key set the entries were verified under; held, so that a new set
    // can never reuse its address.
    std::shared_ptr<const KeySet> keys;
    std::unordered_map<std::string, AccessClaims, TokenHash, std::equal_to<>> claims;
  };
  const std::size_t per_shard_;
  std::array<Shard, kShards> shards_;
};

}  // namespace ucedge::authz
