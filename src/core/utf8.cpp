#include "core/utf8.hpp"

#include <cstdint>

namespace ucedge::core {

std::size_t utf8_sequence_length(std::string_view s, std::size_t at) {
  const auto lead = static_cast<std::uint8_t>(s[at]);
  // The sequence length from the lead byte, and the range its second byte
  // must fall in to exclude overlong forms, surrogates and values past U+10FFFF.
  std::size_t length = 0;
  std::uint8_t lo = 0x80, hi = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) lo = 0xA0;
    if (lead == 0xED) hi = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) lo = 0x90;
    if (lead == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (s.size() - at < length) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    const auto c = static_cast<std::uint8_t>(s[at + k]);
    if (k == 1 ? (c < lo || c > hi) : (c < 0x80 || c > 0xBF)) return 0;
  }
  return length;
}

}  // namespace ucedge::core
