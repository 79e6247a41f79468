#pragma once
// Unguessable identifiers and their encodings, for everything handed to a
// client as a bearer secret (codes, client secrets) or used as a row id.
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace ucedge::core {

// `bytes` random bytes (libsodium), base64url without padding.
std::string random_token(std::size_t bytes = 32);
// A random (version 4) UUID in its 36-character text form.
std::string random_uuid();
// A version 7 UUID (RFC 9562 §5.7): the time in milliseconds, then 74 random
// bits. Rows keyed by it are inserted, and later purged, in index order,
// which keeps B-tree writes local.
std::string time_ordered_uuid(std::chrono::system_clock::time_point now);

std::string base64url_encode(std::string_view bytes);
// nullopt for characters outside the base64url alphabet or a bad length;
// padding is not accepted.
std::optional<std::string> base64url_decode(std::string_view text);

// SHA-256 of `data` (OpenSSL), raw 32 bytes or lower-case hex.
std::string sha256(std::string_view data);
std::string sha256_hex(std::string_view data);

}  // namespace ucedge::core
