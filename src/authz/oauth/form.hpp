#pragma once
// application/x-www-form-urlencoded bodies and query strings as OAuth reads
// them (RFC 6749 §3.1, §3.2, Appendix B): '+' is a space, %XX escapes are
// decoded, and a parameter sent more than once is an error (RFC 6749 §3.1:
// "Request and response parameters MUST NOT be included more than once").
// Values must be valid UTF-8 without NUL. Never throws.
#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace ucedge::authz {

inline constexpr std::size_t kMaxFormFields = 64;

enum class FormErrorKind { bad_escape, repeated, too_many, not_utf8 };

struct FormError {
  FormErrorKind kind = FormErrorKind::bad_escape;
  std::string field;  // the parameter concerned, when known
  // "parameter 'scope' is repeated", for an error_description.
  std::string describe() const;
};

class Form {
 public:
  // An empty value counts as absent (RFC 6749 §3.1: "Parameters sent without
  // a value MUST be treated as if they were omitted").
  std::optional<std::string_view> get(std::string_view name) const;
  std::string_view get_or(std::string_view name, std::string_view fallback = {}) const;
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }

  void add(std::string name, std::string value) { fields_.emplace_back(std::move(name), std::move(value)); }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

core::Result<Form, FormError> parse_form(std::string_view text);

// Encodes for a query string or a form body (unreserved characters kept,
// space as %20).
std::string form_encode(std::string_view value);

// `uri` with the parameters added to its query, keeping the query it already
// has (RFC 6749 §3.1.2: the redirection endpoint's query "MUST be retained");
// parameters with an empty value are left out, as a form would treat them.
// For the authorization response: append_query(redirect_uri, {{"code", c}, {"state", s}}).
std::string append_query(std::string_view uri,
                         std::initializer_list<std::pair<std::string_view, std::string_view>> params);

}  // namespace ucedge::authz
