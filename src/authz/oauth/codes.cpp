#include "authz/oauth/codes.hpp"

#include <chrono>

#include "core/random_token.hpp"
#include "core/secure_compare.hpp"

namespace ucedge::authz {

namespace {

std::int64_t unix_seconds(const core::Clock& clock) {
  return std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch()).count();
}

bool unreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

}  // namespace

AuthorizationCodes::AuthorizationCodes(store::Store& store, std::chrono::seconds lifetime, const core::Clock& clock)
    : store_(store), lifetime_(lifetime), clock_(clock) {}

core::Result<std::string, store::StoreError> AuthorizationCodes::issue(const CodeGrant& grant) {
  std::string code = core::random_token(32);
  const std::int64_t now = unix_seconds(clock_);
  auto inserted = store_.exec(
      "INSERT INTO authz_codes (code_hash, client_id, userid, redirect_uri, scope, code_challenge, created_at, "
      "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      {core::sha256_hex(code), grant.client_id, grant.userid, grant.redirect_uri, grant.scope, grant.code_challenge,
       now, now + lifetime_.count()});
  if (!inserted) return core::fail(inserted.error());
  return code;
}

core::Result<Redemption, store::StoreError> AuthorizationCodes::redeem(std::string_view code) {
  const std::string hash = core::sha256_hex(code);
  const std::int64_t now = unix_seconds(clock_);
  Redemption result;
  auto done = store_.transaction([&](store::Transaction& txn) -> core::Result<void, store::StoreError> {
    // The UPDATE decides which of two concurrent redemptions wins.
    auto claimed = txn.exec("UPDATE authz_codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL AND expires_at >= ?",
                            {now, hash, now});
    if (!claimed) return core::fail(claimed.error());
    auto rows = txn.query(
        "SELECT client_id, userid, redirect_uri, scope, code_challenge, expires_at, used_at, family_id "
        "FROM authz_codes WHERE code_hash = ?",
        {hash});
    if (!rows) return core::fail(rows.error());
    if (rows->empty()) {
      result.outcome = Redemption::Outcome::unknown;
      return {};
    }
    const store::Row& row = rows->front();
    if (*claimed == 1) {
      result.outcome = Redemption::Outcome::redeemed;
      result.grant.client_id = row.get<std::string>("client_id").value();
      result.grant.userid = row.get<std::string>("userid").value();
      result.grant.redirect_uri = row.get<std::string>("redirect_uri").value();
      result.grant.scope = row.get<std::string>("scope").value();
      result.grant.code_challenge = row.get<std::string>("code_challenge").value();
      return {};
    }
    auto used_at = row.get_optional<std::int64_t>("used_at");
    if (used_at && used_at->has_value()) {
      result.outcome = Redemption::Outcome::already_used;
      auto family = row.get_optional<std::string>("family_id");
      if (family) result.family_id = *family;
    } else {
      result.outcome = Redemption::Outcome::expired;
    }
    return {};
  });
  if (!done) return core::fail(done.error());
  return result;
}

core::Result<void, store::StoreError> AuthorizationCodes::link_family(std::string_view code,
                                                                      std::string_view family_id) {
  auto updated = store_.exec("UPDATE authz_codes SET family_id = ? WHERE code_hash = ?",
                             {std::string(family_id), core::sha256_hex(code)});
  if (!updated) return core::fail(updated.error());
  return {};
}

bool valid_s256_challenge(std::string_view challenge) {
  if (challenge.size() != 43) return false;
  for (char c : challenge) {
    if (!unreserved(c) || c == '.' || c == '~') return false;
  }
  return true;
}

bool pkce_s256_matches(std::string_view verifier, std::string_view challenge) {
  if (verifier.size() < 43 || verifier.size() > 128) return false;
  for (char c : verifier) {
    if (!unreserved(c)) return false;
  }
  return core::secure_equal(core::base64url_encode(core::sha256(verifier)), challenge);
}

}  // namespace ucedge::authz
