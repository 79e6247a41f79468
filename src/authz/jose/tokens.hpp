#pragma once
// The token formats of seed 001, minted and read with cjose.
//
// Access token: a JWS (RS256, header {"alg","typ":"JWT","kid"}) whose payload
// is {"private": <JWE compact>}; the JWE has the header
// {"alg":"dir","cty":"JWT","enc":"A128CBC-HS256","kid"} and its plaintext is
// the JSON claims below. (cjose 0.6 writes that JWE header with a space after
// each ':' and ','; the seed's has none. Same members, same order.)
//
// Refresh token: a JWS (RS256, same header) whose payload is
// {"exp","iss","typ":"user","tid","ctyp":"refresh","ccid"}. Minting is
// deterministic: the same claims and key give the same token, byte for byte
// (RS256 signatures are deterministic and claims are written in a fixed
// order), so a refresh repeated inside the grace window can be answered with
// the very token it got the first time without storing that token.
//
// Reading checks structure, algorithm (RS256 only; "none", HS256 and
// anything else are refused before any key is used), kid, signature and, for
// access tokens, decrypts. It does not look at times: the caller compares
// exp/iat with its own clock and tolerance.
//
// Any number of threads may mint and read with one KeySet at once: a KeySet
// and its keys are never changed once built, cjose only reads a key while it
// signs, verifies, encrypts or decrypts, and each call has its own cjose
// objects.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "authz/jose/keys.hpp"
#include "core/result.hpp"

namespace ucedge::authz {

// Tokens longer than this are refused before parsing.
inline constexpr std::size_t kMaxTokenBytes = 8192;

enum class TokenError {
  malformed,       // not three base64url parts, bad JSON, missing or mistyped claims, too long
  wrong_algorithm, // alg is not RS256 (or, inside, not dir/A128CBC-HS256)
  unknown_key,     // kid names no key we still accept
  bad_signature,
  cannot_decrypt,  // JWE authentication tag does not match
  wrong_kind,      // an access token where a refresh token was expected, or the reverse
};
std::string_view to_string(TokenError error);

struct AccessClaims {
  std::string issuer;      // "iss": the issuer uuid
  std::string subject;     // "sub": user id, or the client id for client_credentials
  std::string client_id;   // "client_id"
  std::string scope;       // "scope": space-separated
  std::string token_id;    // "jti"
  std::string family_id;   // "fid": the refresh-token family, "" without one
  std::string token_type;  // "typ": "user" or "client"
  std::int64_t issued_at = 0;   // "iat", Unix seconds
  std::int64_t expires_at = 0;  // "exp", Unix seconds
};

struct RefreshClaims {
  std::string issuer;      // "iss"
  std::string token_id;    // "tid": refreshtokenindex in the store
  std::string client_id;   // "ccid"
  std::string token_type = "user";  // "typ"
  std::int64_t expires_at = 0;      // "exp"
};

// The keys a node holds at one moment: the ones new tokens use, and every one
// still accepted when reading (the current ones included).
struct KeySet {
  std::shared_ptr<const SigningKey> signing;
  std::shared_ptr<const EncryptionKey> encryption;
  std::vector<std::shared_ptr<const SigningKey>> verifying;
  std::vector<std::shared_ptr<const EncryptionKey>> decrypting;

  const SigningKey* find_verifying(std::string_view kid) const;
  const EncryptionKey* find_decrypting(std::string_view kid) const;
};

core::Result<std::string> mint_access_token(const KeySet& keys, const AccessClaims& claims);
core::Result<std::string> mint_refresh_token(const KeySet& keys, const RefreshClaims& claims);

core::Result<AccessClaims, TokenError> read_access_token(const KeySet& keys, std::string_view token);
core::Result<RefreshClaims, TokenError> read_refresh_token(const KeySet& keys, std::string_view token);
// The claims of an RS256 refresh token whose signature is not checked here:
// for tokens the store keeps a digest of, where the digest proves them.
core::Result<RefreshClaims, TokenError> peek_refresh_token(std::string_view token);

}  // namespace ucedge::authz
