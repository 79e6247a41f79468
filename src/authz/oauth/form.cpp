#include "authz/oauth/form.hpp"

#include <cstdint>
#include <cstring>

#include "core/utf8.hpp"
#include "net/http.hpp"

namespace ucedge::authz {

namespace {

// Well-formed UTF-8 (core/utf8.hpp) and no NUL, which would cut the value
// short in C APIs and the database.
bool is_text(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    // Tokens are long and ASCII: eight bytes at a time while they are
    // ASCII without NUL (no high bit set, no zero byte).
    constexpr std::uint64_t kOnes = 0x0101010101010101, kHighs = 0x8080808080808080;
    for (std::uint64_t w; s.size() - i >= 8; i += 8) {
      std::memcpy(&w, s.data() + i, 8);
      if (((w | ((w - kOnes) & ~w)) & kHighs) != 0) break;
    }
    if (i == s.size()) break;
    auto b = static_cast<std::uint8_t>(s[i]);
    if (b == 0) return false;
    if (b < 0x80) {
      ++i;
      continue;
    }
    const std::size_t length = core::utf8_sequence_length(s, i);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

bool is_unreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

// A name as it may appear in an error_description: RFC 6749 §5.2 allows only
// %x20-21 / %x23-5B / %x5D-7E there, and the name came from the client.
std::string printable_name(std::string_view name) {
  constexpr std::size_t kMaxShown = 40;
  std::string out;
  for (char c : name.substr(0, kMaxShown)) {
    bool allowed = c >= 0x20 && c <= 0x7E && c != '"' && c != '\\' && c != '\'';
    out += allowed ? c : '?';
  }
  if (name.size() > kMaxShown) out += "...";
  return out;
}

}  // namespace

std::string FormError::describe() const {
  std::string quoted = "'" + printable_name(field) + "'";
  switch (kind) {
    case FormErrorKind::bad_escape:
      return field.empty() ? "malformed percent-encoding" : "parameter " + quoted + " has a malformed escape";
    case FormErrorKind::repeated: return "parameter " + quoted + " is repeated";
    case FormErrorKind::too_many: return "more than " + std::to_string(kMaxFormFields) + " parameters";
    case FormErrorKind::not_utf8:
      return field.empty() ? "a parameter name is not UTF-8 text"
                           : "parameter " + quoted + " is not UTF-8 text without NUL";
  }
  return "malformed form";
}

std::optional<std::string_view> Form::get(std::string_view name) const {
  for (const auto& [key, value] : fields_) {
    if (key == name) {
      if (value.empty()) return std::nullopt;
      return std::string_view(value);
    }
  }
  return std::nullopt;
}

std::string_view Form::get_or(std::string_view name, std::string_view fallback) const {
  auto value = get(name);
  return value ? *value : fallback;
}

core::Result<Form, FormError> parse_form(std::string_view text) {
  Form form;
  std::size_t count = 0;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('&', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view pair = text.substr(start, end - start);
    start = end + 1;
    if (pair.empty()) continue;  // "a=1&&b=2", a trailing '&'
    if (++count > kMaxFormFields) return core::fail(FormError{FormErrorKind::too_many, {}});

    std::size_t eq = pair.find('=');
    auto name = net::percent_decode(pair.substr(0, eq), true);
    if (!name) return core::fail(FormError{FormErrorKind::bad_escape, {}});
    if (!is_text(*name)) return core::fail(FormError{FormErrorKind::not_utf8, {}});
    std::optional<std::string> value = std::string{};
    if (eq != std::string_view::npos) value = net::percent_decode(pair.substr(eq + 1), true);
    if (!value) return core::fail(FormError{FormErrorKind::bad_escape, *name});
    if (!is_text(*value)) return core::fail(FormError{FormErrorKind::not_utf8, *name});

    // RFC 6749 §3.1: a parameter without a value is as if omitted, so it is
    // neither kept nor counted as a repetition. A nameless one is no
    // parameter the server knows, and unknown parameters are ignored.
    if (value->empty() || name->empty()) continue;
    for (const auto& [seen, unused] : form.fields()) {
      if (seen == *name) return core::fail(FormError{FormErrorKind::repeated, *name});
    }
    form.add(std::move(*name), std::move(*value));
  }
  return form;
}

std::string form_encode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (is_unreserved(c)) {
      out += c;
    } else {
      auto b = static_cast<std::uint8_t>(c);
      out += '%';
      out += kHex[b >> 4];
      out += kHex[b & 0x0F];
    }
  }
  return out;
}

std::string append_query(std::string_view uri,
                         std::initializer_list<std::pair<std::string_view, std::string_view>> params) {
  // A redirection URI has no fragment (RFC 6749 §3.1.2); should one slip
  // through, the query still goes before it.
  std::size_t hash = uri.find('#');
  std::string_view base = uri.substr(0, hash);
  std::string out(base);
  bool has_query = base.find('?') != std::string_view::npos;
  char last = out.empty() ? '\0' : out.back();
  bool need_separator = has_query && last != '?' && last != '&';
  for (const auto& [name, value] : params) {
    if (value.empty()) continue;
    if (!has_query) {
      out += '?';
      has_query = true;
    } else if (need_separator) {
      out += '&';
    }
    need_separator = true;
    out += form_encode(name);
    out += '=';
    out += form_encode(value);
  }
  if (hash != std::string_view::npos) out += uri.substr(hash);
  return out;
}

}  // namespace ucedge::authz
