#pragma once
// A BLAKE2b digest of some bytes, in lower-case hex: for remembering a
// verified credential by its hash, and for ETags of rendered content.
#include <cstddef>
#include <string>
#include <string_view>

namespace ucedge::core {

// `bytes` of digest (16..64), so the result has 2 * bytes hex digits.
std::string digest_hex(std::string_view data, std::size_t bytes = 32);

}  // namespace ucedge::core
