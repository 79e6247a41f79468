#include "authz/jose/keys.hpp"

#include <cjose/cjose.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <sodium.h>

#include <array>
#include <memory>
#include <new>
#include <nlohmann/json.hpp>

#include "core/random_token.hpp"

namespace ucedge::authz {

namespace {

// RSA-2048 is what RS256 verifiers expect everywhere (RFC 7518 §3.3 asks for
// at least 2048 bits); larger keys from an operator's PEM are accepted.
constexpr int kRsaBits = 2048;

struct BnFree {
  void operator()(BIGNUM* bn) const { BN_clear_free(bn); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

std::shared_ptr<void> share_pkey(EVP_PKEY* pkey) {
  return std::shared_ptr<void>(pkey, [](void* p) { EVP_PKEY_free(static_cast<EVP_PKEY*>(p)); });
}

std::shared_ptr<void> share_jwk(cjose_jwk_t* jwk) {
  return std::shared_ptr<void>(jwk, [](void* p) { cjose_jwk_release(static_cast<cjose_jwk_t*>(p)); });
}

// What OpenSSL said last, and the queue emptied so it does not leak into the
// next caller's error checks.
std::string openssl_error(std::string_view what) {
  unsigned long code = ERR_get_error();
  std::string message(what);
  if (code != 0) {
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    message += ": ";
    message += text;
  }
  ERR_clear_error();
  return message;
}

std::string bn_bytes(const BIGNUM* bn) {
  std::string out(static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

BnPtr rsa_param(const EVP_PKEY* pkey, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) return nullptr;
  return BnPtr(bn);
}

// The hash an operator sees and the kid carries: SHA-256 of the DER
// SubjectPublicKeyInfo, so it can be recomputed from the public key alone.
core::Result<std::string> public_key_hash(EVP_PKEY* pkey) {
  unsigned char* der = nullptr;
  int length = i2d_PUBKEY(pkey, &der);
  if (length <= 0) return core::fail(openssl_error("cannot encode the public key"));
  std::string hash = core::sha256_hex({reinterpret_cast<const char*>(der), static_cast<std::size_t>(length)});
  OPENSSL_free(der);
  return hash;
}

const EVP_MD* sha256() {
  // Fetched once: an implicit fetch for every digest costs a look-up under a lock.
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

core::Result<std::shared_ptr<void>> rs256_template(EVP_PKEY* pkey) {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr);
  std::shared_ptr<void> owned(ctx, [](void* p) { EVP_PKEY_CTX_free(static_cast<EVP_PKEY_CTX*>(p)); });
  if (ctx == nullptr || sha256() == nullptr || EVP_PKEY_sign_init(ctx) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1 || EVP_PKEY_CTX_set_signature_md(ctx, sha256()) != 1) {
    return core::fail(openssl_error("cannot set up RS256 signing"));
  }
  return owned;
}

// The cjose form of an RSA private key, built once from its CRT parameters.
core::Result<std::shared_ptr<void>> cjose_rsa_key(const EVP_PKEY* pkey) {
  static const char* const kNames[] = {
      OSSL_PKEY_PARAM_RSA_E,         OSSL_PKEY_PARAM_RSA_N,         OSSL_PKEY_PARAM_RSA_D,
      OSSL_PKEY_PARAM_RSA_FACTOR1,   OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
      OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
  std::array<std::string, 8> parts;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    BnPtr bn = rsa_param(pkey, kNames[i]);
    if (!bn) return core::fail(openssl_error("the RSA key lacks its private parameters"));
    parts[i] = bn_bytes(bn.get());
  }
  auto bytes = [&](std::size_t i) { return reinterpret_cast<std::uint8_t*>(parts[i].data()); };
  cjose_jwk_rsa_keyspec spec{};
  spec.e = bytes(0), spec.elen = parts[0].size();
  spec.n = bytes(1), spec.nlen = parts[1].size();
  spec.d = bytes(2), spec.dlen = parts[2].size();
  spec.p = bytes(3), spec.plen = parts[3].size();
  spec.q = bytes(4), spec.qlen = parts[4].size();
  spec.dp = bytes(5), spec.dplen = parts[5].size();
  spec.dq = bytes(6), spec.dqlen = parts[6].size();
  spec.qi = bytes(7), spec.qilen = parts[7].size();
  cjose_err err{};
  cjose_jwk_t* jwk = cjose_jwk_create_RSA_spec(&spec, &err);
  for (auto& part : parts) sodium_memzero(part.data(), part.size());
  if (jwk == nullptr) {
    ERR_clear_error();
    return core::fail(std::string("cjose refused the RSA key: ") + (err.message ? err.message : "unknown error"));
  }
  return share_jwk(jwk);
}

}  // namespace

core::Result<SigningKey> SigningKey::adopt(std::string_view issuer_id, void* owned) {
  auto* raw = static_cast<EVP_PKEY*>(owned);
  std::shared_ptr<void> pkey = share_pkey(raw);
  if (EVP_PKEY_is_a(raw, "RSA") != 1) return core::fail(std::string("the signing key is not an RSA key"));
  if (EVP_PKEY_get_bits(raw) < kRsaBits) {
    return core::fail("the signing key has fewer than " + std::to_string(kRsaBits) + " bits");
  }
  auto hash = public_key_hash(raw);
  if (!hash) return core::fail(hash.error());
  auto jwk = cjose_rsa_key(raw);
  if (!jwk) return core::fail(jwk.error());
  auto signing = rs256_template(raw);
  if (!signing) return core::fail(signing.error());

  SigningKey key;
  key.hash_ = std::move(hash).value();
  key.kid_.reserve(issuer_id.size() + 1 + key.hash_.size());
  key.kid_.append(issuer_id).append(1, ':').append(key.hash_);
  key.jwk_ = std::move(jwk).value();
  key.pkey_ = std::move(pkey);
  key.rs256_template_ = std::move(signing).value();
  return key;
}

core::Result<std::string> SigningKey::sign_rs256(std::string_view signing_input) const {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_length = 0;
  if (EVP_Digest(signing_input.data(), signing_input.size(), digest, &digest_length, sha256(), nullptr) != 1) {
    return core::fail(openssl_error("cannot hash the signing input"));
  }
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
      EVP_PKEY_CTX_dup(static_cast<EVP_PKEY_CTX*>(rs256_template_.get())), &EVP_PKEY_CTX_free);
  std::size_t length = 0;
  if (!ctx || EVP_PKEY_sign(ctx.get(), nullptr, &length, digest, digest_length) != 1) {
    return core::fail(openssl_error("cannot sign"));
  }
  std::string signature(length, '\0');
  if (EVP_PKEY_sign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length, digest, digest_length) !=
      1) {
    return core::fail(openssl_error("cannot sign"));
  }
  signature.resize(length);
  return signature;
}

core::Result<SigningKey> SigningKey::generate(std::string_view issuer_id) {
  EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(kRsaBits));
  if (pkey == nullptr) return core::fail(openssl_error("cannot generate an RSA key"));
  return adopt(issuer_id, pkey);
}

core::Result<SigningKey> SigningKey::from_pem(std::string_view issuer_id, std::string_view private_pem) {
  BioPtr bio(BIO_new_mem_buf(private_pem.data(), static_cast<int>(private_pem.size())));
  if (!bio) return core::fail(openssl_error("cannot read the PEM"));
  // No pass phrase: without this callback OpenSSL would ask for one on the terminal.
  auto no_pass_phrase = [](char*, int, int, void*) { return 0; };
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio.get(), nullptr, no_pass_phrase, nullptr);
  if (pkey == nullptr) return core::fail(openssl_error("not a PEM private key"));
  return adopt(issuer_id, pkey);
}

std::string SigningKey::private_pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) throw std::bad_alloc();
  // PKCS#8 ("BEGIN PRIVATE KEY"), unencrypted: the store seals it instead.
  if (PEM_write_bio_PrivateKey(bio.get(), static_cast<EVP_PKEY*>(pkey_.get()), nullptr, nullptr, 0, nullptr,
                               nullptr) != 1) {
    ERR_clear_error();
    throw std::bad_alloc();  // writing to memory fails only when memory does
  }
  char* data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(length));
}

nlohmann::json SigningKey::public_jwk() const {
  const auto* pkey = static_cast<const EVP_PKEY*>(pkey_.get());
  BnPtr n = rsa_param(pkey, OSSL_PKEY_PARAM_RSA_N);
  BnPtr e = rsa_param(pkey, OSSL_PKEY_PARAM_RSA_E);
  if (!n || !e) {
    ERR_clear_error();
    throw std::bad_alloc();  // the parameters were there when the key was loaded
  }
  // RFC 7518 §6.3.1: n and e as unsigned big-endian base64url, no padding.
  return nlohmann::json{{"kty", "RSA"},
                        {"use", "sig"},
                        {"alg", "RS256"},
                        {"kid", kid_},
                        {"n", core::base64url_encode(bn_bytes(n.get()))},
                        {"e", core::base64url_encode(bn_bytes(e.get()))}};
}

EncryptionKey EncryptionKey::generate(std::string_view issuer_id) {
  std::string raw(kBytes, '\0');
  randombytes_buf(raw.data(), raw.size());
  auto key = from_bytes(issuer_id, raw);
  sodium_memzero(raw.data(), raw.size());
  // from_bytes fails only for a wrong length (not here) or when cjose runs out of memory.
  if (!key) throw std::bad_alloc();
  return std::move(key).value();
}

core::Result<EncryptionKey> EncryptionKey::from_bytes(std::string_view issuer_id, std::string_view raw) {
  if (raw.size() != kBytes) {
    return core::fail("an encryption key has " + std::to_string(kBytes) + " bytes, not " +
                      std::to_string(raw.size()));
  }
  cjose_err err{};
  cjose_jwk_t* jwk = cjose_jwk_create_oct_spec(reinterpret_cast<const std::uint8_t*>(raw.data()), raw.size(), &err);
  if (jwk == nullptr) {
    return core::fail(std::string("cjose refused the encryption key: ") + (err.message ? err.message : "unknown"));
  }
  EncryptionKey key;
  key.hash_ = core::sha256_hex(raw);
  key.kid_.reserve(issuer_id.size() + 1 + key.hash_.size());
  key.kid_.append(issuer_id).append(1, ':').append(key.hash_);
  key.raw_ = std::string(raw);
  key.jwk_ = share_jwk(jwk);
  return key;
}

nlohmann::json EncryptionKey::private_jwk() const {
  return nlohmann::json{{"kty", "oct"},          {"use", "enc"}, {"alg", "dir"}, {"enc", "A128CBC-HS256"},
                        {"kid", kid_},           {"k", core::base64url_encode(raw_)}};
}

}  // namespace ucedge::authz
