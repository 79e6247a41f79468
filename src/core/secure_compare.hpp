#pragma once
// Comparing secrets (tokens, MACs, client secrets) in time that does not
// depend on where they first differ.
#include <sodium.h>

#include <string_view>

namespace ucedge::core {

// The length is not secret: inputs of different lengths compare unequal at
// once. Equal lengths are compared in constant time.
inline bool secure_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace ucedge::core
