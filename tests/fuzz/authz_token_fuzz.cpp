// Bearer tokens from the network: read_access_token, read_refresh_token and
// peek_refresh_token
// must refuse anything but our own tokens with a TokenError, never crash.
//
// A random input almost never carries a valid RS256 signature, so the first
// byte may ask for the rest to be signed with our key first, which lets the
// fuzzer reach the payload, the inner JWE and the claims:
//   '!' rest = a JWS payload (refresh claims, or {"private": ...})
//   '~' rest = the JWE plaintext of an access token (its claims)
//   '^' rest = the inner JWE compact serialization of an access token
// Anything else is read as a token, as it came. The encryption key and issuer
// are fixed, so seeds can hold JWEs whose kid we know; the signing key is made
// once per process.
#include <cjose/cjose.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "authz/jose/tokens.hpp"

using namespace ucedge::authz;

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

constexpr std::string_view kIssuer = "00000000-0000-4000-8000-000000000000";
// The encryption key is bytes 0x01..0x20; its kid is
// "00000000-0000-4000-8000-000000000000:<sha256 hex of those bytes>".
std::string fixed_encryption_bytes() {
  std::string raw;
  for (int i = 1; i <= 32; ++i) raw.push_back(static_cast<char>(i));
  return raw;
}

struct Fixture {
  KeySet keys;

  Fixture() {
    auto signing = SigningKey::generate(kIssuer);
    check(signing.ok());
    auto encryption = EncryptionKey::from_bytes(kIssuer, fixed_encryption_bytes());
    check(encryption.ok());
    keys.signing = std::make_shared<const SigningKey>(std::move(signing).value());
    keys.encryption = std::make_shared<const EncryptionKey>(std::move(encryption).value());
    keys.verifying = {keys.signing};
    keys.decrypting = {keys.encryption};
  }
};

const Fixture& fixture() {
  static const Fixture f;
  return f;
}

std::string sign(std::string_view payload) {
  const SigningKey& key = *fixture().keys.signing;
  cjose_err err{};
  cjose_header_t* header = cjose_header_new(&err);
  cjose_header_set(header, "alg", "RS256", &err);
  cjose_header_set(header, "typ", "JWT", &err);
  cjose_header_set(header, "kid", key.kid().c_str(), &err);
  cjose_jws_t* jws = cjose_jws_sign(static_cast<const cjose_jwk_t*>(key.native().get()), header,
                                    reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size(), &err);
  cjose_header_release(header);
  check(jws != nullptr);
  const char* compact = nullptr;
  check(cjose_jws_export(jws, &compact, &err));
  std::string token(compact);
  cjose_jws_release(jws);
  return token;
}

std::string encrypt(std::string_view plaintext) {
  const EncryptionKey& key = *fixture().keys.encryption;
  cjose_err err{};
  cjose_header_t* header = cjose_header_new(&err);
  cjose_header_set(header, "alg", "dir", &err);
  cjose_header_set(header, "cty", "JWT", &err);
  cjose_header_set(header, "enc", "A128CBC-HS256", &err);
  cjose_header_set(header, "kid", key.kid().c_str(), &err);
  cjose_jwe_t* jwe = cjose_jwe_encrypt(static_cast<const cjose_jwk_t*>(key.native().get()), header,
                                       reinterpret_cast<const std::uint8_t*>(plaintext.data()), plaintext.size(), &err);
  cjose_header_release(header);
  check(jwe != nullptr);
  char* compact = cjose_jwe_export(jwe, &err);
  check(compact != nullptr);
  std::string out(compact);
  cjose_get_dealloc()(compact);
  cjose_jwe_release(jwe);
  return out;
}

bool same(const AccessClaims& a, const AccessClaims& b) {
  return a.issuer == b.issuer && a.subject == b.subject && a.client_id == b.client_id && a.scope == b.scope &&
         a.token_id == b.token_id && a.family_id == b.family_id && a.token_type == b.token_type &&
         a.issued_at == b.issued_at && a.expires_at == b.expires_at;
}

// Whatever reads must mint again (unless it cannot be written back, as with
// a claim that is not UTF-8) and read back the same.
void round_trip(const AccessClaims& claims) {
  auto again = mint_access_token(fixture().keys, claims);
  if (!again) return;
  auto read = read_access_token(fixture().keys, *again);
  check(read.ok() && same(*read, claims));
}

void round_trip(const RefreshClaims& claims) {
  auto again = mint_refresh_token(fixture().keys, claims);
  if (!again) return;
  auto read = read_refresh_token(fixture().keys, *again);
  check(read.ok() && read->issuer == claims.issuer && read->token_id == claims.token_id &&
        read->client_id == claims.client_id && read->token_type == claims.token_type &&
        read->expires_at == claims.expires_at);
  // Minting is deterministic.
  check(*mint_refresh_token(fixture().keys, claims) == *again);
}

void read_both(std::string_view token) {
  auto access = read_access_token(fixture().keys, token);
  auto refresh = read_refresh_token(fixture().keys, token);
  check(!(access.ok() && refresh.ok()));  // one kind or the other, never both
  // Reading without the signature check accepts at least what reading with
  // it accepts, and finds the same claims.
  auto peeked = peek_refresh_token(token);
  if (refresh) {
    check(peeked.ok() && peeked->token_id == refresh->token_id && peeked->client_id == refresh->client_id &&
          peeked->expires_at == refresh->expires_at && peeked->issuer == refresh->issuer);
  }
  if (!peeked) check(!to_string(peeked.error()).empty());
  if (access) round_trip(*access);
  if (refresh) round_trip(*refresh);
  if (!access) check(!to_string(access.error()).empty());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fixture();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  if (input.empty()) {
    read_both(input);
    return 0;
  }
  std::string_view rest = input.substr(1);
  switch (input.front()) {
    case '!':
      read_both(sign(rest));
      break;
    case '~':
      read_both(sign(R"({"private":")" + encrypt(rest) + R"("})"));
      break;
    case '^':
      read_both(sign(R"({"private":")" + std::string(rest) + R"("})"));
      break;
    default:
      read_both(input);
      break;
  }
  return 0;
}
