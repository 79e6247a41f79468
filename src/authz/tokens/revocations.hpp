#pragma once
// Which access tokens no longer count although their signature and expiry
// are fine: those of a revoked refresh-token family, of a user (or a user on
// one client) revoked by an administrator, or revoked one by one (RFC 7009).
//
// Rows live in authz_revocations until no access token they cover can still
// be valid (`expires_at`), so the table stays small. Every node holds them in
// memory; reload() reads only rows newer than the last it saw, and the
// service calls it every second and whenever another node announces a
// revocation (PostgreSQL NOTIFY), so a revocation reaches every node at once.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "authz/jose/tokens.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "store/store.hpp"

namespace ucedge::authz {

class Revocations {
 public:
  // `horizon`: how long after a revocation an access token issued before it
  // may still be unexpired (access-token lifetime + clock tolerance).
  Revocations(store::Store& store, std::chrono::seconds horizon,
              const core::Clock& clock = core::RealClock::instance());

  // Each records a row (inside `txn` when given, so it commits with the state
  // change it belongs to) and applies it to this node's memory once committed
  // (call reload()).
  core::Result<void, store::StoreError> revoke_family(store::Queryable& db, std::string_view family_id);
  core::Result<void, store::StoreError> revoke_token(store::Queryable& db, std::string_view token_id);
  core::Result<void, store::StoreError> revoke_user(store::Queryable& db, std::string_view userid,
                                                    std::optional<std::string_view> clientid);

  core::Result<void, store::StoreError> reload();
  // Forgets everything and reads again the rows still in force, so memory
  // drops what the purge deleted (purge_expired() and Purger call it).
  core::Result<void, store::StoreError> rebuild();
  // True when `claims` is covered by a revocation this node knows.
  bool revoked(const AccessClaims& claims) const;
  // Deletes rows past expires_at; returns how many.
  core::Result<std::int64_t, store::StoreError> purge_expired(std::int64_t batch);

 private:
  // Adds one row to memory; mutex_ held.
  void apply(const std::string* family_id, const std::string* token_id, const std::string* userid,
             const std::string* clientid, std::int64_t revoked_at);

  store::Store& store_;
  const std::chrono::seconds horizon_;
  const core::Clock& clock_;

  mutable std::mutex mutex_;
  std::int64_t last_id_ = 0;
  std::unordered_set<std::string> families_;
  std::unordered_set<std::string> token_ids_;
  // userid -> revocations (clientid or "" for every client, revoked_at)
  std::unordered_map<std::string, std::vector<std::pair<std::string, std::int64_t>>> users_;
};

}  // namespace ucedge::authz
