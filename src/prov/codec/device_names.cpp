#include "prov/codec/device_names.hpp"

#include <algorithm>


namespace ucedge::prov {

namespace {

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
char to_upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (to_upper(s[i]) != prefix[i]) return false;
  }
  return true;
}

// `text` with a separator after every `group` hex digits: 00:0e:08:ab:cd:ef
// (group 2, ':' or '-') or 000e.08ab.cdef (group 4, '.').
std::optional<std::string> grouped_mac(std::string_view text, std::size_t group, char separator) {
  std::string out;
  out.reserve(12);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if ((i + 1) % (group + 1) == 0) {
      if (text[i] != separator) return std::nullopt;
    } else {
      if (!is_hex(text[i])) return std::nullopt;
      out += to_lower(text[i]);
    }
  }
  return out;
}

}  // namespace

std::optional<std::string> normalize_mac(std::string_view text) {
  switch (text.size()) {
    case 12: {
      std::string out(text);
      for (char& c : out) {
        if (!is_hex(c)) return std::nullopt;
        c = to_lower(c);
      }
      return out;
    }
    case 17:
      if (text[2] != ':' && text[2] != '-') return std::nullopt;
      return grouped_mac(text, 2, text[2]);
    case 14:
      return grouped_mac(text, 4, '.');
    default:
      return std::nullopt;
  }
}

std::string colon_mac(std::string_view ma) {
  std::string out;
  out.reserve(ma.size() + ma.size() / 2);
  for (std::size_t i = 0; i < ma.size(); ++i) {
    if (i > 0 && i % 2 == 0) out += ':';
    out += ma[i];
  }
  return out;
}

std::string upper_mac(std::string_view ma) {
  std::string out(ma);
  for (char& c : out) c = to_upper(c);
  return out;
}

std::string product_series(std::string_view model) {
  // CP-7841-3PCC, SPA508G, SPA525G2, ATA192-3PCC: the series is the part after
  // the family prefix, up to the next '-', when it starts with a digit.
  if (!starts_with_nocase(model, "CP-") && !starts_with_nocase(model, "SPA") &&
      !starts_with_nocase(model, "ATA")) {
    return {};
  }
  std::string_view rest = model.substr(3);
  rest = rest.substr(0, rest.find('-'));
  if (rest.empty() || !is_digit(rest.front())) return {};
  return std::string(rest);
}

std::vector<std::string> mac_candidates(std::string_view file_name) {
  std::size_t slash = file_name.find_last_of("/\\");
  if (slash != std::string_view::npos) file_name.remove_prefix(slash + 1);
  file_name = file_name.substr(0, file_name.find('.'));

  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < file_name.size()) {
    if (!is_hex(file_name[i])) {
      ++i;
      continue;
    }
    std::size_t end = i;
    while (end < file_name.size() && is_hex(file_name[end])) ++end;
    for (std::size_t start = i; start + 12 <= end; ++start) {
      std::string window(file_name.substr(start, 12));
      for (char& c : window) c = to_lower(c);
      // A name holds a window or two: a linear search beats hashing them.
      if (std::find(out.begin(), out.end(), window) == out.end()) out.push_back(std::move(window));
    }
    i = end;
  }
  return out;
}

}  // namespace ucedge::prov
