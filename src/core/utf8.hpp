#pragma once
// Checking UTF-8 as RFC 3629 §4 defines it: the shortest form only, no
// surrogates, nothing above U+10FFFF. The form decoder and the JSON writer
// both refuse text that fails it.
#include <cstddef>
#include <string_view>

namespace ucedge::core {

// The length (2 to 4) of the well-formed multi-byte sequence that starts at
// `s[at]`, a byte of 0x80 or more; 0 when it is not one.
std::size_t utf8_sequence_length(std::string_view s, std::size_t at);

}  // namespace ucedge::core
