#pragma once
// The two keys behind every token (seed 001): an RSA-2048 key that signs
// (RS256) and a 256-bit key that encrypts the private part (JWE "dir" with
// A128CBC-HS256). They are always different keys. Each is named by a kid of
// the form "<issuer-uuid>:<sha256 hex>", and shown to operators only as that
// hash: of the DER SubjectPublicKeyInfo for the signing key, of the raw bytes
// for the encryption key.
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "core/result.hpp"

namespace ucedge::authz {

class SigningKey {
 public:
  // A fresh RSA-2048 key.
  static core::Result<SigningKey> generate(std::string_view issuer_id);
  // A key from its PKCS#8 PEM (what private_pem() returns).
  static core::Result<SigningKey> from_pem(std::string_view issuer_id, std::string_view private_pem);

  const std::string& kid() const { return kid_; }
  const std::string& hash() const { return hash_; }
  std::string private_pem() const;
  // {"kty":"RSA","use":"sig","alg":"RS256","kid","n","e"}: what JWKS publishes.
  nlohmann::json public_jwk() const;

  // RS256 (RFC 7518 §3.3): the RSASSA-PKCS1-v1_5 signature with SHA-256 of
  // `signing_input`. Any number of threads may sign with one key at once.
  core::Result<std::string> sign_rs256(std::string_view signing_input) const;

  // The cjose key (cjose_jwk_t*), for the token code that reads tokens;
  // shared, never null, only read after it is created.
  const std::shared_ptr<void>& native() const { return jwk_; }

 private:
  // Takes ownership of `pkey` (EVP_PKEY*), whatever the outcome.
  static core::Result<SigningKey> adopt(std::string_view issuer_id, void* pkey);

  std::string kid_;
  std::string hash_;
  std::shared_ptr<void> jwk_;   // cjose_jwk_t
  std::shared_ptr<void> pkey_;  // EVP_PKEY: the same key, for PEM and the public JWK
  // EVP_PKEY_CTX of pkey_ set up for RS256 once; each signature works on a
  // copy, so the set-up is not repeated and threads never share a context.
  std::shared_ptr<void> rs256_template_;
};

class EncryptionKey {
 public:
  static constexpr std::size_t kBytes = 32;  // A128CBC-HS256: 16 bytes MAC key + 16 bytes AES key

  static EncryptionKey generate(std::string_view issuer_id);
  // Exactly kBytes of raw key.
  static core::Result<EncryptionKey> from_bytes(std::string_view issuer_id, std::string_view raw);

  const std::string& kid() const { return kid_; }
  const std::string& hash() const { return hash_; }
  const std::string& raw() const { return raw_; }
  // {"kty":"oct","use":"enc","alg":"dir","enc":"A128CBC-HS256","kid","k"}: for
  // resource servers that decrypt offline (exported by the CLI, never served).
  nlohmann::json private_jwk() const;

  const std::shared_ptr<void>& native() const { return jwk_; }

 private:
  std::string kid_;
  std::string hash_;
  std::string raw_;
  std::shared_ptr<void> jwk_;
};

}  // namespace ucedge::authz
