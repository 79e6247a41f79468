#include "core/password.hpp"

#include <sodium.h>

#include <stdexcept>

namespace ucedge::core {

namespace {

void start_sodium() {
  // A function-local static runs sodium_init() once, however many threads ask.
  static const bool started = sodium_init() >= 0;
  if (!started) throw std::runtime_error("libsodium could not be initialised");
}

constexpr std::string_view kAlphabet = "23456789abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ";

}  // namespace

std::string hash_password(std::string_view password) {
  start_sodium();
  char hash[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(hash, password.data(), password.size(),
                            crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    throw std::runtime_error("not enough memory to hash a password");
  }
  return hash;
}

bool verify_password(std::string_view hash, std::string_view password) {
  start_sodium();
  // libsodium wants a NUL-terminated hash shorter than crypto_pwhash_STRBYTES.
  if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES) return false;
  const std::string terminated(hash);
  if (terminated.find('\0') != std::string::npos) return false;
  return crypto_pwhash_str_verify(terminated.c_str(), password.data(), password.size()) == 0;
}

std::string random_password(std::size_t length) {
  start_sodium();
  std::string out;
  out.reserve(length);
  for (std::size_t i = 0; i < length; ++i) {
    // randombytes_uniform has no modulo bias.
    out += kAlphabet[randombytes_uniform(static_cast<std::uint32_t>(kAlphabet.size()))];
  }
  return out;
}

}  // namespace ucedge::core
