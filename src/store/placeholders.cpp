#include "store/placeholders.hpp"

#include <cctype>

namespace ucedge::store {

namespace {

bool is_word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '$';
}

// Index just past a string literal or quoted identifier that opens at `open`.
std::size_t skip_quoted(std::string_view sql, std::size_t open, bool backslash_escapes) {
  const char quote = sql[open];
  std::size_t i = open + 1;
  while (i < sql.size()) {
    if (backslash_escapes && sql[i] == '\\') {
      i += 2;
    } else if (sql[i] == quote) {
      if (i + 1 < sql.size() && sql[i + 1] == quote) {
        i += 2;  // a doubled quote stands for one
      } else {
        return i + 1;
      }
    } else {
      ++i;
    }
  }
  return sql.size();
}

}  // namespace

std::vector<std::size_t> placeholder_positions(std::string_view sql) {
  std::vector<std::size_t> out;
  std::size_t i = 0;
  while (i < sql.size()) {
    const char c = sql[i];
    const char next = i + 1 < sql.size() ? sql[i + 1] : '\0';
    if (c == '\'') {
      // E'..' is PostgreSQL's escape string; the E must start a word.
      const bool escape_string =
          i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') && (i < 2 || !is_word_char(sql[i - 2]));
      i = skip_quoted(sql, i, escape_string);
    } else if (c == '"') {
      i = skip_quoted(sql, i, false);
    } else if (c == '-' && next == '-') {
      const std::size_t end = sql.find('\n', i);
      i = end == std::string_view::npos ? sql.size() : end + 1;
    } else if (c == '/' && next == '*') {
      // Not nested: SQLite ends a comment at the first */.
      const std::size_t end = sql.find("*/", i + 2);
      i = end == std::string_view::npos ? sql.size() : end + 2;
    } else {
      if (c == '?') out.push_back(i);
      ++i;
    }
  }
  return out;
}

std::size_t count_placeholders(std::string_view sql) { return placeholder_positions(sql).size(); }

std::string number_placeholders(std::string_view sql,
                                const std::function<std::string_view(std::size_t)>& suffix) {
  const auto positions = placeholder_positions(sql);
  std::string out;
  out.reserve(sql.size() + positions.size() * 8);
  std::size_t from = 0;
  for (std::size_t n = 0; n < positions.size(); ++n) {
    out.append(sql.substr(from, positions[n] - from));
    out += '$';
    out += std::to_string(n + 1);
    if (suffix) out.append(suffix(n));
    from = positions[n] + 1;
  }
  out.append(sql.substr(from));
  return out;
}

}  // namespace ucedge::store
