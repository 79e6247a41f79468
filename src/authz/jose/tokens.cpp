#include "authz/jose/tokens.hpp"

#include <cjose/cjose.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <cstring>
#include <limits>
#include <optional>
#include <nlohmann/json.hpp>
#include <span>

#include "core/json_writer.hpp"
#include "core/random_token.hpp"

// Minting is OpenSSL directly: the header, base64url and the compact form
// are a few appends, which cjose would build through a JSON library and
// several copies for every token. Reading goes through cjose.
//
// Thread safety: a KeySet and its keys are immutable once built, and cjose
// only reads a cjose_jwk_t while verifying or decrypting (it neither retains
// nor caches anything in it; the RSA object inside guards its own Montgomery
// and blinding caches with locks). Every call below builds and releases its
// own contexts, so any number of threads may mint and read with one KeySet.

namespace ucedge::authz {

namespace {

constexpr std::string_view kSigningAlg = "RS256";
constexpr std::string_view kKeyAlg = "dir";
constexpr std::string_view kContentEnc = "A128CBC-HS256";
constexpr std::string_view kPrivateOpen = R"({"private":")";
constexpr std::string_view kPrivateClose = R"("})";

struct JwsRelease {
  void operator()(cjose_jws_t* jws) const { cjose_jws_release(jws); }
};
struct JweRelease {
  void operator()(cjose_jwe_t* jwe) const { cjose_jwe_release(jwe); }
};
struct CjoseFree {
  void operator()(void* p) const { cjose_get_dealloc()(p); }
};
using JwsPtr = std::unique_ptr<cjose_jws_t, JwsRelease>;
using JwePtr = std::unique_ptr<cjose_jwe_t, JweRelease>;
using CjoseBuffer = std::unique_ptr<std::uint8_t, CjoseFree>;

const cjose_jwk_t* jwk_of(const std::shared_ptr<void>& native) {
  return static_cast<const cjose_jwk_t*>(native.get());
}

// The base64url alphabet (RFC 4648 §5) as a table: every token byte is looked up.
constexpr std::array<bool, 256> kBase64url = [] {
  std::array<bool, 256> table{};
  for (int c = 'A'; c <= 'Z'; ++c) table[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) table[c] = true;
  for (int c = '0'; c <= '9'; ++c) table[c] = true;
  table['-'] = table['_'] = true;
  return table;
}();

bool is_base64url(char c) { return kBase64url[static_cast<unsigned char>(c)]; }

// The compact serialization's alphabet (RFC 7515 §7.1, RFC 7516 §7.1): the
// parts split by '.', each base64url without padding. Returns false for any
// other character or a different number of parts.
bool split_compact(std::string_view text, std::span<std::string_view> parts) {
  std::size_t part = 0, start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '.') {
      if (part + 1 >= parts.size()) return false;
      parts[part++] = text.substr(start, i - start);
      start = i + 1;
    } else if (!is_base64url(c)) {
      return false;
    }
  }
  if (part + 1 != parts.size()) return false;
  parts[part] = text.substr(start);
  return true;
}

// --- writing tokens ----------------------------------------------------------

// A JOSE header with the members in the order given.
core::Result<std::string> header_json(std::initializer_list<std::pair<std::string_view, std::string_view>> members) {
  core::JsonObjectWriter header(160);
  for (const auto& [name, value] : members) header.text(name, value);
  return std::move(header).finish();
}

// A compact JWS (RFC 7515 §7.1), RS256, header {"alg","typ","kid"} in the
// order of seed 001.
core::Result<std::string> sign(const SigningKey& key, std::string_view payload) {
  auto header = header_json({{"alg", kSigningAlg}, {"typ", "JWT"}, {"kid", key.kid()}});
  if (!header) return core::fail(header.error());
  std::string token = core::base64url_encode(*header);
  token.push_back('.');
  token.append(core::base64url_encode(payload));
  auto signature = key.sign_rs256(token);
  if (!signature) return core::fail(signature.error());
  token.push_back('.');
  token.append(core::base64url_encode(*signature));
  if (token.size() > kMaxTokenBytes) {
    return core::fail("the token would be " + std::to_string(token.size()) + " bytes, more than " +
                      std::to_string(kMaxTokenBytes));
  }
  return token;
}

const EVP_CIPHER* aes_128_cbc() {
  static EVP_CIPHER* const cipher = EVP_CIPHER_fetch(nullptr, "AES-128-CBC", nullptr);
  return cipher;
}

EVP_MAC* hmac() {
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  return mac;
}

// A compact JWE (RFC 7516 §7.1) with "alg":"dir" and "enc":"A128CBC-HS256",
// as RFC 7518 §5.2.2.1 and §5.2.3 build it: the key's first 16 bytes are the
// MAC key and the last 16 the AES key; the ciphertext is AES-128-CBC with
// PKCS#7 padding under a random IV; the tag is the first half of HMAC-SHA-256
// over the protected header as sent (the AAD), the IV, the ciphertext and the
// AAD's length in bits as 64-bit big-endian. "dir" sends no encrypted key.
// Header members in the order of seed 001.
core::Result<std::string> encrypt(const EncryptionKey& key, std::string_view plaintext) {
  static_assert(EncryptionKey::kBytes == 32);
  const auto* key_bytes = reinterpret_cast<const unsigned char*>(key.raw().data());
  const unsigned char* mac_key = key_bytes;
  const unsigned char* aes_key = key_bytes + 16;
  auto failed = [](std::string_view what) {
    ERR_clear_error();
    return core::fail(std::string(what));
  };

  auto header = header_json({{"alg", kKeyAlg}, {"cty", "JWT"}, {"enc", kContentEnc}, {"kid", key.kid()}});
  if (!header) return core::fail(header.error());
  const std::string aad = core::base64url_encode(*header);
  unsigned char iv[16];
  if (RAND_bytes(iv, sizeof iv) != 1) return failed("cannot draw a JWE initialization vector");

  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> cipher(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  std::string ciphertext(plaintext.size() + 16, '\0');  // PKCS#7 adds 1 to 16 bytes
  int written = 0, last = 0;
  auto* out = reinterpret_cast<unsigned char*>(ciphertext.data());
  if (!cipher || aes_128_cbc() == nullptr ||
      EVP_EncryptInit_ex2(cipher.get(), aes_128_cbc(), aes_key, iv, nullptr) != 1 ||
      plaintext.size() > static_cast<std::size_t>(std::numeric_limits<int>::max() - 16) ||
      EVP_EncryptUpdate(cipher.get(), out, &written, reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(cipher.get(), out + written, &last) != 1) {
    return failed("cannot encrypt");
  }
  ciphertext.resize(static_cast<std::size_t>(written + last));

  unsigned char aad_bits[8];
  const std::uint64_t bits = static_cast<std::uint64_t>(aad.size()) * 8;
  for (int i = 0; i < 8; ++i) aad_bits[i] = static_cast<unsigned char>(bits >> (56 - 8 * i));
  std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)> mac(
      hmac() != nullptr ? EVP_MAC_CTX_new(hmac()) : nullptr, &EVP_MAC_CTX_free);
  char digest_name[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
                               OSSL_PARAM_construct_end()};
  unsigned char full_tag[32];
  std::size_t tag_length = 0;
  if (!mac || EVP_MAC_init(mac.get(), mac_key, 16, params) != 1 ||
      EVP_MAC_update(mac.get(), reinterpret_cast<const unsigned char*>(aad.data()), aad.size()) != 1 ||
      EVP_MAC_update(mac.get(), iv, sizeof iv) != 1 ||
      EVP_MAC_update(mac.get(), out, ciphertext.size()) != 1 ||
      EVP_MAC_update(mac.get(), aad_bits, sizeof aad_bits) != 1 ||
      EVP_MAC_final(mac.get(), full_tag, &tag_length, sizeof full_tag) != 1 || tag_length != sizeof full_tag) {
    return failed("cannot compute the JWE tag");
  }

  std::string compact = aad;
  compact.append("..");
  compact.append(core::base64url_encode({reinterpret_cast<const char*>(iv), sizeof iv}));
  compact.push_back('.');
  compact.append(core::base64url_encode(ciphertext));
  compact.push_back('.');
  compact.append(core::base64url_encode({reinterpret_cast<const char*>(full_tag), 16}));
  return compact;
}

// --- reading claims ---------------------------------------------------------

// One member of a claims object we care about.
struct Claim {
  std::string_view name;
  bool integer = false;  // else a string
  std::string* text = nullptr;
  std::int64_t* number = nullptr;
  bool seen = false;
};

// A SAX reader of one JSON object: fills the claims it knows, skips the others
// whole, and notes a known claim of the wrong type, a duplicate (RFC 7519 §4:
// we reject rather than pick one) or a string holding NUL. No DOM is built.
class ClaimReader final : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit ClaimReader(std::span<Claim> claims) : claims_(claims) {}

  // Parses `json`; false when it is not one JSON object.
  bool read(std::string_view json) {
    const char* begin = json.data();
    return nlohmann::json::sax_parse(begin, begin + json.size(), this) && !not_object_;
  }
  bool mistyped() const { return mistyped_; }

  bool null() override { return scalar(); }
  bool boolean(bool) override { return scalar(); }
  bool number_integer(number_integer_t value) override { return integer(value); }
  bool number_unsigned(number_unsigned_t value) override {
    if (value > static_cast<number_unsigned_t>(std::numeric_limits<std::int64_t>::max())) return scalar();
    return integer(static_cast<std::int64_t>(value));
  }
  bool number_float(number_float_t, const string_t&) override { return scalar(); }
  bool string(string_t& value) override {
    Claim* claim = current();
    if (claim == nullptr) return scalar();
    if (claim->integer || value.find('\0') != std::string::npos) {
      mistyped_ = true;
    } else {
      *claim->text = std::move(value);
    }
    return true;
  }
  bool binary(binary_t&) override { return scalar(); }
  bool start_object(std::size_t) override { return open(); }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override {
    if (depth_ == 0) not_object_ = true;
    return open();
  }
  bool end_array() override { return close(); }
  bool key(string_t& name) override {
    key_ = -1;
    if (depth_ != 1) return true;
    for (std::size_t i = 0; i < claims_.size(); ++i) {
      if (claims_[i].name == name) {
        if (claims_[i].seen) mistyped_ = true;
        claims_[i].seen = true;
        key_ = static_cast<int>(i);
        break;
      }
    }
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

 private:
  Claim* current() { return depth_ == 1 && key_ >= 0 ? &claims_[static_cast<std::size_t>(key_)] : nullptr; }
  bool scalar() {
    if (depth_ == 0) not_object_ = true;
    if (current() != nullptr) mistyped_ = true;
    return !not_object_;
  }
  bool integer(std::int64_t value) {
    Claim* claim = current();
    if (claim == nullptr) return scalar();
    if (claim->integer) {
      *claim->number = value;
    } else {
      mistyped_ = true;
    }
    return true;
  }
  bool open() {
    if (current() != nullptr) mistyped_ = true;  // a known claim holding an object or array
    key_ = -1;
    ++depth_;
    return !not_object_;
  }
  bool close() {
    --depth_;
    return true;
  }

  std::span<Claim> claims_;
  int depth_ = 0;
  int key_ = -1;
  bool mistyped_ = false;
  bool not_object_ = false;
};

// The header of a token cjose would not import, read only to tell a foreign
// algorithm ("none" included) from plain garbage.
TokenError classify_rejected(std::string_view header_b64, std::string_view expected_alg) {
  auto header = core::base64url_decode(header_b64);
  if (!header) return TokenError::malformed;
  auto json = nlohmann::json::parse(*header, nullptr, false);
  if (!json.is_object()) return TokenError::malformed;
  auto alg = json.find("alg");
  if (alg == json.end() || !alg->is_string()) return TokenError::malformed;
  return alg->get_ref<const std::string&>() == expected_alg ? TokenError::malformed : TokenError::wrong_algorithm;
}

// cjose_header_t is jansson's json_t (cjose/header.h): members are read in
// place, whatever their type.
const json_t* member(cjose_header_t* header, const char* name) { return json_object_get(header, name); }

std::optional<std::string_view> string_member(cjose_header_t* header, const char* name) {
  const json_t* value = member(header, name);
  if (!json_is_string(value)) return std::nullopt;
  return std::string_view(json_string_value(value), json_string_length(value));
}

// A verified JWS: the payload points into `jws`.
struct VerifiedJws {
  JwsPtr jws;
  std::string_view payload;
};

// A compact RS256 JWS taken apart, its signature not checked yet.
struct ImportedJws {
  JwsPtr jws;
  cjose_header_t* header = nullptr;
  bool signed_part_empty = true;
};

core::Result<ImportedJws, TokenError> import_jws(std::string_view token) {
  if (token.empty() || token.size() > kMaxTokenBytes) return core::fail(TokenError::malformed);
  std::array<std::string_view, 3> parts;
  if (!split_compact(token, parts) || parts[0].empty()) return core::fail(TokenError::malformed);

  cjose_err err{};
  JwsPtr jws(cjose_jws_import(token.data(), token.size(), &err));
  if (!jws) return core::fail(classify_rejected(parts[0], kSigningAlg));
  cjose_header_t* header = cjose_jws_get_protected(jws.get());
  if (header == nullptr) return core::fail(TokenError::malformed);
  // RFC 8725 §3.1: the algorithm is ours to choose, never the token's.
  auto alg = string_member(header, "alg");
  if (!alg) return core::fail(TokenError::malformed);
  if (*alg != kSigningAlg) return core::fail(TokenError::wrong_algorithm);
  // RFC 7515 §4.1.11: we understand no extension, so "crit" is refused.
  if (member(header, "crit") != nullptr) return core::fail(TokenError::malformed);
  return ImportedJws{std::move(jws), header, parts[2].empty()};
}

core::Result<std::string_view, TokenError> jws_payload(cjose_jws_t* jws) {
  cjose_err err{};
  std::uint8_t* payload = nullptr;
  std::size_t payload_len = 0;
  if (!cjose_jws_get_plaintext(jws, &payload, &payload_len, &err)) return core::fail(TokenError::malformed);
  return std::string_view(reinterpret_cast<const char*>(payload), payload_len);
}

core::Result<VerifiedJws, TokenError> verify_jws(const KeySet& keys, std::string_view token) {
  auto imported = import_jws(token);
  if (!imported) return core::fail(imported.error());
  auto kid = string_member(imported->header, "kid");
  const SigningKey* key = kid ? keys.find_verifying(*kid) : nullptr;
  if (key == nullptr) return core::fail(TokenError::unknown_key);
  cjose_err err{};
  if (imported->signed_part_empty || !cjose_jws_verify(imported->jws.get(), jwk_of(key->native()), &err)) {
    ERR_clear_error();
    return core::fail(TokenError::bad_signature);
  }
  auto payload = jws_payload(imported->jws.get());
  if (!payload) return core::fail(payload.error());
  return VerifiedJws{std::move(imported->jws), *payload};
}

// The JWE of an access token's payload, {"private": "<JWE>"}. Our own tokens
// take the fast path; anything else equivalent goes through the JSON reader.
core::Result<std::string_view, TokenError> private_part(std::string_view payload, std::string& storage) {
  if (payload.size() > kPrivateOpen.size() + kPrivateClose.size() && payload.starts_with(kPrivateOpen) &&
      payload.ends_with(kPrivateClose)) {
    std::string_view inner = payload.substr(kPrivateOpen.size(), payload.size() - kPrivateOpen.size() -
                                                                      kPrivateClose.size());
    bool plain = true;
    for (char c : inner) plain = plain && (is_base64url(c) || c == '.');
    if (plain) return inner;
  }
  std::string ctyp;
  std::array<Claim, 2> claims{Claim{"private", false, &storage}, Claim{"ctyp", false, &ctyp}};
  ClaimReader reader(claims);
  if (!reader.read(payload)) return core::fail(TokenError::malformed);
  if (!claims[0].seen && claims[1].seen) return core::fail(TokenError::wrong_kind);
  if (!claims[0].seen || reader.mistyped()) return core::fail(TokenError::malformed);
  return std::string_view(storage);
}

// Decrypted claims, in cjose's buffer.
struct Plaintext {
  CjoseBuffer buffer;
  std::size_t length = 0;
  std::string_view view() const { return {reinterpret_cast<const char*>(buffer.get()), length}; }
};

core::Result<Plaintext, TokenError> decrypt_private(const KeySet& keys, std::string_view compact) {
  // RFC 7516 §7.1: header.key.iv.ciphertext.tag; "dir" has no encrypted key
  // (RFC 7518 §4.5), and A128CBC-HS256 a 16-byte IV and tag (§5.2.3), i.e.
  // 22 base64url characters each. Checking the tag length here means a
  // truncated tag can never be compared on fewer bytes.
  std::array<std::string_view, 5> parts;
  if (!split_compact(compact, parts) || parts[0].empty()) return core::fail(TokenError::malformed);

  cjose_err err{};
  JwePtr jwe(cjose_jwe_import(compact.data(), compact.size(), &err));
  if (!jwe) return core::fail(classify_rejected(parts[0], kKeyAlg));
  cjose_header_t* header = cjose_jwe_get_protected(jwe.get());
  if (header == nullptr) return core::fail(TokenError::malformed);
  if (string_member(header, "alg") != kKeyAlg || string_member(header, "enc") != kContentEnc ||
      member(header, "zip") != nullptr) {
    return core::fail(TokenError::wrong_algorithm);
  }
  if (member(header, "crit") != nullptr) return core::fail(TokenError::malformed);
  if (!parts[1].empty() || parts[2].size() != 22 || parts[4].size() != 22) return core::fail(TokenError::malformed);
  auto kid = string_member(header, "kid");
  const EncryptionKey* key = kid ? keys.find_decrypting(*kid) : nullptr;
  if (key == nullptr) return core::fail(TokenError::unknown_key);
  Plaintext plain;
  plain.buffer.reset(cjose_jwe_decrypt(jwe.get(), jwk_of(key->native()), &plain.length, &err));
  if (!plain.buffer) {
    ERR_clear_error();
    return core::fail(TokenError::cannot_decrypt);
  }
  return plain;
}

}  // namespace

std::string_view to_string(TokenError error) {
  switch (error) {
    case TokenError::malformed: return "malformed";
    case TokenError::wrong_algorithm: return "wrong_algorithm";
    case TokenError::unknown_key: return "unknown_key";
    case TokenError::bad_signature: return "bad_signature";
    case TokenError::cannot_decrypt: return "cannot_decrypt";
    case TokenError::wrong_kind: return "wrong_kind";
  }
  return "unknown";
}

const SigningKey* KeySet::find_verifying(std::string_view kid) const {
  for (const auto& key : verifying) {
    if (key && key->kid() == kid) return key.get();
  }
  return nullptr;
}

const EncryptionKey* KeySet::find_decrypting(std::string_view kid) const {
  for (const auto& key : decrypting) {
    if (key && key->kid() == kid) return key.get();
  }
  return nullptr;
}

core::Result<std::string> mint_access_token(const KeySet& keys, const AccessClaims& claims) {
  if (!keys.signing || !keys.encryption) return core::fail(std::string("no signing or encryption key"));
  core::JsonObjectWriter writer(160 + claims.issuer.size() + claims.subject.size() + claims.client_id.size() +
                     claims.scope.size() + claims.token_id.size() + claims.family_id.size());
  writer.text("iss", claims.issuer);
  writer.text("sub", claims.subject);
  writer.text("client_id", claims.client_id);
  writer.text("scope", claims.scope);
  writer.text("jti", claims.token_id);
  if (!claims.family_id.empty()) writer.text("fid", claims.family_id);
  writer.text("typ", claims.token_type);
  writer.number("iat", claims.issued_at);
  writer.number("exp", claims.expires_at);
  auto plaintext = std::move(writer).finish();
  if (!plaintext) return core::fail(plaintext.error());

  auto compact = encrypt(*keys.encryption, *plaintext);
  if (!compact) return core::fail(compact.error());

  // The JWE compact form is base64url and dots: nothing in it needs escaping.
  std::string payload;
  payload.reserve(kPrivateOpen.size() + compact->size() + kPrivateClose.size());
  payload.append(kPrivateOpen).append(*compact).append(kPrivateClose);
  return sign(*keys.signing, payload);
}

core::Result<std::string> mint_refresh_token(const KeySet& keys, const RefreshClaims& claims) {
  if (!keys.signing) return core::fail(std::string("no signing key"));
  // Seed 001's order, which also makes the token a function of its claims.
  core::JsonObjectWriter writer(96 + claims.issuer.size() + claims.token_type.size() + claims.token_id.size() +
                     claims.client_id.size());
  writer.number("exp", claims.expires_at);
  writer.text("iss", claims.issuer);
  writer.text("typ", claims.token_type);
  writer.text("tid", claims.token_id);
  writer.text("ctyp", "refresh");
  writer.text("ccid", claims.client_id);
  auto payload = std::move(writer).finish();
  if (!payload) return core::fail(payload.error());
  return sign(*keys.signing, *payload);
}

core::Result<AccessClaims, TokenError> read_access_token(const KeySet& keys, std::string_view token) {
  auto jws = verify_jws(keys, token);
  if (!jws) return core::fail(jws.error());
  std::string storage;
  auto compact = private_part(jws->payload, storage);
  if (!compact) return core::fail(compact.error());
  auto plaintext = decrypt_private(keys, *compact);
  if (!plaintext) return core::fail(plaintext.error());

  AccessClaims claims;
  std::array<Claim, 9> fields{Claim{"iss", false, &claims.issuer},
                              Claim{"sub", false, &claims.subject},
                              Claim{"client_id", false, &claims.client_id},
                              Claim{"scope", false, &claims.scope},
                              Claim{"jti", false, &claims.token_id},
                              Claim{"fid", false, &claims.family_id},
                              Claim{"typ", false, &claims.token_type},
                              Claim{"iat", true, nullptr, &claims.issued_at},
                              Claim{"exp", true, nullptr, &claims.expires_at}};
  ClaimReader reader(fields);
  if (!reader.read(plaintext->view()) || reader.mistyped()) return core::fail(TokenError::malformed);
  for (const Claim& field : fields) {
    // scope and fid may be absent (no scope asked, no refresh family).
    if (!field.seen && field.name != "scope" && field.name != "fid") return core::fail(TokenError::malformed);
  }
  return claims;
}

namespace {

core::Result<RefreshClaims, TokenError> refresh_claims(std::string_view payload) {
  RefreshClaims claims;
  claims.token_type.clear();
  std::string ctyp, inner;
  std::array<Claim, 7> fields{Claim{"exp", true, nullptr, &claims.expires_at},
                              Claim{"iss", false, &claims.issuer},
                              Claim{"typ", false, &claims.token_type},
                              Claim{"tid", false, &claims.token_id},
                              Claim{"ctyp", false, &ctyp},
                              Claim{"ccid", false, &claims.client_id},
                              Claim{"private", false, &inner}};
  ClaimReader reader(fields);
  if (!reader.read(payload)) return core::fail(TokenError::malformed);
  if (fields[6].seen || (fields[4].seen && ctyp != "refresh")) return core::fail(TokenError::wrong_kind);
  if (reader.mistyped()) return core::fail(TokenError::malformed);
  for (std::size_t i = 0; i < 6; ++i) {
    if (!fields[i].seen) return core::fail(TokenError::malformed);
  }
  return claims;
}

}  // namespace

core::Result<RefreshClaims, TokenError> read_refresh_token(const KeySet& keys, std::string_view token) {
  auto jws = verify_jws(keys, token);
  if (!jws) return core::fail(jws.error());
  return refresh_claims(jws->payload);
}

core::Result<RefreshClaims, TokenError> peek_refresh_token(std::string_view token) {
  auto imported = import_jws(token);
  if (!imported) return core::fail(imported.error());
  if (imported->signed_part_empty) return core::fail(TokenError::malformed);
  auto payload = jws_payload(imported->jws.get());
  if (!payload) return core::fail(payload.error());
  return refresh_claims(*payload);
}

}  // namespace ucedge::authz
