#include "core/json_writer.hpp"

#include <array>

#include "core/utf8.hpp"

namespace ucedge::core {

namespace {

// Bytes copied as they are: printable ASCII other than '"' and '\'.
constexpr std::array<bool, 256> kPlain = [] {
  std::array<bool, 256> table{};
  for (int c = 0x20; c < 0x80; ++c) table[c] = c != '"' && c != '\\';
  return table;
}();

}  // namespace

bool append_json_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  const auto* begin = reinterpret_cast<const unsigned char*>(text.data());
  const auto* p = begin;
  const auto* end = begin + text.size();
  while (p < end) {
    const unsigned char* run = p;
    while (run < end && kPlain[*run]) ++run;
    out.append(reinterpret_cast<const char*>(p), static_cast<std::size_t>(run - p));
    p = run;
    if (p == end) break;
    const unsigned char c = *p;
    if (c < 0x80) {
      if (c == '"' || c == '\\') {
        out.push_back('\\');
        out.push_back(static_cast<char>(c));
      } else {  // a control character
        out.append("\\u00");
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0xf]);
      }
      ++p;
      continue;
    }
    const std::size_t length = utf8_sequence_length(text, static_cast<std::size_t>(p - begin));
    if (length == 0) return false;
    out.append(reinterpret_cast<const char*>(p), length);
    p += length;
  }
  out.push_back('"');
  return true;
}

JsonObjectWriter::JsonObjectWriter(std::size_t expected) {
  out_.reserve(expected);
  out_.push_back('{');
}

JsonObjectWriter& JsonObjectWriter::text(std::string_view name, std::string_view value) {
  begin(name);
  if (!append_json_string(out_, value) && bad_.empty()) bad_ = name;
  return *this;
}

JsonObjectWriter& JsonObjectWriter::number(std::string_view name, std::int64_t value) {
  begin(name);
  out_.append(std::to_string(value));
  return *this;
}

JsonObjectWriter& JsonObjectWriter::boolean(std::string_view name, bool value) {
  begin(name);
  out_.append(value ? "true" : "false");
  return *this;
}

Result<std::string> JsonObjectWriter::finish() && {
  if (!bad_.empty()) return fail("the member \"" + std::string(bad_) + "\" is not UTF-8");
  out_.push_back('}');
  return std::move(out_);
}

void JsonObjectWriter::begin(std::string_view name) {
  if (out_.size() > 1) out_.push_back(',');
  out_.push_back('"');
  out_.append(name);
  out_.append("\":");
}

}  // namespace ucedge::core
