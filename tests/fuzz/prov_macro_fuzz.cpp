// Any bytes as a macro template (profile text, profile rule, syslog template)
// and as a DTAF device template: compiling answers a template or an error that
// points at a '$'; rendering never crashes; with no values the text comes back
// as written (only "$$" folds to "$").
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "prov/codec/dtaf_tags.hpp"
#include "prov/codec/macro.hpp"

namespace {

using ucedge::prov::MacroContext;
using ucedge::prov::MacroTemplate;
using ucedge::prov::MacroVariables;

const MacroVariables& phone_vars() {
  static const MacroVariables vars = [] {
    MacroVariables v;
    v.set("MA", "000e08abcdef");
    v.set("MAU", "000E08ABCDEF");
    v.set("MAC", "00:0e:08:ab:cd:ef");
    v.set("PN", "CP-7841-3PCC");
    v.set("PSN", "7841");
    v.set("SN", "FCH1234ABCD");
    v.set("SWVER", "sip78xx.11-0-1MPP");
    for (char c = 'A'; c <= 'P'; ++c) v.set(std::string(1, c), std::string("gpp_") + c + "$MA");
    v.set("SA", "secret-a");
    v.set("SB", "");
    return v;
  }();
  return vars;
}

const ucedge::prov::TagValues& tag_values() {
  static const ucedge::prov::TagValues values{
      {"XSI_ROOT_WXT", "https://xsp.example.com/"}, {"BWLINEPORT-1", "%BWLINEPORT-1%"}, {"A.B", ""}};
  return values;
}

// The text as a template with no values renders: every "$$" becomes "$".
std::string fold_dollars(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    out += text[i];
    if (text[i] == '$' && i + 1 < text.size() && text[i + 1] == '$') ++i;
  }
  return out;
}

bool is_name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  auto compiled = MacroTemplate::compile(text);
  if (!compiled) {
    const auto& e = compiled.error();
    if (e.message.empty() || e.offset >= text.size() || text[e.offset] != '$') __builtin_trap();
    if (ucedge::prov::expand_macros(text, phone_vars()).ok()) __builtin_trap();
  } else {
    const MacroTemplate& t = *compiled;
    for (const auto& name : t.referenced_names()) {
      if (name.empty()) __builtin_trap();
      for (char c : name) {
        if (!is_name_char(c)) __builtin_trap();
      }
    }
    std::string general = t.render(phone_vars());
    std::string secret = t.render(phone_vars(), MacroContext::secret_option);
    std::string appended = "x";
    t.render_to(appended, phone_vars());
    if (appended != "x" + general) __builtin_trap();
    if (t.render(MacroVariables{}) != fold_dollars(text)) __builtin_trap();
    auto expanded = ucedge::prov::expand_macros(text, phone_vars(), MacroContext::secret_option);
    if (!expanded || *expanded != secret) __builtin_trap();
  }

  std::string filled = ucedge::prov::substitute_tags(text, tag_values());
  (void)filled;
  if (ucedge::prov::substitute_tags(text, {}) != text) __builtin_trap();
  return 0;
}
