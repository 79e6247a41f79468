#pragma once
// Authorization codes (RFC 6749 §4.1.2): 256 random bits handed to the
// client once, stored only as their SHA-256 digest (table authz_codes),
// short-lived and single use. A code presented a second time is refused and
// the refresh-token family it produced is revoked (§4.1.2: "the
// authorization server ... SHOULD revoke (when possible) all tokens
// previously issued based on that authorization code").
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "store/store.hpp"

namespace ucedge::authz {

struct CodeGrant {
  std::string client_id;
  std::string userid;
  std::string redirect_uri;  // as sent to /authorize; "" when it was left out
  std::string scope;
  std::string code_challenge;  // S256 challenge; "" without PKCE
};

struct Redemption {
  enum class Outcome { redeemed, unknown, expired, already_used };
  Outcome outcome = Outcome::unknown;
  CodeGrant grant;                       // for redeemed
  std::optional<std::string> family_id;  // for already_used: the family to revoke
};

class AuthorizationCodes {
 public:
  AuthorizationCodes(store::Store& store, std::chrono::seconds lifetime,
                     const core::Clock& clock = core::RealClock::instance());

  // The code to hand out.
  core::Result<std::string, store::StoreError> issue(const CodeGrant& grant);
  // Marks the code used (one transaction: of two concurrent redemptions only
  // one wins).
  core::Result<Redemption, store::StoreError> redeem(std::string_view code);
  // Records which refresh-token family the redeemed code produced.
  core::Result<void, store::StoreError> link_family(std::string_view code, std::string_view family_id);

 private:
  store::Store& store_;
  const std::chrono::seconds lifetime_;
  const core::Clock& clock_;
};

// RFC 7636 §4.6: BASE64URL(SHA256(verifier)) == challenge, with a verifier of
// 43-128 unreserved characters (§4.1).
bool pkce_s256_matches(std::string_view verifier, std::string_view challenge);
// A challenge is 43 base64url characters (a SHA-256 digest).
bool valid_s256_challenge(std::string_view challenge);

}  // namespace ucedge::authz
