// Form bodies and query strings from the network (RFC 6749 Appendix B):
// parse_form must answer for any bytes, and whatever it accepts must survive
// form_encode and a second parse unchanged.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "authz/oauth/form.hpp"

using namespace ucedge::authz;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto form = parse_form(input);
  if (!form.ok()) {
    std::string text = form.error().describe();
    // Fit for an error_description (RFC 6749 §5.2).
    for (char c : text) {
      if (c < 0x20 || c > 0x7E || c == '"' || c == '\\') __builtin_trap();
    }
    return 0;
  }

  const auto& fields = form->fields();
  if (fields.size() > kMaxFormFields) __builtin_trap();
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const auto& [name, value] = fields[i];
    if (name.empty() || value.empty()) __builtin_trap();
    if (form->get(name) != std::string_view(value)) __builtin_trap();  // one field per name
    for (std::size_t j = 0; j < i; ++j) {
      if (fields[j].first == name) __builtin_trap();
    }

    std::string encoded = form_encode(name) + "=" + form_encode(value);
    auto again = parse_form(encoded);
    if (!again.ok() || again->fields().size() != 1) __builtin_trap();
    if (again->fields()[0].first != name || again->fields()[0].second != value) __builtin_trap();

    std::string uri = append_query("https://client.example/cb?x=1", {{"state", value}});
    auto query = parse_form(std::string_view(uri).substr(uri.find('?') + 1));
    if (!query.ok() || query->get("state") != std::string_view(value)) __builtin_trap();
  }
  return 0;
}
