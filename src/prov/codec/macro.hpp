#pragma once
// Macro expansion as Cisco multiplatform phones do it (seed 004, "Variables
// d'expansion de macro"; SPEC §1), for server-side templates and for profile
// rules:
//   $NAME        the longest name with a value that prefixes the run of
//                [A-Za-z0-9_] after '$' ($MAC beats $MA; "$Bfoo" is $B + "foo")
//   $(NAME)      explicit name
//   $(NAME:p)    value from offset p
//   $(NAME:p:q)  q characters of the value from offset p
//   $$           a literal '$'
// A name without a value stays as written, so the phone can expand what the
// server does not know ($ERR, $UPGTMR, ...). No recursion: a value is copied,
// never expanded again. $SA..$SD expand only inside --key/--uid/--pwd options.
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.hpp"

namespace ucedge::prov {

// A bare $NAME only tries prefixes up to this long (real names are a few
// characters), so a long run of letters costs a bounded number of look-ups.
// $(NAME) has no such limit.
inline constexpr std::size_t kMaxBareMacroName = 64;

// Name (without '$', as written: "MA", "A", "SWVER", "CERT_CN") → value.
class MacroVariables {
 public:
  void set(std::string name, std::string value);
  const std::string* find(std::string_view name) const;
  bool empty() const { return values_.empty(); }
  std::size_t size() const { return values_.size(); }
  const std::unordered_map<std::string, std::string>& all() const { return values_; }
  std::size_t longest_name() const { return longest_name_; }

 private:
  std::unordered_map<std::string, std::string> values_;
  std::size_t longest_name_ = 0;  // bounds the prefix search of a bare $NAME
};

enum class MacroContext {
  general,        // profile text, URLs, syslog templates
  secret_option,  // the argument of --key, --uid, --pwd: $SA..$SD allowed
};

struct MacroError {
  std::size_t offset = 0;  // byte offset in the text
  std::string message;     // e.g. "unterminated $( ... )"
};

// A text compiled once into literal runs and macro references, rendered many
// times. Compilation fails only on malformed $( ... ) syntax.
class MacroTemplate {
 public:
  static core::Result<MacroTemplate, MacroError> compile(std::string_view text);

  std::string render(const MacroVariables& vars, MacroContext context = MacroContext::general) const;
  void render_to(std::string& out, const MacroVariables& vars,
                 MacroContext context = MacroContext::general) const;

  // Every distinct name a reference could resolve to (for "$MAC" both "MAC"
  // and its prefixes "MA", "M"), so a cache key can include just the
  // variables this template depends on.
  const std::vector<std::string>& referenced_names() const { return names_; }

  struct Piece {
    enum class Kind { literal, bare, explicit_name } kind = Kind::literal;
    std::string text;           // literal text, or the run after '$' / the name inside $( )
    std::size_t offset = 0;     // substring start ($(NAME:p))
    std::size_t length = std::string::npos;  // substring length ($(NAME:p:q))
    std::string written;        // explicit_name: the "$( ... )" as written, kept when NAME has no value
  };

 private:
  std::vector<Piece> pieces_;
  std::vector<std::string> names_;
  std::size_t literal_bytes_ = 0;  // output size hint for render_to
};

// compile + render in one call.
core::Result<std::string, MacroError> expand_macros(std::string_view text, const MacroVariables& vars,
                                                    MacroContext context = MacroContext::general);

}  // namespace ucedge::prov
