#pragma once
// Password hashing with Argon2id (libsodium), for every password ucedge keeps.
#include <cstddef>
#include <string>
#include <string_view>

namespace ucedge::core {

// An encoded Argon2id hash ("$argon2id$v=19$m=...") with a fresh salt, at
// libsodium's interactive cost (~64 MiB, a fraction of a second). Throws
// std::runtime_error only when libsodium cannot start or memory runs out.
std::string hash_password(std::string_view password);

// True when `password` matches `hash`; false for a wrong password and for a
// hash that is not a libsodium password hash.
bool verify_password(std::string_view hash, std::string_view password);

// A random password from an alphabet without look-alikes (no 0/O, 1/l/I).
std::string random_password(std::size_t length = 20);

}  // namespace ucedge::core
