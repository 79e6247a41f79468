#include "authz/oauth/verified_tokens.hpp"

namespace ucedge::authz {

core::Result<AccessClaims, TokenError> VerifiedTokens::read(const std::shared_ptr<const KeySet>& keys,
                                                            std::string_view token) {
  // The signature, the last part, is what varies most between tokens.
  Shard& shard = shards_[std::hash<std::string_view>{}(token.substr(token.rfind('.') + 1)) % kShards];
  {
    std::lock_guard lock(shard.mutex);
    if (shard.keys == keys) {
      if (auto found = shard.claims.find(token); found != shard.claims.end()) return found->second;
    }
  }
  auto claims = read_access_token(*keys, token);
  if (!claims) return claims;
  std::lock_guard lock(shard.mutex);
  if (shard.keys != keys || shard.claims.size() >= per_shard_) {
    shard.claims.clear();
    shard.keys = keys;
  }
  shard.claims.emplace(std::string(token), *claims);
  return claims;
}

std::size_t VerifiedTokens::size() {
  std::size_t total = 0;
  for (auto& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    total += shard.claims.size();
  }
  return total;
}

}  // namespace ucedge::authz
