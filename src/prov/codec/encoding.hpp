#pragma once
// What a profile is wrapped in on its way to a phone (seed 004, "Gestion des
// profils"): gzip (an RFC 1952 header, as the phone expects) and AES-256-CBC
// exactly as `openssl enc -aes-256-cbc -k SECRET` writes it: "Salted__", an
// 8-byte salt, then the ciphertext with PKCS#7 padding; key and IV from
// EVP_BytesToKey over the chosen digest (md5 for phones validated against
// OpenSSL 0.9.7, sha256 as OpenSSL ≥ 1.1 defaults to), or PBKDF2-HMAC-SHA256
// with 10,000 iterations (`-pbkdf2`). Compress before encrypting.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace ucedge::prov {

enum class KeyDerivation { md5, sha256, pbkdf2 };

std::string_view to_string(KeyDerivation k);
std::optional<KeyDerivation> key_derivation_from_string(std::string_view text);

using Salt = std::array<std::uint8_t, 8>;

// gzip container (RFC 1952) around a deflate stream.
core::Result<std::string> gzip_compress(std::string_view data, int level = 6);
// Inflates a gzip stream; refuses output beyond `max_output` bytes.
core::Result<std::string> gzip_decompress(std::string_view data, std::size_t max_output);
bool looks_gzipped(std::string_view data);

// `openssl enc -aes-256-cbc -k password [-md md5|-md sha256|-pbkdf2]`. The
// salt is random unless given (tests compare against the openssl CLI's -S).
core::Result<std::string> openssl_enc_encrypt(std::string_view plaintext, std::string_view password,
                                              KeyDerivation kdf, std::optional<Salt> salt = std::nullopt);
// `openssl enc -d ...`: wrong key, bad padding or a missing header is an error.
core::Result<std::string> openssl_enc_decrypt(std::string_view ciphertext, std::string_view password,
                                              KeyDerivation kdf);
bool looks_openssl_encrypted(std::string_view data);

}  // namespace ucedge::prov
