#pragma once
// DTAF-style device template tags (seed 000, "Profili dispositivo"): a
// device-type template (config-wxt.xml.template) carries %TAG% placeholders,
// such as %XSI_ROOT_WXT% or %BWLINEPORT-1%, that the device management server
// fills per subscriber. A tag is '%' + [A-Za-z0-9_.-]+ + '%'; a tag without a
// value, and any other '%', stays as written.
#include <string>
#include <string_view>
#include <unordered_map>

namespace ucedge::prov {

using TagValues = std::unordered_map<std::string, std::string>;

std::string substitute_tags(std::string_view text, const TagValues& values);

}  // namespace ucedge::prov
