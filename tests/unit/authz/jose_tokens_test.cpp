// The token formats of seed 001: the keys, minting and reading access and
// refresh tokens, the layout of the seed's sample tokens, and every way a
// token is refused (alg "none", HS256 keyed with our public key, unknown kid,
// bad signature, a JWE that fails authentication, the wrong kind, missing
// and mistyped claims).
#include "authz/jose/tokens.hpp"

#include <cjose/cjose.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <array>
#include <atomic>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>
#include <vector>

#include "core/random_token.hpp"

namespace ucedge::authz {
namespace {

using nlohmann::ordered_json;

// The sample tokens printed in seed 001 (Cisco's, signed with a key we do not
// have): only their layout can be checked.
constexpr std::string_view kSeedAccessToken =
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6IjhkMGQ1MzI0LWY0ZjAtNGIwYi04MTFlLTRhNTlmZGI2YjcyMjpjMjc3MGM5N2JkYT"
    "lkMzRmZDA1YTdlYTFhZWQzZTU0Y2E4MGJkZDdlZTM1ZDk3MDNiNjBiNTQ5MTBiZDQ0ODRiIn0.eyJwcml2YXRlIjoiZXlKaGJHY2lPaUprYVhJ"
    "aUxDSmpkSGtpT2lKS1YxUWlMQ0psYm1NaU9pSkJNVEk0UTBKRExVaFRNalUySWl3aWEybGtJam9pT0dRd1pEVXpNalF0WmpSbU1DMDBZakJpTFRn"
    "eE1XVXROR0UxT1daa1lqWmlOekl5T21Vd1ptUm1ZMk16WlRRMU5ERTFOV0ZpTkRJek5tRTJOMlV4T0RCbU1qWmxZMkl3WXpJeE56SXlOREJtWlRF"
    "ellXWXlOak14TkRkalpHVXpNR1l3TjJJaWZRLi5xQWd6aGdRaTVMMkdlaDl5V2RvN25nLmdMTHNpaTRjQk50c1NEUXRJTE51RWRnWTl4WkJVczJ4"
    "YzBaeTFGQjZQNmNzWWJfZkRnaDRZby04V1NaNjUzdXowbnFOalpXT1E1dGdnYW9qMlp6ZFk2ZzN2SWFHbF9JWUtNdkNIWWNscmt4YUFGTk5MWExL"
    "QlJmaTA2LVk2V3l1dUdxNmpNWk5DbnlKX1pTbUpkVFQwc1Z4RTdGTXVxaUJsMElrRGdyVDdvOFNXMEY5cXFadndEZDJSaDdqNkRJWGdkS3VtOWlt"
    "U2xNU1pjejhueVdic01Udk5yMWY0M25VenJzMHk5WWN6NnBDX0czZmlWYjJsX2VWLVFkcFh4TUo2bnZodXcydjRiUGVkM3VMQlpaVW1oQ3B6TUVD"
    "dW5NMlh1TVBrTGdlS1NqWG44aGhPRFNVcW1WQ0Uta3RZdnRBc2Q0RnJxcGNxWlZiS0ZiVTFRbU0wV2pMYVJtUk9IVllQVkc0a3FBdTRWalVMUzVC"
    "RWszNnZ4Nmp3U3BMUy1IdTcwbVRNcmR3dmV5Q2ZOYkhyT0FlVmVvekFIR3JqdGlmaFpmSFVUTWZiNkMtX2tOQVJGQWdDclZTZy0wUzlxb1JvTWVk"
    "UENETEE4MDJiaWwtNDJjOC15MWo4X1FVaC02UUtCV2dodVd4VWtBODRpekFFaWl0QTlsSHFKM3Nxd2JFNURkZmhIay05bTJfTTN5MWlWVkdoRVQ3"
    "ZW9XVDBqWllnRGRBQjFzUGwxLTlaSFNYYmsydTE3SkJVRV9FOXI0V0tWMnBqWGtiN0lQSWgtQ3JWQTZkcVdQRHVIbmx1V19wblNLYnYtTkZVbGQ0"
    "WEY3cmZLYmQySlg4eUhhX05pOVVVUnUwZVdsNWxGRUVabklubmFKZEdHLUZrb3VuN2xHSFlwSE4ydXVudmRnOHZVZzZsa0JPbmozeUFjc1ZTMGxK"
    "c1NWdUxFYldwd2c4YjdBdDM3d3AtMWt2Y1ZQaWpCQ1lCV181d2JzbTFYd2k4MVc2WHVpNzMzQVg3cEJVQnBfT2VRNzQ2ZXJJekNUUFZCYUpZUGJu"
    "ZWEtdFhsU3RmZzBGeVRmbnhnX1Vzazl3QXJkemE4c204T0FQaWMxZmFQOG0uUTdFN0FVX2xUVnNmZFI2bnkydUdhQSJ9.u2fJrVA55NQC3esPb4"
    "kcodt5rnjc1o-5uEDdUf-KnCYEPBZ7t2CTsMMVVE3nfRhM39MfTlNS-qVOVpuoW_51NYaENXQMxfxlU9aXp944QiU1OeFQKj_g-n2dEINRStbtUc"
    "3KMKqtz38BFf1g2Z51sdlnBn4XyVWPgGCf4XSfsFIa9fF051awQ0LcCv6YQTGer_6nk7t6F1MzPzBZzja1abpm--6LNSzjPftEiexpD2oXvW8Vl0"
    "Z9ggNk5Pn3Ne4RzqK09J9WChaJSXkTTE5G39EZcePmVNtcbayq-L2pAK5weDa2k4uYMfAQAwcTOhUrwK3yilwqjHAamcG-CoiPZQ";
constexpr std::string_view kSeedRefreshToken =
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6IjhkMGQ1MzI0LWY0ZjAtNGIwYi04MTFlLTRhNTlmZGI2YjcyMjpjMjc3MGM5N2JkYT"
    "lkMzRmZDA1YTdlYTFhZWQzZTU0Y2E4MGJkZDdlZTM1ZDk3MDNiNjBiNTQ5MTBiZDQ0ODRiIn0.eyJleHAiOjE1MDI2MjAwNTIsImlzcyI6IjhkMG"
    "Q1MzI0LWY0ZjAtNGIwYi04MTFlLTRhNTlmZGI2YjcyMiIsInR5cCI6InVzZXIiLCJ0aWQiOiJiOTkxMjIxZi1mNDJlLTRlNTItODg3MS1jODc2ZT"
    "YzNWRkNWIiLCJjdHlwIjoicmVmcmVzaCIsImNjaWQiOiJDM2IwYWZmZWZlMTQzOTA0MTY4M2U5YzJjMzdkMzZmNDM4ZWYwZWYyN2MwOTM4YWRjNj"
    "IyNmUwYzAzZDE2OWYyYSJ9.creRusfwSYAMAtttS2FIPAgIVvCiREvnzlouxeyGVndalJlMa-ZpRqv8FOBrsYwqEyulrl-TeM8XGGQCUvFaqO9Ik"
    "hJqSYz3zvFvvySWzDhl_pPyWIQteAhL1GaQkue6a5ZegeHRp1sjEczKMLC6H68CHCfletn5-j2FNrAUOX99Vg5h4mHvlhfjJEel3dU_rciAIni12"
    "e3LOKajkzFxF6W0cXzzujyi2yPbY9gZsp9HoBbkkfThaZQbSlCEpvB3t7yRfEMIEaHhEUU4M3-uSybuvitUWJnUIdTONiWGRh_fOFR9LV3Iv9J54"
    "dbsecpsncc369pYhu5IHwvsglNKEQ";
constexpr std::string_view kSeedIssuer = "8d0d5324-f4f0-4b0b-811e-4a59fdb6b722";

const std::regex kKidForm("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:[0-9a-f]{64}");

std::vector<std::string> split(std::string_view text, char separator) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == separator) {
      parts.emplace_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

std::string b64decode(std::string_view text) {
  auto bytes = core::base64url_decode(text);
  EXPECT_TRUE(bytes.has_value()) << text;
  return bytes.value_or("");
}

ordered_json decode_json(std::string_view b64) { return ordered_json::parse(b64decode(b64)); }

std::vector<std::string> member_names(const ordered_json& object) {
  std::vector<std::string> names;
  for (const auto& item : object.items()) names.push_back(item.key());
  return names;
}

std::string b64(std::string_view bytes) { return core::base64url_encode(bytes); }

// Keys are slow to make (RSA): one set for the whole file.
struct Keys {
  std::string issuer = core::random_uuid();
  std::shared_ptr<const SigningKey> signing;
  std::shared_ptr<const EncryptionKey> encryption;
  KeySet set;

  Keys() {
    auto key = SigningKey::generate(issuer);
    EXPECT_TRUE(key) << key.error();
    signing = std::make_shared<const SigningKey>(std::move(key).value());
    encryption = std::make_shared<const EncryptionKey>(EncryptionKey::generate(issuer));
    set.signing = signing;
    set.encryption = encryption;
    set.verifying = {signing};
    set.decrypting = {encryption};
  }
};

const Keys& keys() {
  static const Keys k;
  return k;
}
const Keys& other_keys() {
  static const Keys k;
  return k;
}

AccessClaims sample_access(const Keys& k) {
  AccessClaims c;
  c.issuer = k.issuer;
  c.subject = "alice";
  c.client_id = "jabber-mobile";
  c.scope = "openid profile calendar";
  c.token_id = "6b0cf1c4-1b4c-4c5c-9b5e-0a8d3c1f2e77";
  c.family_id = "fam-1";
  c.token_type = "user";
  c.issued_at = 1'700'000'000;
  c.expires_at = 1'700'003'600;
  return c;
}

RefreshClaims sample_refresh(const Keys& k) {
  RefreshClaims c;
  c.issuer = k.issuer;
  c.token_id = "b991221f-f42e-4e52-8871-c876e635dd5b";
  c.client_id = "jabber-mobile";
  c.expires_at = 1'705'184'000;
  return c;
}

void expect_same(const AccessClaims& a, const AccessClaims& b) {
  EXPECT_EQ(a.issuer, b.issuer);
  EXPECT_EQ(a.subject, b.subject);
  EXPECT_EQ(a.client_id, b.client_id);
  EXPECT_EQ(a.scope, b.scope);
  EXPECT_EQ(a.token_id, b.token_id);
  EXPECT_EQ(a.family_id, b.family_id);
  EXPECT_EQ(a.token_type, b.token_type);
  EXPECT_EQ(a.issued_at, b.issued_at);
  EXPECT_EQ(a.expires_at, b.expires_at);
}

// --- tokens built by hand with cjose, for the refusals ----------------------

struct Header {
  std::vector<std::pair<std::string, std::string>> members;
};

std::string cjose_sign(const std::shared_ptr<void>& jwk, const Header& h, std::string_view payload) {
  cjose_err err{};
  cjose_header_t* header = cjose_header_new(&err);
  for (const auto& [name, value] : h.members) cjose_header_set(header, name.c_str(), value.c_str(), &err);
  cjose_jws_t* jws = cjose_jws_sign(static_cast<const cjose_jwk_t*>(jwk.get()), header,
                                    reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size(), &err);
  cjose_header_release(header);
  EXPECT_NE(jws, nullptr) << (err.message ? err.message : "");
  if (jws == nullptr) return "";
  const char* compact = nullptr;
  EXPECT_TRUE(cjose_jws_export(jws, &compact, &err));
  std::string out(compact);
  cjose_jws_release(jws);
  return out;
}

// Signed with our signing key, header as we write it: only the payload differs.
std::string signed_payload(const Keys& k, std::string_view payload) {
  return cjose_sign(k.signing->native(), Header{{{"alg", "RS256"}, {"typ", "JWT"}, {"kid", k.signing->kid()}}},
                    payload);
}

std::string cjose_encrypt(const std::shared_ptr<void>& jwk, const Header& h, std::string_view plaintext) {
  cjose_err err{};
  cjose_header_t* header = cjose_header_new(&err);
  for (const auto& [name, value] : h.members) cjose_header_set(header, name.c_str(), value.c_str(), &err);
  cjose_jwe_t* jwe = cjose_jwe_encrypt(static_cast<const cjose_jwk_t*>(jwk.get()), header,
                                       reinterpret_cast<const std::uint8_t*>(plaintext.data()), plaintext.size(), &err);
  cjose_header_release(header);
  EXPECT_NE(jwe, nullptr) << (err.message ? err.message : "");
  if (jwe == nullptr) return "";
  char* compact = cjose_jwe_export(jwe, &err);
  std::string out(compact);
  cjose_get_dealloc()(compact);
  cjose_jwe_release(jwe);
  return out;
}

// An access token whose JWE plaintext is `claims_json`, encrypted and signed
// with our keys.
std::string access_with_plaintext(const Keys& k, std::string_view claims_json) {
  std::string jwe = cjose_encrypt(
      k.encryption->native(),
      Header{{{"alg", "dir"}, {"cty", "JWT"}, {"enc", "A128CBC-HS256"}, {"kid", k.encryption->kid()}}}, claims_json);
  return signed_payload(k, R"({"private":")" + jwe + R"("})");
}

TokenError access_error(std::string_view token) {
  auto read = read_access_token(keys().set, token);
  EXPECT_FALSE(read) << "read a token that should be refused: " << token;
  return read ? TokenError{} : read.error();
}

TokenError refresh_error(std::string_view token) {
  auto read = read_refresh_token(keys().set, token);
  EXPECT_FALSE(read) << "read a token that should be refused: " << token;
  return read ? TokenError{} : read.error();
}

// --- keys -----------------------------------------------------------------

TEST(JoseKeys, SigningKidIsIssuerAndSha256OfTheSubjectPublicKeyInfo) {
  const Keys& k = keys();
  EXPECT_TRUE(std::regex_match(k.signing->kid(), kKidForm)) << k.signing->kid();
  EXPECT_EQ(k.signing->kid(), k.issuer + ":" + k.signing->hash());

  // Recomputed from the PEM through OpenSSL's own DER encoder.
  std::string pem = k.signing->private_pem();
  EXPECT_TRUE(pem.starts_with("-----BEGIN PRIVATE KEY-----\n")) << "PKCS#8 expected";
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  ASSERT_NE(pkey, nullptr);
  EXPECT_EQ(EVP_PKEY_get_bits(pkey), 2048);
  unsigned char* der = nullptr;
  int length = i2d_PUBKEY(pkey, &der);
  ASSERT_GT(length, 0);
  EXPECT_EQ(k.signing->hash(), core::sha256_hex({reinterpret_cast<char*>(der), static_cast<std::size_t>(length)}));
  OPENSSL_free(der);
  EVP_PKEY_free(pkey);
  BIO_free(bio);
}

TEST(JoseKeys, PemRoundTripKeepsTheKid) {
  const Keys& k = keys();
  auto again = SigningKey::from_pem(k.issuer, k.signing->private_pem());
  ASSERT_TRUE(again) << again.error();
  EXPECT_EQ(again->kid(), k.signing->kid());
  // A token signed by the reloaded key reads with the original.
  KeySet set = k.set;
  set.signing = std::make_shared<const SigningKey>(std::move(again).value());
  auto token = mint_refresh_token(set, sample_refresh(k));
  ASSERT_TRUE(token) << token.error();
  EXPECT_TRUE(read_refresh_token(k.set, *token));
}

TEST(JoseKeys, FromPemRefusesWhatIsNotAnRsa2048PrivateKey) {
  EXPECT_FALSE(SigningKey::from_pem("i", ""));
  EXPECT_FALSE(SigningKey::from_pem("i", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"));
  EVP_PKEY* small = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(1024));
  EVP_PKEY* ec = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  for (EVP_PKEY* pkey : {small, ec}) {
    ASSERT_NE(pkey, nullptr);
    BIO* bio = BIO_new(BIO_s_mem());
    ASSERT_EQ(PEM_write_bio_PrivateKey(bio, pkey, nullptr, nullptr, 0, nullptr, nullptr), 1);
    char* data = nullptr;
    long size = BIO_get_mem_data(bio, &data);
    auto key = SigningKey::from_pem("i", std::string_view(data, static_cast<std::size_t>(size)));
    EXPECT_FALSE(key);
    BIO_free(bio);
    EVP_PKEY_free(pkey);
  }
  // A pass-phrase-protected PEM is refused, not prompted for.
  BIO* bio = BIO_new(BIO_s_mem());
  const std::string pem = keys().signing->private_pem();
  BIO* plain = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(plain, nullptr, nullptr, nullptr);
  ASSERT_NE(pkey, nullptr);
  char pass[] = "secret";
  ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(bio, pkey, EVP_aes_128_cbc(), pass, 6, nullptr, nullptr), 1);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  std::string encrypted(data, static_cast<std::size_t>(size));
  EXPECT_TRUE(encrypted.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
  EXPECT_FALSE(SigningKey::from_pem("i", encrypted));
  EVP_PKEY_free(pkey);
  BIO_free(plain);
  BIO_free(bio);
}

TEST(JoseKeys, EncryptionKidIsSha256OfTheRawKey) {
  const Keys& k = keys();
  EXPECT_EQ(k.encryption->raw().size(), EncryptionKey::kBytes);
  EXPECT_EQ(k.encryption->hash(), core::sha256_hex(k.encryption->raw()));
  EXPECT_EQ(k.encryption->kid(), k.issuer + ":" + k.encryption->hash());
  EXPECT_TRUE(std::regex_match(k.encryption->kid(), kKidForm));
  EXPECT_NE(k.encryption->hash(), k.signing->hash());
  EXPECT_NE(EncryptionKey::generate(k.issuer).raw(), k.encryption->raw());

  auto same = EncryptionKey::from_bytes(k.issuer, k.encryption->raw());
  ASSERT_TRUE(same) << same.error();
  EXPECT_EQ(same->kid(), k.encryption->kid());
  EXPECT_FALSE(EncryptionKey::from_bytes(k.issuer, std::string(31, 'x')));
  EXPECT_FALSE(EncryptionKey::from_bytes(k.issuer, std::string(33, 'x')));
}

TEST(JoseKeys, PublishedJwkHoldsNoPrivateMember) {
  const Keys& k = keys();
  nlohmann::json jwk = k.signing->public_jwk();
  EXPECT_EQ(jwk["kty"], "RSA");
  EXPECT_EQ(jwk["use"], "sig");
  EXPECT_EQ(jwk["alg"], "RS256");
  EXPECT_EQ(jwk["kid"], k.signing->kid());
  EXPECT_EQ(jwk["e"], "AQAB");
  EXPECT_EQ(b64decode(jwk["n"].get<std::string>()).size(), 256u);
  for (const char* secret : {"d", "p", "q", "dp", "dq", "qi", "k"}) EXPECT_FALSE(jwk.contains(secret)) << secret;

  nlohmann::json enc = k.encryption->private_jwk();
  EXPECT_EQ(enc["kty"], "oct");
  EXPECT_EQ(enc["alg"], "dir");
  EXPECT_EQ(enc["enc"], "A128CBC-HS256");
  EXPECT_EQ(enc["kid"], k.encryption->kid());
  EXPECT_EQ(b64decode(enc["k"].get<std::string>()), k.encryption->raw());
}

// --- minting and reading ----------------------------------------------------

TEST(JoseTokens, AccessTokenRoundTrip) {
  const Keys& k = keys();
  AccessClaims claims = sample_access(k);
  auto token = mint_access_token(k.set, claims);
  ASSERT_TRUE(token) << token.error();
  auto read = read_access_token(k.set, *token);
  ASSERT_TRUE(read) << to_string(read.error());
  expect_same(*read, claims);

  // The JWE has a fresh IV each time; both read.
  auto again = mint_access_token(k.set, claims);
  ASSERT_TRUE(again);
  EXPECT_NE(*again, *token);
  EXPECT_TRUE(read_access_token(k.set, *again));
}

TEST(JoseTokens, AccessTokenWithoutFamilyOrScope) {
  const Keys& k = keys();
  AccessClaims claims = sample_access(k);
  claims.family_id.clear();
  claims.scope.clear();
  claims.token_type = "client";
  auto token = mint_access_token(k.set, claims);
  ASSERT_TRUE(token) << token.error();
  auto read = read_access_token(k.set, *token);
  ASSERT_TRUE(read) << to_string(read.error());
  expect_same(*read, claims);
}

TEST(JoseTokens, ClaimsWithQuotesControlCharactersAndUnicodeRoundTrip) {
  const Keys& k = keys();
  AccessClaims claims = sample_access(k);
  claims.subject = "o'brien \"the\" \\ user\t\n\x01 — Zoë 🙂";
  claims.scope = "a/b c</script>";
  auto token = mint_access_token(k.set, claims);
  ASSERT_TRUE(token) << token.error();
  auto read = read_access_token(k.set, *token);
  ASSERT_TRUE(read) << to_string(read.error());
  expect_same(*read, claims);

  RefreshClaims refresh = sample_refresh(k);
  refresh.client_id = "client \"7\"\\é";
  auto rt = mint_refresh_token(k.set, refresh);
  ASSERT_TRUE(rt) << rt.error();
  auto rread = read_refresh_token(k.set, *rt);
  ASSERT_TRUE(rread);
  EXPECT_EQ(rread->client_id, refresh.client_id);
}

TEST(JoseTokens, MintingRefusesWhatJsonCannotCarryOrWeCouldNotRead) {
  const Keys& k = keys();
  AccessClaims claims = sample_access(k);
  claims.subject = "bad \xff byte";
  EXPECT_FALSE(mint_access_token(k.set, claims));
  claims.subject = "overlong \xc0\xaf";
  EXPECT_FALSE(mint_access_token(k.set, claims));
  claims.subject = "surrogate \xed\xa0\x80";
  EXPECT_FALSE(mint_access_token(k.set, claims));
  claims.subject = "cut \xe2\x82";
  EXPECT_FALSE(mint_access_token(k.set, claims));

  claims = sample_access(k);
  claims.scope = std::string(kMaxTokenBytes, 's');
  EXPECT_FALSE(mint_access_token(k.set, claims)) << "a token longer than kMaxTokenBytes could never be read";

  EXPECT_FALSE(mint_access_token(KeySet{}, sample_access(k)));
  EXPECT_FALSE(mint_refresh_token(KeySet{}, sample_refresh(k)));
}

TEST(JoseTokens, RefreshTokenRoundTrip) {
  const Keys& k = keys();
  RefreshClaims claims = sample_refresh(k);
  auto token = mint_refresh_token(k.set, claims);
  ASSERT_TRUE(token) << token.error();
  auto read = read_refresh_token(k.set, *token);
  ASSERT_TRUE(read) << to_string(read.error());
  EXPECT_EQ(read->issuer, claims.issuer);
  EXPECT_EQ(read->token_id, claims.token_id);
  EXPECT_EQ(read->client_id, claims.client_id);
  EXPECT_EQ(read->token_type, "user");
  EXPECT_EQ(read->expires_at, claims.expires_at);
}

TEST(JoseTokens, RefreshMintingIsDeterministic) {
  const Keys& k = keys();
  RefreshClaims claims = sample_refresh(k);
  auto first = mint_refresh_token(k.set, claims);
  auto second = mint_refresh_token(k.set, claims);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(*first, *second);

  // The same key loaded again from its PEM signs the same bytes too (another
  // node of the cluster answering a repeated refresh).
  auto reloaded = SigningKey::from_pem(k.issuer, k.signing->private_pem());
  ASSERT_TRUE(reloaded);
  KeySet other_node;
  other_node.signing = std::make_shared<const SigningKey>(std::move(reloaded).value());
  auto third = mint_refresh_token(other_node, claims);
  ASSERT_TRUE(third);
  EXPECT_EQ(*third, *first);

  claims.expires_at += 1;
  auto changed = mint_refresh_token(k.set, claims);
  ASSERT_TRUE(changed);
  EXPECT_NE(*changed, *first);
}

TEST(JoseTokens, ManyThreadsMintAndReadWithOneKeySet) {
  const Keys& k = keys();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        AccessClaims claims = sample_access(k);
        claims.subject = "user-" + std::to_string(t) + "-" + std::to_string(i);
        auto token = mint_access_token(k.set, claims);
        auto read = token ? read_access_token(k.set, *token) : core::fail(TokenError::malformed);
        if (!read || read->subject != claims.subject) ++failures;
        RefreshClaims refresh = sample_refresh(k);
        refresh.token_id = claims.subject;
        auto rt = mint_refresh_token(k.set, refresh);
        auto rread = rt ? read_refresh_token(k.set, *rt) : core::fail(TokenError::malformed);
        if (!rread || rread->token_id != refresh.token_id) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
}

// --- seed 001 -----------------------------------------------------------------

TEST(JoseSeed, SampleTokensHaveTheLayoutWeMint) {
  // The seed's access token.
  auto seed_access = split(kSeedAccessToken, '.');
  ASSERT_EQ(seed_access.size(), 3u);
  ordered_json seed_header = decode_json(seed_access[0]);
  EXPECT_EQ(member_names(seed_header), (std::vector<std::string>{"alg", "typ", "kid"}));
  EXPECT_EQ(seed_header["alg"], "RS256");
  EXPECT_EQ(seed_header["typ"], "JWT");
  EXPECT_TRUE(std::regex_match(seed_header["kid"].get<std::string>(), kKidForm));
  ordered_json seed_payload = decode_json(seed_access[1]);
  EXPECT_EQ(member_names(seed_payload), (std::vector<std::string>{"private"}));
  auto seed_jwe = split(seed_payload["private"].get<std::string>(), '.');
  ASSERT_EQ(seed_jwe.size(), 5u);
  ordered_json seed_jwe_header = decode_json(seed_jwe[0]);
  EXPECT_EQ(member_names(seed_jwe_header), (std::vector<std::string>{"alg", "cty", "enc", "kid"}));
  EXPECT_EQ(seed_jwe_header["alg"], "dir");
  EXPECT_EQ(seed_jwe_header["cty"], "JWT");
  EXPECT_EQ(seed_jwe_header["enc"], "A128CBC-HS256");
  EXPECT_TRUE(std::regex_match(seed_jwe_header["kid"].get<std::string>(), kKidForm));
  EXPECT_NE(seed_jwe_header["kid"], seed_header["kid"]) << "signing and encryption keys differ";

  // Ours, minted under the seed's issuer id.
  auto signing = SigningKey::generate(kSeedIssuer);
  ASSERT_TRUE(signing);
  KeySet set;
  set.signing = std::make_shared<const SigningKey>(std::move(signing).value());
  set.encryption = std::make_shared<const EncryptionKey>(EncryptionKey::generate(kSeedIssuer));
  set.verifying = {set.signing};
  set.decrypting = {set.encryption};
  AccessClaims claims = sample_access(keys());
  claims.issuer = kSeedIssuer;
  auto ours = mint_access_token(set, claims);
  ASSERT_TRUE(ours);
  auto access = split(*ours, '.');
  ASSERT_EQ(access.size(), 3u);
  // The JWS header is byte for byte the seed's but for the key hash.
  std::string expected_header = b64decode(seed_access[0]);
  const std::string seed_hash = seed_header["kid"].get<std::string>().substr(kSeedIssuer.size() + 1);
  expected_header.replace(expected_header.find(seed_hash), seed_hash.size(), set.signing->hash());
  EXPECT_EQ(b64decode(access[0]), expected_header);
  ordered_json payload = decode_json(access[1]);
  EXPECT_EQ(member_names(payload), member_names(seed_payload));
  EXPECT_EQ(b64decode(access[1]).substr(0, 12), b64decode(seed_access[1]).substr(0, 12)) << R"({"private":")";
  auto jwe = split(payload["private"].get<std::string>(), '.');
  ASSERT_EQ(jwe.size(), 5u);
  ordered_json jwe_header = decode_json(jwe[0]);
  EXPECT_EQ(member_names(jwe_header), member_names(seed_jwe_header));
  EXPECT_EQ(jwe_header["alg"], seed_jwe_header["alg"]);
  EXPECT_EQ(jwe_header["cty"], seed_jwe_header["cty"]);
  EXPECT_EQ(jwe_header["enc"], seed_jwe_header["enc"]);
  EXPECT_EQ(jwe_header["kid"], set.encryption->kid());
  // "dir": no encrypted key; A128CBC-HS256: 16-byte IV and tag, whole blocks.
  for (const auto* parts : {&seed_jwe, &jwe}) {
    EXPECT_TRUE((*parts)[1].empty());
    EXPECT_EQ(b64decode((*parts)[2]).size(), 16u);
    EXPECT_EQ(b64decode((*parts)[3]).size() % 16, 0u);
    EXPECT_EQ(b64decode((*parts)[4]).size(), 16u);
  }
  EXPECT_EQ(b64decode(access[2]).size(), b64decode(seed_access[2]).size()) << "RSA-2048 signature";

  // The seed's refresh token: same header; payload with the same claims, in
  // the same order, minted by us, is the seed's payload byte for byte.
  auto seed_refresh = split(kSeedRefreshToken, '.');
  ASSERT_EQ(seed_refresh.size(), 3u);
  EXPECT_EQ(seed_refresh[0], seed_access[0]);
  ordered_json seed_claims = decode_json(seed_refresh[1]);
  EXPECT_EQ(member_names(seed_claims), (std::vector<std::string>{"exp", "iss", "typ", "tid", "ctyp", "ccid"}));
  RefreshClaims refresh;
  refresh.expires_at = seed_claims["exp"].get<std::int64_t>();
  refresh.issuer = seed_claims["iss"].get<std::string>();
  refresh.token_type = seed_claims["typ"].get<std::string>();
  refresh.token_id = seed_claims["tid"].get<std::string>();
  refresh.client_id = seed_claims["ccid"].get<std::string>();
  EXPECT_EQ(seed_claims["ctyp"], "refresh");
  auto our_refresh = mint_refresh_token(set, refresh);
  ASSERT_TRUE(our_refresh);
  auto rparts = split(*our_refresh, '.');
  ASSERT_EQ(rparts.size(), 3u);
  EXPECT_EQ(rparts[0], access[0]);
  EXPECT_EQ(rparts[1], seed_refresh[1]);

  // And we can't verify Cisco's signature: their kid is not ours.
  EXPECT_EQ(read_refresh_token(set, kSeedRefreshToken).error(), TokenError::unknown_key);
  EXPECT_EQ(read_access_token(set, kSeedAccessToken).error(), TokenError::unknown_key);
}

// --- refusals -----------------------------------------------------------------

TEST(JoseRefusals, SizeAndShape) {
  const Keys& k = keys();
  auto token = mint_refresh_token(k.set, sample_refresh(k));
  ASSERT_TRUE(token);
  EXPECT_EQ(refresh_error(""), TokenError::malformed);
  EXPECT_EQ(refresh_error("abc"), TokenError::malformed);
  EXPECT_EQ(refresh_error("a.b"), TokenError::malformed);
  EXPECT_EQ(refresh_error("a.b.c.d"), TokenError::malformed);
  EXPECT_EQ(refresh_error(".."), TokenError::malformed);
  EXPECT_EQ(refresh_error(*token + "."), TokenError::malformed);
  EXPECT_EQ(refresh_error(" " + *token), TokenError::malformed);
  EXPECT_EQ(refresh_error("Bearer " + *token), TokenError::malformed);
  EXPECT_EQ(refresh_error(*token + "=="), TokenError::malformed);
  std::string padded = *token;
  padded.insert(padded.find('.'), "==");
  EXPECT_EQ(refresh_error(padded), TokenError::malformed);
  EXPECT_EQ(access_error(std::string(kMaxTokenBytes + 1, 'a')), TokenError::malformed);
  // Too long even though it is otherwise valid.
  std::string long_token = *token;
  long_token.insert(long_token.find('.') + 1, std::string(kMaxTokenBytes, 'A'));
  EXPECT_EQ(refresh_error(long_token), TokenError::malformed);
  // The header is not JSON / not an object.
  EXPECT_EQ(refresh_error(b64("not json") + "." + split(*token, '.')[1] + "." + split(*token, '.')[2]),
            TokenError::malformed);
  EXPECT_EQ(refresh_error(b64("[1,2]") + "." + split(*token, '.')[1] + "." + split(*token, '.')[2]),
            TokenError::malformed);
}

TEST(JoseRefusals, AlgNoneIsRefusedBeforeAnyKeyIsUsed) {
  const Keys& k = keys();
  std::string payload = R"({"exp":1705184000,"iss":")" + k.issuer +
                        R"(","typ":"user","tid":"t","ctyp":"refresh","ccid":"c"})";
  for (const char* alg : {"none", "None", "NONE"}) {
    std::string header = std::string(R"({"alg":")") + alg + R"(","typ":"JWT","kid":")" + k.signing->kid() + "\"}";
    std::string unsigned_token = b64(header) + "." + b64(payload) + ".";
    EXPECT_EQ(refresh_error(unsigned_token), TokenError::wrong_algorithm) << alg;
    // With a signature copied from a real token as well.
    auto real = mint_refresh_token(k.set, sample_refresh(k));
    ASSERT_TRUE(real);
    EXPECT_EQ(refresh_error(unsigned_token + split(*real, '.')[2]), TokenError::wrong_algorithm) << alg;
  }
  std::string no_alg = b64(R"({"typ":"JWT","kid":")" + k.signing->kid() + "\"}") + "." + b64(payload) + ".";
  EXPECT_EQ(refresh_error(no_alg), TokenError::malformed);
}

TEST(JoseRefusals, Hs256KeyedWithOurPublicKeyIsRefused) {
  // The classic algorithm confusion: a verifier that lets the token choose
  // would check this HMAC with the public key it holds for the kid.
  const Keys& k = keys();
  std::vector<std::string> secrets{k.signing->public_jwk().dump()};
  {
    // The public key as PEM and as DER, the forms a confused verifier may hold.
    auto pem = k.signing->private_pem();
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    BIO* out = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(out, pkey);
    char* data = nullptr;
    long size = BIO_get_mem_data(out, &data);
    secrets.emplace_back(data, static_cast<std::size_t>(size));
    unsigned char* der = nullptr;
    int length = i2d_PUBKEY(pkey, &der);
    secrets.emplace_back(reinterpret_cast<char*>(der), static_cast<std::size_t>(length));
    OPENSSL_free(der);
    BIO_free(out);
    EVP_PKEY_free(pkey);
    BIO_free(bio);
  }
  RefreshClaims claims = sample_refresh(k);
  auto real = mint_refresh_token(k.set, claims);
  ASSERT_TRUE(real);
  std::string payload = b64decode(split(*real, '.')[1]);
  for (const auto& secret : secrets) {
    cjose_err err{};
    std::shared_ptr<void> hmac_key(
        cjose_jwk_create_oct_spec(reinterpret_cast<const std::uint8_t*>(secret.data()), secret.size(), &err),
        [](void* p) { cjose_jwk_release(static_cast<cjose_jwk_t*>(p)); });
    ASSERT_NE(hmac_key, nullptr);
    for (const char* alg : {"HS256", "HS384", "HS512"}) {
      std::string forged = cjose_sign(hmac_key, Header{{{"alg", alg}, {"typ", "JWT"}, {"kid", k.signing->kid()}}},
                                      payload);
      ASSERT_FALSE(forged.empty());
      EXPECT_EQ(refresh_error(forged), TokenError::wrong_algorithm) << alg;
      std::string forged_access = cjose_sign(
          hmac_key, Header{{{"alg", alg}, {"typ", "JWT"}, {"kid", k.signing->kid()}}},
          b64decode(split(*mint_access_token(k.set, sample_access(k)), '.')[1]));
      EXPECT_EQ(access_error(forged_access), TokenError::wrong_algorithm) << alg;
    }
  }
}

TEST(JoseRefusals, OtherRsaAlgorithmsAreRefusedToo) {
  const Keys& k = keys();
  auto real = mint_refresh_token(k.set, sample_refresh(k));
  ASSERT_TRUE(real);
  std::string payload = b64decode(split(*real, '.')[1]);
  for (const char* alg : {"RS512", "PS256"}) {
    std::string token = cjose_sign(k.signing->native(), Header{{{"alg", alg}, {"kid", k.signing->kid()}}}, payload);
    EXPECT_EQ(refresh_error(token), TokenError::wrong_algorithm) << alg;
  }
}

TEST(JoseRefusals, UnknownKid) {
  const Keys& k = keys();
  const Keys& stranger = other_keys();
  auto theirs = mint_refresh_token(stranger.set, sample_refresh(stranger));
  ASSERT_TRUE(theirs);
  EXPECT_EQ(refresh_error(*theirs), TokenError::unknown_key);
  auto their_access = mint_access_token(stranger.set, sample_access(stranger));
  ASSERT_TRUE(their_access);
  EXPECT_EQ(access_error(*their_access), TokenError::unknown_key);

  // Our payload under a stranger's signature claiming our kid: a bad signature.
  auto ours = mint_refresh_token(k.set, sample_refresh(k));
  ASSERT_TRUE(ours);
  std::string forged = cjose_sign(stranger.signing->native(),
                                  Header{{{"alg", "RS256"}, {"typ", "JWT"}, {"kid", k.signing->kid()}}},
                                  b64decode(split(*ours, '.')[1]));
  EXPECT_EQ(refresh_error(forged), TokenError::bad_signature);

  // No kid at all, or a kid that is not a string.
  std::string no_kid = cjose_sign(k.signing->native(), Header{{{"alg", "RS256"}, {"typ", "JWT"}}},
                                  b64decode(split(*ours, '.')[1]));
  EXPECT_EQ(refresh_error(no_kid), TokenError::unknown_key);
  // Our encryption key's kid names no signing key.
  std::string enc_kid = cjose_sign(k.signing->native(),
                                   Header{{{"alg", "RS256"}, {"typ", "JWT"}, {"kid", k.encryption->kid()}}},
                                   b64decode(split(*ours, '.')[1]));
  EXPECT_EQ(refresh_error(enc_kid), TokenError::unknown_key);
}

TEST(JoseRefusals, BadSignature) {
  const Keys& k = keys();
  auto token = mint_refresh_token(k.set, sample_refresh(k));
  ASSERT_TRUE(token);
  auto parts = split(*token, '.');

  std::string flipped = *token;
  char& last = flipped[flipped.size() - 10];
  last = last == 'A' ? 'B' : 'A';
  EXPECT_EQ(refresh_error(flipped), TokenError::bad_signature);

  // A payload changed after signing.
  RefreshClaims longer = sample_refresh(k);
  longer.expires_at += 86400 * 365;
  auto other = mint_refresh_token(k.set, longer);
  ASSERT_TRUE(other);
  EXPECT_EQ(refresh_error(parts[0] + "." + split(*other, '.')[1] + "." + parts[2]), TokenError::bad_signature);
  // No signature, a short one, a long one.
  EXPECT_EQ(refresh_error(parts[0] + "." + parts[1] + "."), TokenError::bad_signature);
  EXPECT_EQ(refresh_error(parts[0] + "." + parts[1] + "." + parts[2].substr(0, 40)), TokenError::bad_signature);
  EXPECT_EQ(refresh_error(parts[0] + "." + parts[1] + "." + parts[2] + parts[2]), TokenError::bad_signature);

  auto access = mint_access_token(k.set, sample_access(k));
  ASSERT_TRUE(access);
  std::string access_flipped = *access;
  char& mid = access_flipped[access_flipped.find('.') + 40];
  mid = mid == 'A' ? 'B' : 'A';
  EXPECT_EQ(access_error(access_flipped), TokenError::bad_signature);
}

TEST(JoseRefusals, CriticalHeaderExtensionsAreRefused) {
  const Keys& k = keys();
  auto ours = mint_refresh_token(k.set, sample_refresh(k));
  ASSERT_TRUE(ours);
  cjose_err err{};
  cjose_header_t* header = cjose_header_new(&err);
  cjose_header_set(header, "alg", "RS256", &err);
  cjose_header_set(header, "kid", k.signing->kid().c_str(), &err);
  cjose_header_set_raw(header, "crit", R"(["exp"])", &err);
  cjose_header_set(header, "exp", "1", &err);
  std::string payload = b64decode(split(*ours, '.')[1]);
  cjose_jws_t* jws = cjose_jws_sign(static_cast<const cjose_jwk_t*>(k.signing->native().get()), header,
                                    reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size(), &err);
  cjose_header_release(header);
  ASSERT_NE(jws, nullptr);
  const char* compact = nullptr;
  ASSERT_TRUE(cjose_jws_export(jws, &compact, &err));
  std::string token(compact);
  cjose_jws_release(jws);
  auto read = read_refresh_token(k.set, token);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error(), TokenError::malformed);
}

TEST(JoseRefusals, JweThatFailsAuthenticationCannotBeDecrypted) {
  const Keys& k = keys();
  auto token = mint_access_token(k.set, sample_access(k));
  ASSERT_TRUE(token);
  std::string compact = decode_json(split(*token, '.')[1])["private"].get<std::string>();
  auto parts = split(compact, '.');
  auto join = [](const std::vector<std::string>& p) {
    return p[0] + "." + p[1] + "." + p[2] + "." + p[3] + "." + p[4];
  };
  auto flip = [](std::string s, std::size_t at) {
    s[at] = s[at] == 'A' ? 'B' : 'A';
    return s;
  };
  auto wrap = [&](const std::string& jwe) { return signed_payload(k, R"({"private":")" + jwe + R"("})"); };

  // The untouched JWE, re-signed by hand, reads: the wrapper itself is right.
  EXPECT_TRUE(read_access_token(k.set, wrap(compact)));
  for (int part : {2, 3, 4}) {  // IV, ciphertext, tag
    auto changed = parts;
    changed[part] = flip(changed[part], 3);
    EXPECT_EQ(access_error(wrap(join(changed))), TokenError::cannot_decrypt) << "part " << part;
  }
  // A header changed after encryption: authenticated as AAD.
  std::string header = b64decode(parts[0]);
  auto changed = parts;
  changed[0] = b64(header.substr(0, header.size() - 1) + R"(,"x":1})");
  EXPECT_EQ(access_error(wrap(join(changed))), TokenError::cannot_decrypt);
  // Encrypted under another key that claims our kid.
  std::string foreign = cjose_encrypt(
      other_keys().encryption->native(),
      Header{{{"alg", "dir"}, {"cty", "JWT"}, {"enc", "A128CBC-HS256"}, {"kid", k.encryption->kid()}}}, "{}");
  EXPECT_EQ(access_error(wrap(foreign)), TokenError::cannot_decrypt);
  // A truncated tag is never compared on fewer bytes.
  changed = parts;
  changed[4] = b64(b64decode(parts[4]).substr(0, 8));
  EXPECT_EQ(access_error(wrap(join(changed))), TokenError::malformed);
  // An encrypted key where "dir" has none.
  changed = parts;
  changed[1] = b64(k.encryption->raw());
  EXPECT_EQ(access_error(wrap(join(changed))), TokenError::malformed);
  // Not five parts.
  EXPECT_EQ(access_error(wrap(parts[0] + "." + parts[1] + "." + parts[2])), TokenError::malformed);
}

TEST(JoseRefusals, InnerAlgorithmsOtherThanDirA128CbcHs256) {
  const Keys& k = keys();
  std::string claims = R"({"iss":"i","sub":"s","client_id":"c","jti":"j","typ":"user","iat":1,"exp":2})";
  std::string gcm = cjose_encrypt(
      k.encryption->native(),
      Header{{{"alg", "dir"}, {"cty", "JWT"}, {"enc", "A256GCM"}, {"kid", k.encryption->kid()}}}, claims);
  EXPECT_EQ(access_error(signed_payload(k, R"({"private":")" + gcm + R"("})")), TokenError::wrong_algorithm);
  std::string kw = cjose_encrypt(
      k.encryption->native(),
      Header{{{"alg", "A256KW"}, {"cty", "JWT"}, {"enc", "A128CBC-HS256"}, {"kid", k.encryption->kid()}}}, claims);
  EXPECT_EQ(access_error(signed_payload(k, R"({"private":")" + kw + R"("})")), TokenError::wrong_algorithm);
  // A JWE cjose would not even import, with a foreign alg.
  std::string none = b64(R"({"alg":"none","enc":"none"})") + "..AAAAAAAAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA";
  EXPECT_EQ(access_error(signed_payload(k, R"({"private":")" + none + R"("})")), TokenError::wrong_algorithm);
  // Compressed content is not something we ever write.
  std::string zipped = cjose_encrypt(k.encryption->native(),
                                     Header{{{"alg", "dir"},
                                             {"enc", "A128CBC-HS256"},
                                             {"zip", "DEF"},
                                             {"kid", k.encryption->kid()}}},
                                     claims);
  EXPECT_EQ(access_error(signed_payload(k, R"({"private":")" + zipped + R"("})")), TokenError::wrong_algorithm);
  // The inner kid names no encryption key of ours.
  std::string strange = cjose_encrypt(
      k.encryption->native(),
      Header{{{"alg", "dir"}, {"cty", "JWT"}, {"enc", "A128CBC-HS256"}, {"kid", other_keys().encryption->kid()}}},
      claims);
  EXPECT_EQ(access_error(signed_payload(k, R"({"private":")" + strange + R"("})")), TokenError::unknown_key);
  // And the control: the same claims the right way read.
  auto good = read_access_token(k.set, access_with_plaintext(k, claims));
  ASSERT_TRUE(good) << to_string(good.error());
  EXPECT_EQ(good->subject, "s");
  EXPECT_EQ(good->scope, "");
}

TEST(JoseRefusals, WrongKind) {
  const Keys& k = keys();
  auto access = mint_access_token(k.set, sample_access(k));
  auto refresh = mint_refresh_token(k.set, sample_refresh(k));
  ASSERT_TRUE(access && refresh);
  EXPECT_EQ(refresh_error(*access), TokenError::wrong_kind);
  EXPECT_EQ(access_error(*refresh), TokenError::wrong_kind);
  // A refresh-shaped payload with another ctyp is not a refresh token either.
  std::string other_ctyp = signed_payload(
      k, R"({"exp":1,"iss":"i","typ":"user","tid":"t","ctyp":"access","ccid":"c"})");
  EXPECT_EQ(refresh_error(other_ctyp), TokenError::wrong_kind);
}

TEST(JoseRefusals, MissingAndMistypedRefreshClaims) {
  const Keys& k = keys();
  const std::string good = R"({"exp":1705184000,"iss":"i","typ":"user","tid":"t","ctyp":"refresh","ccid":"c"})";
  ASSERT_TRUE(read_refresh_token(k.set, signed_payload(k, good)));
  // A member order or spacing of someone else's writing reads the same.
  auto spaced = read_refresh_token(
      k.set, signed_payload(k, R"( { "ccid" : "c", "ctyp":"refresh", "tid":"t", "typ":"user", "iss":"i",
                                  "exp":1705184000, "extra": {"nested": [1, {"tid": 5}]} } )"));
  ASSERT_TRUE(spaced) << to_string(spaced.error());
  EXPECT_EQ(spaced->token_id, "t");

  for (const char* missing : {"exp", "iss", "typ", "tid", "ccid"}) {
    nlohmann::ordered_json json = nlohmann::ordered_json::parse(good);
    json.erase(missing);
    EXPECT_EQ(refresh_error(signed_payload(k, json.dump())), TokenError::malformed) << missing;
  }
  const char* mistyped[] = {
      R"({"exp":"1705184000","iss":"i","typ":"user","tid":"t","ctyp":"refresh","ccid":"c"})",
      R"({"exp":1705184000.5,"iss":"i","typ":"user","tid":"t","ctyp":"refresh","ccid":"c"})",
      R"({"exp":18446744073709551615,"iss":"i","typ":"user","tid":"t","ctyp":"refresh","ccid":"c"})",
      R"({"exp":1705184000,"iss":7,"typ":"user","tid":"t","ctyp":"refresh","ccid":"c"})",
      R"({"exp":1705184000,"iss":"i","typ":null,"tid":"t","ctyp":"refresh","ccid":"c"})",
      R"({"exp":1705184000,"iss":"i","typ":"user","tid":["t"],"ctyp":"refresh","ccid":"c"})",
      R"({"exp":1705184000,"iss":"i","typ":"user","tid":"t","ctyp":"refresh","ccid":{"id":"c"}})",
      R"({"exp":1705184000,"iss":"i","typ":"user","tid":"t\u0000x","ctyp":"refresh","ccid":"c"})",
      R"({"exp":1705184000,"iss":"i","typ":"user","tid":"t","tid":"u","ctyp":"refresh","ccid":"c"})",
      R"({"exp":1705184000,"iss":"i","typ":"user","tid":"t","ctyp":"refresh","ccid":"c"} trailing)",
      R"({"exp":1705184000,"iss":"i","typ":"user","tid":"t","ctyp":"refresh","ccid":"c")",
      R"(["exp",1705184000])",
      R"("just a string")",
      R"(42)",
      "",
      "\xff\xfe",
  };
  for (const char* payload : mistyped) {
    EXPECT_EQ(refresh_error(signed_payload(k, payload)), TokenError::malformed) << payload;
  }
}

TEST(JoseRefusals, MissingAndMistypedAccessClaims) {
  const Keys& k = keys();
  const std::string good =
      R"({"iss":"i","sub":"s","client_id":"c","scope":"a b","jti":"j","fid":"f","typ":"user","iat":1,"exp":2})";
  ASSERT_TRUE(read_access_token(k.set, access_with_plaintext(k, good)));
  for (const char* missing : {"iss", "sub", "client_id", "jti", "typ", "iat", "exp"}) {
    nlohmann::ordered_json json = nlohmann::ordered_json::parse(good);
    json.erase(missing);
    EXPECT_EQ(access_error(access_with_plaintext(k, json.dump())), TokenError::malformed) << missing;
  }
  for (const char* mistyped : {"iat", "exp"}) {
    nlohmann::ordered_json json = nlohmann::ordered_json::parse(good);
    json[mistyped] = "1";
    EXPECT_EQ(access_error(access_with_plaintext(k, json.dump())), TokenError::malformed) << mistyped;
  }
  for (const char* mistyped : {"iss", "sub", "client_id", "scope", "jti", "fid", "typ"}) {
    nlohmann::ordered_json json = nlohmann::ordered_json::parse(good);
    json[mistyped] = 5;
    EXPECT_EQ(access_error(access_with_plaintext(k, json.dump())), TokenError::malformed) << mistyped;
  }
  EXPECT_EQ(access_error(access_with_plaintext(k, "not json")), TokenError::malformed);
  EXPECT_EQ(access_error(access_with_plaintext(k, "[]")), TokenError::malformed);

  // The outer payload: "private" missing, mistyped, or not a JWE.
  EXPECT_EQ(access_error(signed_payload(k, R"({"other":"x"})")), TokenError::malformed);
  EXPECT_EQ(access_error(signed_payload(k, R"({"private":5})")), TokenError::malformed);
  EXPECT_EQ(access_error(signed_payload(k, R"({"private":"a.b.c"})")), TokenError::malformed);
  EXPECT_EQ(access_error(signed_payload(k, R"({"private":"x y"})")), TokenError::malformed);
  EXPECT_EQ(access_error(signed_payload(k, "{}")), TokenError::malformed);
  // Written another way (spaces, an escaped slash-free string) it still reads.
  auto token = mint_access_token(k.set, sample_access(k));
  ASSERT_TRUE(token);
  std::string jwe = decode_json(split(*token, '.')[1])["private"].get<std::string>();
  auto spaced = read_access_token(k.set, signed_payload(k, "{ \"private\" : \"" + jwe + "\", \"x\": [1] }"));
  ASSERT_TRUE(spaced) << to_string(spaced.error());
  EXPECT_EQ(spaced->subject, "alice");
}

TEST(JoseRefusals, ArbitraryBytesNeverCrash) {
  // The fuzz target explores far more; this runs the obvious corners in CI.
  const Keys& k = keys();
  auto token = mint_access_token(k.set, sample_access(k));
  ASSERT_TRUE(token);
  std::vector<std::string> inputs{std::string(1, '\0'), std::string("\0.\0.\0", 5), "...", "....", "a..", "..a",
                                  "eyJ.eyJ.eyJ", "eyJhbGciOiJSUzI1NiJ9..", "eyJhbGciOiJSUzI1NiJ9.e30."};
  for (std::size_t cut = 0; cut < token->size(); cut += 7) inputs.push_back(token->substr(0, cut));
  for (const auto& input : inputs) {
    EXPECT_FALSE(read_access_token(k.set, input));
    EXPECT_FALSE(read_refresh_token(k.set, input));
  }
}

TEST(JoseTokens, ErrorNames) {
  EXPECT_EQ(to_string(TokenError::malformed), "malformed");
  EXPECT_EQ(to_string(TokenError::wrong_algorithm), "wrong_algorithm");
  EXPECT_EQ(to_string(TokenError::unknown_key), "unknown_key");
  EXPECT_EQ(to_string(TokenError::bad_signature), "bad_signature");
  EXPECT_EQ(to_string(TokenError::cannot_decrypt), "cannot_decrypt");
  EXPECT_EQ(to_string(TokenError::wrong_kind), "wrong_kind");
}

}  // namespace
}  // namespace ucedge::authz
