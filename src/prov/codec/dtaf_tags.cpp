#include "prov/codec/dtaf_tags.hpp"

namespace ucedge::prov {

namespace {

bool is_tag_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
         c == '-';
}

}  // namespace

std::string substitute_tags(std::string_view text, const TagValues& values) {
  std::string out;
  out.reserve(text.size());
  std::string key;  // reused: one allocation at most for every look-up
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t open = text.find('%', i);
    if (open == std::string_view::npos) {
      out.append(text.substr(i));
      break;
    }
    out.append(text.substr(i, open - i));
    std::size_t end = open + 1;
    while (end < text.size() && is_tag_char(text[end])) ++end;
    if (end > open + 1 && end < text.size() && text[end] == '%') {
      key.assign(text.substr(open + 1, end - open - 1));
      auto it = values.find(key);
      if (it != values.end()) {
        out += it->second;
        i = end + 1;
        continue;
      }
    }
    // Not a known tag: keep what was read, and let the '%' that stopped the
    // scan open the next tag, so "%20%XSI_ROOT_WXT%" still fills the tag.
    out.append(text.substr(open, end - open));
    i = end;
  }
  return out;
}

}  // namespace ucedge::prov
