#pragma once
// A JSON object written member by member, in the order given, straight into
// one string: for answers and token payloads on hot paths, where building a
// DOM first would cost more than the rest of the request.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace ucedge::core {

// Appends `text` as a JSON string (RFC 8259 §7). False, with `out` holding
// part of it, when `text` is not UTF-8, which JSON cannot carry.
bool append_json_string(std::string& out, std::string_view text);

class JsonObjectWriter {
 public:
  // `expected`: the size to reserve, a guess of the whole object's length.
  explicit JsonObjectWriter(std::size_t expected = 128);

  // Member names are the caller's own ASCII words: they are not escaped.
  JsonObjectWriter& text(std::string_view name, std::string_view value);
  JsonObjectWriter& number(std::string_view name, std::int64_t value);
  JsonObjectWriter& boolean(std::string_view name, bool value);

  // The object, or an error naming the first member whose value was not UTF-8.
  Result<std::string> finish() &&;

 private:
  void begin(std::string_view name);

  std::string out_;
  std::string_view bad_;
};

}  // namespace ucedge::core
