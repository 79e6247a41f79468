#pragma once
// Refresh tokens as stored (table authz_refresh_tokens, the seed's
// refreshtokendetails: pkid, refreshtokenindex, userid, clientid, validity,
// state), and the rules of exchanging one.
//
// A sign-in starts a family. Every token of a family shares the family's
// validity (absolute expiry: the lifetime counts from the sign-in, as the
// seed's "OAuth Refresh Token Expiry Timer"), so a whole family is purged at
// once when it expires.
//
// Exchange (one transaction, so concurrent nodes agree):
// - rotation off: the token stays active and is handed back as it is;
// - rotation on: the active token becomes "rotated" and a child is created;
// - the rotated token presented again within `grace_period` of its rotation,
//   at most `grace_reuses` times: the same child is handed back (grace
//   answer), provided the child is still active. This is what concurrent
//   refreshes of one token need (hydra#1831, keycloak#14040);
// - presented again later, or more often, or after its child moved on: reuse
//   detected, the whole family is revoked (RFC 9700 §4.14.2);
// - revoked, expired, unknown, or presented by another client: refused.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "store/store.hpp"

namespace ucedge::authz {

class Revocations;

struct RotationSettings {
  bool rotate = true;
  std::chrono::seconds grace_period{10};
  int grace_reuses = 5;
};

enum class RefreshState { active, rotated, revoked };
std::string_view to_string(RefreshState state);  // "active", "rotated", "revoked"

struct RefreshRecord {
  std::string pkid;                // row id (UUID)
  std::string index;               // refreshtokenindex: the token's "tid"
  std::string userid;
  std::string clientid;
  std::int64_t validity = 0;       // expiry, Unix seconds: the token's "exp"
  RefreshState state = RefreshState::active;
  std::string family_id;           // index of the family's first token
  std::string scope;
  std::int64_t issued_at = 0;
  std::optional<std::int64_t> rotated_at;
  std::optional<std::string> child_index;
  int grace_uses = 0;
  // SHA-256 (hex) of the token's text as issued; absent for tokens issued
  // before ucedge kept it. A presented token matching it needs no
  // signature check.
  std::optional<std::string> token_digest;
};

// A token signed before its row is written: the row's index, the validity
// it was signed with and the digest of its text.
struct MintedToken {
  std::string index;
  std::int64_t validity = 0;
  std::string digest;
};

// What the caller knows of the token presented for an exchange.
struct Presented {
  // SHA-256 (hex) of the token's text. A row that keeps a digest is only
  // exchanged for the token that matches it; absent: the caller vouches.
  std::optional<std::string> digest;
  // The caller checked the token's signature: needed for rows without a digest.
  bool signature_checked = true;
};

struct Exchange {
  enum class Outcome {
    rotated,       // `token` is a new child
    unchanged,     // rotation off: `token` is the presented token
    grace_repeat,  // `token` is the child handed out before
    reuse_detected,// family revoked now
    revoked,
    expired,
    unknown,
    wrong_client,
    unverified,  // the row keeps no digest: check the signature and ask again
  };
  Outcome outcome = Outcome::unknown;
  RefreshRecord token;  // set for rotated, unchanged and grace_repeat
};
std::string_view to_string(Exchange::Outcome outcome);

struct RefreshFilter {
  // Braces so designated initialisers may leave any out without a warning.
  std::optional<std::string> userid{};
  std::optional<std::string> clientid{};
  std::optional<RefreshState> state{};
  std::int64_t limit = 100;
  std::int64_t offset = 0;
};

class RefreshTokenStore {
 public:
  // `revocations` (may be null) hears of every family or user revoked, so
  // access tokens of it stop being accepted too.
  RefreshTokenStore(store::Store& store, RotationSettings settings, Revocations* revocations,
                    const core::Clock& clock = core::RealClock::instance());

  // The first token of a new family; `minted` when it was signed already.
  core::Result<RefreshRecord, store::StoreError> issue(std::string_view userid, std::string_view clientid,
                                                       std::string_view scope, std::int64_t validity,
                                                       std::optional<MintedToken> minted = std::nullopt);
  // `child`, when given, is the token a rotation hands out (signed ahead,
  // with the presented token's validity), else its index is made here.
  core::Result<Exchange, store::StoreError> exchange(std::string_view index, std::string_view clientid,
                                                     Presented presented = {},
                                                     std::optional<MintedToken> child = std::nullopt);
  // exchange() through Store::transaction_later(): returns at once; `done`
  // gets the result after the commit, on the store's writer thread where
  // the store writes in the background (so it should only hand the work on).
  using ExchangeDone = std::function<void(core::Result<Exchange, store::StoreError>)>;
  void exchange_later(std::string index, std::string clientid, Presented presented,
                      std::optional<MintedToken> child, ExchangeDone done);
  // Whether exchange_later() returns before the commit (SQLite's writer thread).
  bool exchanges_in_background() const { return store_.writes_in_background(); }
  core::Result<std::optional<RefreshRecord>, store::StoreError> find(std::string_view index);
  core::Result<std::vector<RefreshRecord>, store::StoreError> list(const RefreshFilter& filter);
  core::Result<std::int64_t, store::StoreError> count(const RefreshFilter& filter);

  // Revokes the active and rotated tokens; returns how many changed state.
  core::Result<std::int64_t, store::StoreError> revoke_family(std::string_view family_id);
  core::Result<std::int64_t, store::StoreError> revoke_user(std::string_view userid,
                                                            std::optional<std::string_view> clientid);

 private:
  struct ExchangeStep;
  // The transaction body that decides an exchange; it fills `step`.
  store::TransactionBody exchange_body(std::string index, std::string clientid, Presented presented,
                                       std::optional<MintedToken> child, ExchangeStep& step);
  // What the caller is told once the transaction is over.
  core::Result<Exchange, store::StoreError> exchange_result(core::Result<void, store::StoreError> committed,
                                                            ExchangeStep& step);

  store::Store& store_;
  const RotationSettings settings_;
  Revocations* revocations_;
  const core::Clock& clock_;
};

}  // namespace ucedge::authz
