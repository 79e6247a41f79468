#include "prov/codec/macro.hpp"

#include <algorithm>
#include <unordered_set>

namespace ucedge::prov {

namespace {

// Bound on p and q in $(NAME:p:q): values are short, a larger number is a typo.
constexpr std::size_t kMaxSubstringBound = 1'000'000;

bool is_name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

// $SA..$SD carry secrets; the phone expands them only in --key, --uid and --pwd
// (Cisco MPP admin guide, "Macro expansion variables").
bool is_secret_name(std::string_view name) {
  return name.size() == 2 && name[0] == 'S' && name[1] >= 'A' && name[1] <= 'D';
}

const std::string* lookup(const MacroVariables& vars, std::string_view name, MacroContext context) {
  if (context != MacroContext::secret_option && is_secret_name(name)) return nullptr;
  return vars.find(name);
}

// The decimal p or q of $(NAME:p:q); false when empty, not all digits or too large.
bool parse_bound(std::string_view digits, std::size_t& out) {
  if (digits.empty()) return false;
  std::size_t value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<std::size_t>(c - '0');
    if (value > kMaxSubstringBound) return false;
  }
  out = value;
  return true;
}

MacroError error_at(std::size_t offset, std::string message) {
  return MacroError{offset, std::move(message)};
}

}  // namespace

void MacroVariables::set(std::string name, std::string value) {
  longest_name_ = std::max(longest_name_, name.size());
  values_.insert_or_assign(std::move(name), std::move(value));
}

const std::string* MacroVariables::find(std::string_view name) const {
  auto it = values_.find(std::string(name));
  return it == values_.end() ? nullptr : &it->second;
}

core::Result<MacroTemplate, MacroError> MacroTemplate::compile(std::string_view text) {
  MacroTemplate t;
  std::unordered_set<std::string> seen;
  std::string literal;
  auto flush_literal = [&] {
    if (literal.empty()) return;
    t.literal_bytes_ += literal.size();
    t.pieces_.push_back(Piece{Piece::Kind::literal, std::move(literal), 0, std::string::npos, {}});
    literal.clear();
  };
  auto add_name = [&](std::string_view name) {
    auto [it, inserted] = seen.emplace(name);
    if (inserted) t.names_.push_back(*it);
  };

  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t dollar = text.find('$', i);
    if (dollar == std::string_view::npos) {
      literal.append(text.substr(i));
      break;
    }
    literal.append(text.substr(i, dollar - i));
    if (dollar + 1 == text.size()) {
      literal += '$';
      break;
    }
    char next = text[dollar + 1];
    if (next == '$') {
      literal += '$';
      i = dollar + 2;
    } else if (is_name_char(next)) {
      std::size_t end = dollar + 1;
      while (end < text.size() && is_name_char(text[end])) ++end;
      std::string_view run = text.substr(dollar + 1, end - dollar - 1);
      flush_literal();
      // Longest first: the name most likely to resolve leads the cache key.
      for (std::size_t len = std::min(run.size(), kMaxBareMacroName); len > 0; --len) {
        add_name(run.substr(0, len));
      }
      t.pieces_.push_back(Piece{Piece::Kind::bare, std::string(run), 0, std::string::npos, {}});
      i = end;
    } else if (next == '(') {
      std::size_t close = text.find(')', dollar + 2);
      if (close == std::string_view::npos) {
        return core::fail(error_at(dollar, "unterminated $( ... ): no ')'"));
      }
      std::string_view inner = text.substr(dollar + 2, close - dollar - 2);
      std::string_view parts[3];
      std::size_t count = 0;
      std::size_t start = 0;
      while (true) {
        std::size_t colon = inner.find(':', start);
        if (count == 3) return core::fail(error_at(dollar, "too many ':' in $( ... ): at most $(NAME:p:q)"));
        parts[count++] = inner.substr(start, colon == std::string_view::npos ? inner.npos : colon - start);
        if (colon == std::string_view::npos) break;
        start = colon + 1;
      }
      std::string_view name = parts[0];
      if (name.empty()) return core::fail(error_at(dollar, "empty macro name in $( ... )"));
      if (!std::all_of(name.begin(), name.end(), is_name_char)) {
        return core::fail(error_at(dollar, "macro name in $( ... ) must be letters, digits or '_'"));
      }
      Piece piece{Piece::Kind::explicit_name, std::string(name), 0, std::string::npos,
                  std::string(text.substr(dollar, close + 1 - dollar))};
      if (count >= 2 && !parse_bound(parts[1], piece.offset)) {
        return core::fail(
            error_at(dollar, "substring offset in $(NAME:p) must be a decimal number up to 1000000"));
      }
      if (count == 3 && !parse_bound(parts[2], piece.length)) {
        return core::fail(
            error_at(dollar, "substring length in $(NAME:p:q) must be a decimal number up to 1000000"));
      }
      flush_literal();
      add_name(name);
      t.pieces_.push_back(std::move(piece));
      i = close + 1;
    } else {
      literal += '$';
      i = dollar + 1;
    }
  }
  flush_literal();
  return t;
}

void MacroTemplate::render_to(std::string& out, const MacroVariables& vars, MacroContext context) const {
  out.reserve(out.size() + literal_bytes_ + 16 * (pieces_.size()));
  for (const auto& piece : pieces_) {
    switch (piece.kind) {
      case Piece::Kind::literal:
        out += piece.text;
        break;
      case Piece::Kind::bare: {
        std::string_view run = piece.text;
        std::size_t longest = std::min({run.size(), vars.longest_name(), kMaxBareMacroName});
        const std::string* value = nullptr;
        std::size_t len = longest;
        for (; len > 0; --len) {
          value = lookup(vars, run.substr(0, len), context);
          if (value) break;
        }
        if (value) {
          out += *value;
          out += run.substr(len);
        } else {
          out += '$';
          out += run;
        }
        break;
      }
      case Piece::Kind::explicit_name: {
        const std::string* value = lookup(vars, piece.text, context);
        if (!value) {
          out += piece.written;
        } else if (piece.offset < value->size()) {
          out.append(*value, piece.offset, piece.length);
        }
        break;
      }
    }
  }
}

std::string MacroTemplate::render(const MacroVariables& vars, MacroContext context) const {
  std::string out;
  render_to(out, vars, context);
  return out;
}

core::Result<std::string, MacroError> expand_macros(std::string_view text, const MacroVariables& vars,
                                                    MacroContext context) {
  auto compiled = MacroTemplate::compile(text);
  if (!compiled) return core::fail(compiled.error());
  return compiled->render(vars, context);
}

}  // namespace ucedge::prov
